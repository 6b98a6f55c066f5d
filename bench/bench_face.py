"""Time per phone selfie: raw face_recognition pipeline vs analyse_face + decision; 1 vs 2 processes.

Run: .venv/bin/python bench/bench_face.py [FACES_DIR]. Prints figures; asserts nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import face_recognition
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verification.config import VerificationConfig
from verification.face import analyse_face
from verification.image import decode_image, downscale
from verification.matching import verify

CONFIG = VerificationConfig()
SOURCE = "identities/Kit_Harington/1.jpeg"
REPEATS = 15


def make_selfies(faces: Path, out: Path) -> dict[str, Path]:
    """Upscale a real photo into portrait phone-sized JPEGs."""
    rgb = face_recognition.load_image_file(faces / SOURCE)
    paths = {}
    for name, (w, h) in {"3024x4032": (3024, 4032), "1280x960": (1280, 960)}.items():
        scale = max(w / rgb.shape[1], h / rgb.shape[0])
        big = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        top, left = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
        crop = big[top : top + h, left : left + w]
        path = out / f"selfie_{name}.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
        paths[name] = path
    return paths


def raw_pipeline(path: Path) -> np.ndarray:
    """face_recognition as documented: load, locate, encode (full resolution)."""
    image = face_recognition.load_image_file(path)
    boxes = face_recognition.face_locations(image)
    return face_recognition.face_encodings(image, boxes, model="large")[0]


def raw_on_downscale(path: Path) -> np.ndarray:
    """The raw pipeline on the same downscale we detect on (a fairer speed comparison)."""
    image = face_recognition.load_image_file(path)
    small, _ = downscale(image, CONFIG.detect_max_side)
    boxes = face_recognition.face_locations(small)
    return face_recognition.face_encodings(small, boxes, model="large")[0]


def ours(path: Path, template: np.ndarray, cohort: np.ndarray) -> str:
    """Our path: safe decode (+EXIF), analyse_face (detect on downscale, encode, quality), decision."""
    face = analyse_face(decode_image(path.read_bytes(), config=CONFIG), config=CONFIG)
    return verify(face.encoding, [template], cohort=cohort, config=CONFIG).decision


def timed(fn, *args) -> list[float]:  # type: ignore[no-untyped-def]
    fn(*args)  # warm-up
    out = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn(*args)
        out.append((time.perf_counter() - start) * 1000)
    return out


def stats(ms: list[float]) -> tuple[float, float]:
    ordered = sorted(ms)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _work(path: str) -> None:
    analyse_face(decode_image(Path(path).read_bytes(), config=CONFIG), config=CONFIG)


def throughput(path: Path, processes: int, n: int = 24) -> float:
    """Selfies per second with a pool of `processes` workers."""
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(_work, [str(path)] * processes)  # warm-up: models loaded in each worker
        start = time.perf_counter()
        pool.map(_work, [str(path)] * n, chunksize=1)
        return n / (time.perf_counter() - start)


def http_round_trips(faces: Path, selfie: Path, n: int = REPEATS) -> list[float]:
    """Enrol through the service, then time POST /face-verifications against a real uvicorn server."""
    import socket
    import threading

    import httpx
    import uvicorn

    from api.app import create_app
    from cli.demo import build_demo
    from core.settings import Settings
    from faces import pool as facepool
    from faces import service as face_service
    from models.base import utcnow
    from models.engine import make_engine, make_session_factory, session_scope
    from models.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        upgrade(url)
        settings = Settings(database_url=url, face_workers=1)
        factory = make_session_factory(make_engine(url))
        with session_scope(factory) as s:
            build_demo(session=s, pensioners=10)
        facepool.configure(-1)
        with session_scope(factory) as s:
            from sqlalchemy import select

            from models import Pensioner

            pid = s.scalar(select(Pensioner.id).limit(1))
            assert pid is not None
            face_service.enrol(
                session=s,
                settings=settings,
                pensioner_id=pid,
                source="counter",
                consent_method="paper_form",
                photos=[(faces / "identities/Kit_Harington/3.jpg").read_bytes()],
                staff_id=None,
                now=utcnow(),
            )
        app = create_app(settings)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60) as client:
            token = client.post("/api/v1/auth/staff-token", data={"username": "admin", "password": "demo-pass-2026"})
            hdr = {"Authorization": f"Bearer {token.json()['access_token']}"}
            data = selfie.read_bytes()
            out = []
            for _ in range(n):
                t0 = time.perf_counter()
                resp = client.post(
                    f"/api/v1/pensioners/{pid}/face-verifications", files={"photo": ("s.jpg", data)}, headers=hdr
                )
                out.append((time.perf_counter() - t0) * 1000)
                assert resp.status_code == 200, resp.text
        server.should_exit = True
        thread.join(timeout=10)
        facepool.shutdown()
        return out


def main() -> None:
    faces = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/faces")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as tmp:
        selfies = make_selfies(faces, Path(tmp))
        template = analyse_face(
            decode_image((faces / "identities/Kit_Harington/3.jpg").read_bytes(), config=CONFIG), config=CONFIG
        ).encoding
        cohort = np.array(
            [
                analyse_face(decode_image(p.read_bytes(), config=CONFIG), config=CONFIG).encoding
                for p in sorted((faces / "identities/George_W_Bush").iterdir())[:5]
                + sorted((faces / "identities/Tony_Blair").iterdir())[:5]
                + sorted((faces / "identities/Colin_Powell").iterdir())[:10]
            ]
        )
        print(f"per selfie, {REPEATS} runs, one process (ms: median / p95)")
        for name, path in selfies.items():
            raw = stats(timed(raw_pipeline, path))
            raw_small = stats(timed(raw_on_downscale, path))
            mine = stats(timed(ours, path, template, cohort))
            print(f"  {name}: raw full-res {raw[0]:7.1f} / {raw[1]:7.1f}")
            print(f"  {name}: raw on {CONFIG.detect_max_side}px downscale {raw_small[0]:7.1f} / {raw_small[1]:7.1f}")
            print(
                f"  {name}: ours (decode+EXIF, detect downscale, encode, quality, decision) {mine[0]:7.1f} / {mine[1]:7.1f}"
            )
            print(
                f"  {name}: ratio ours/raw full-res {mine[0] / raw[0]:.2f}, ours/raw-on-downscale {mine[0] / raw_small[0]:.2f}"
            )
            print(f"  {name}: decision {ours(path, template, cohort)}")
        for name, path in selfies.items():
            http = stats(http_round_trips(faces, path))
            mine = stats(timed(ours, path, template, cohort))
            print(f"  {name}: HTTP round trip (counter verification, 1 worker, SQLite) {http[0]:7.1f} / {http[1]:7.1f}")
            print(f"  {name}: ratio HTTP/ours {http[0] / mine[0]:.2f}")
        big = selfies["3024x4032"]
        one = throughput(big, 1)
        two = throughput(big, 2)
        print(f"throughput 3024x4032: 1 process {one:.2f}/s, 2 processes {two:.2f}/s, ratio {two / one:.2f}")


if __name__ == "__main__":
    main()
