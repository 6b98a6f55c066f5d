"""Load test: 50 simulated app users log in and certify with the real blink recording against `pension-cert serve`.

    .venv/bin/python bench/bench_load.py [--users 50 | 20,35,50] [--duration 120] [--workers 2] [--face-workers 0]
                                         [--pensioners 400] [--background 10000] [--phases plain,sweeps]
                                         [--record-seconds 3] [--think 45 | 0 for a closed loop] [--json]

It creates a fresh PostgreSQL database `loadtest_<pid>` next to PENSION_CERT_BENCH_PG_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres), migrates and seeds it, starts `pension-cert serve`
on a free 127.0.0.1 port, and drops the database at the end. Traffic goes only to 127.0.0.1.

Seed: the demo region tree, an open season, `--background` pensioners without faces (so the sweeps have
work), a cohort of 200 OTHER people enrolled from ../shared/faces (the production cohort is the enrolled
population; it must not contain the claimed person), then `--pensioners` load pensioners, the first enrolled
through `faces.enrol`, the rest with the same face encoding encrypted for each of them (all load users
are the man of the recording).

Each user loops, one fresh pensioner per round (frame hashes make a second round of the same frames a
replay): POST /auth/otp, read the code from the outbox table, POST /auth/pensioner-token,
POST /me/liveness-challenges, set the challenge's actions to ["blink"] in the database (the recording
answers a blink), POST /me/certifications with 3 s of the recording at 15 fps as JPEG frames.
A round counts as correct when the decision is `certified`. A `503 busy` answer is sent again after its
Retry-After (same key and frames, at most 5 tries), as the app does; `certify` latency runs from the first
POST to the final answer. Errors are other 5xx, timeouts, transport errors and a 503 after 5 tries; other
non-2xx answers are counted apart. The login rate limit per address is raised for the run (all users come
from 127.0.0.1). `--record-seconds` pauses between challenge and answer, `--think` is the mean pause before
a user's next round (0: closed loop). CPU seconds by process group are read from /proc.

Phase `sweeps` runs every sweep back to back in one long-lived process (bench/sweep_loop.py) during the load.
Results and their reading: docs/load.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2
import httpx
import numpy as np
from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.engine import make_url

from certification import seasons
from cli.demo import build_demo, demo_regions
from core.crypto import KeyRing, encrypt_encoding
from core.national_id import make_national_id
from core.settings import Settings
from faces import pool as facepool
from faces import service as face_service
from models import BiometricConsent, FaceTemplate, LivenessChallenge, Notification, Pensioner, Region
from models.engine import make_engine, make_session_factory, session_scope
from models.migrate import upgrade
from verification.video import decode_video, subsample

REPO = Path(__file__).resolve().parent.parent
FACES = Path(os.environ.get("PENSION_CERT_TEST_FACES", REPO.parent / "shared" / "faces"))
VIDEO = FACES / "video/blink/blink_detector_video.mp4"
COMMUNITY = "371002001001"
COHORT = 200
CACHE = REPO / "var" / "bench_load_cohort.npy"
BIN = REPO / ".venv" / "bin" / "pension-cert"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def jpeg(rgb: np.ndarray) -> bytes:
    """RGB frame → JPEG (quality 90), as the app sends."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


def recording() -> tuple[list[bytes], list[int], bytes]:
    """3 s of the blink recording at 15 fps (JPEG frames, ms from the first) and an enrolment frame."""
    video = decode_video(VIDEO.read_bytes())
    keep = [i for i, t in enumerate(video.timestamps_ms) if t < 3000]
    frames, times = subsample([video.frames[i] for i in keep], [video.timestamps_ms[i] for i in keep], 15)
    enrol = next(i for i, t in enumerate(video.timestamps_ms) if t >= 11000)
    return [jpeg(f) for f in frames], [t - times[0] for t in times], jpeg(video.frames[enrol])


def cohort_encodings(settings: Settings) -> np.ndarray:
    """Encodings of 200 photos of other people (cached in var/)."""
    if CACHE.is_file():
        return np.load(CACHE)
    paths = sorted(p for p in (FACES / "identities").rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    paths += sorted((FACES / "impostors_single").glob("*"))
    out: list[np.ndarray] = []
    for path in paths:
        try:
            analysis = face_service.analyse(settings=settings, photo=path.read_bytes())
        except face_service.FaceRejected:
            continue
        out.append(analysis.vectors["dlib"])
        if len(out) == COHORT:
            break
    arr = np.stack(out)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.save(CACHE, arr)
    return arr


def _pensioner_row(i: int, birth: date) -> dict[str, object]:
    return {
        "national_id": make_national_id(COMMUNITY[:6], birth, 1 + (i % 2) * 2),
        "name": f"压测{i}",
        "birth_date": birth,
        "sex": "M",
        "phone": f"139{i:08d}",
        "region_code": COMMUNITY,
        "town_code": COMMUNITY[:9] + "000",
        "district_code": COMMUNITY[:6] + "000000",
        "city_code": "371000000000",
        "paying_region_code": "371000000000",
        "pension_status": "active",
    }


def seed(url: str, *, pensioners: int, background: int, enrol_photo: bytes) -> list[str]:
    """Regions, a season open today, background pensioners, the cohort, enrolled load pensioners; their IDs."""
    settings = Settings(database_url=url, face_workers=-1)
    facepool.configure(-1)
    ring = KeyRing.from_settings(settings)
    now = datetime.now(UTC)
    today = seasons.local_date(now, settings.timezone)
    factory = make_session_factory(make_engine(url))
    with session_scope(factory) as session:
        session.execute(insert(Region), demo_regions())
        seasons.create_season(
            session=session,
            settings=settings,
            year=today.year,
            open_date=today - timedelta(days=5),
            close_date=date(today.year, 12, 31) if today.month < 12 else today + timedelta(days=25),
        )
    cohort = cohort_encodings(settings)
    born = date(1940, 1, 1)
    with session_scope(factory) as session:
        rows = [_pensioner_row(i, born + timedelta(days=i)) for i in range(len(cohort) + pensioners)]
        ids = list(session.scalars(insert(Pensioner).returning(Pensioner.id), rows))
        cohort_ids, load_ids = ids[: len(cohort)], ids[len(cohort) :]
        for pid, enc in zip(cohort_ids, cohort, strict=True):
            blob, kid = encrypt_encoding(ring, enc, pensioner_id=pid)
            session.add(FaceTemplate(pensioner_id=pid, kind="anchor", source="counter", encoding=blob, key_id=kid))
        session.flush()
        first = face_service.enrol(
            session=session,
            settings=settings,
            pensioner_id=load_ids[0],
            photos=[enrol_photo],
            source="counter",
            consent_method="paper_form",
            staff_id=None,
            now=now,
        )[0]
        # Every template of the first (dlib and SFace, as enrolment makes them): SFace decides, as in the service.
        templates = face_service.templates_for(session=session, ring=ring, pensioner_id=load_ids[0])
        for pid in load_ids[1:]:
            for template, encoding in templates:
                blob, kid = encrypt_encoding(ring, encoding, pensioner_id=pid)
                session.add(
                    FaceTemplate(
                        pensioner_id=pid,
                        kind="anchor",
                        source="counter",
                        model=template.model,
                        encoding=blob,
                        key_id=kid,
                    )
                )
            session.add(BiometricConsent(pensioner_id=pid, given_at=now, method="paper_form"))
        assert first.id is not None
    with session_scope(factory) as session:
        if background:
            build_demo(session=session, pensioners=background, today=today)
        nids = dict(
            session.execute(select(Pensioner.id, Pensioner.national_id).where(Pensioner.id.in_(load_ids))).all()
        )
    return [nids[i] for i in load_ids]


@dataclass
class Stats:
    """Latencies by step, outcomes and errors (thread-safe appends)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    decisions: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    other_status: Counter[str] = field(default_factory=Counter)
    rounds: int = 0
    pool_exhausted: bool = False
    busy: int = 0  # 503 busy answers retried after Retry-After
    lock: threading.Lock = field(default_factory=threading.Lock)


class User(threading.Thread):
    """One simulated app user: login by SMS code, challenge, certification, with a fresh pensioner each round."""

    def __init__(
        self,
        base: str,
        engine: Engine,
        queue: list[str],
        qlock: threading.Lock,
        deadline: float,
        stats: Stats,
        rec: tuple[list[bytes], list[int]],
        record_s: float = 0.0,
        think_s: float = 0.0,
    ) -> None:
        super().__init__(daemon=True)
        self.record_s, self.think_s = record_s, think_s
        self.base, self.engine, self.queue, self.qlock = base, engine, queue, qlock
        self.deadline, self.stats, self.frames, self.times = deadline, stats, rec[0], rec[1]
        self.client = httpx.Client(base_url=base, timeout=httpx.Timeout(60.0, connect=10.0))

    def _call(self, step: str, method: str, url: str, *, busy_ok: bool = False, **kw: object) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            resp = self.client.request(method, url, **kw)  # type: ignore[arg-type]
        except httpx.TimeoutException:
            with self.stats.lock:
                self.stats.errors[f"{step}:timeout"] += 1
            return None
        except httpx.TransportError as exc:
            with self.stats.lock:
                self.stats.errors[f"{step}:{type(exc).__name__}"] += 1
            return None
        elapsed = time.perf_counter() - start
        with self.stats.lock:
            self.stats.latencies[step].append(elapsed)
            self.stats.latencies["all"].append(elapsed)
            if resp.status_code == 503 and busy_ok:
                return resp
            if resp.status_code >= 500:
                self.stats.errors[f"{step}:{resp.status_code}"] += 1
            elif resp.status_code >= 400:
                self.stats.other_status[f"{step}:{resp.status_code}:{resp.json().get('code')}"] += 1
        return resp if resp.status_code < 400 else None

    def _otp(self, pensioner_national_id: str) -> str | None:
        with self.engine.connect() as conn:
            body = conn.execute(
                select(Notification.body_zh)
                .join(Pensioner, Pensioner.id == Notification.pensioner_id)
                .where(Pensioner.national_id == pensioner_national_id, Notification.kind == "otp")
                .order_by(Notification.id.desc())
                .limit(1)
            ).scalar()
        match = re.search(r"验证码是(\d+)", body or "")
        return match.group(1) if match else None

    def round(self, nid: str) -> None:
        """One login + challenge + certification."""
        if self._call("otp", "POST", "/api/v1/auth/otp", json={"national_id": nid}) is None:
            return
        code = self._otp(nid)
        resp = self._call("token", "POST", "/api/v1/auth/pensioner-token", json={"national_id": nid, "code": code})
        if resp is None:
            return
        hdr = {"Authorization": f"Bearer {resp.json()['access_token']}"}
        resp = self._call("challenge", "POST", "/api/v1/me/liveness-challenges", headers=hdr)
        if resp is None:
            return
        cid = resp.json()["challenge_id"]
        time.sleep(self.record_s)  # the person performs the actions on camera
        with self.engine.begin() as conn:
            conn.execute(update(LivenessChallenge).where(LivenessChallenge.id == cid).values(actions=["blink"]))
        files = [("frames", (f"{t}.jpg", b, "image/jpeg")) for b, t in zip(self.frames, self.times, strict=True)]
        key = str(uuid.uuid4())
        start = time.perf_counter()
        for _attempt in range(5):  # as the app does: a 503 busy answer is sent again after Retry-After
            resp = self._call(
                "certify_attempt",
                "POST",
                "/api/v1/me/certifications",
                data={"challenge_id": cid, "timestamps_ms": ",".join(str(t) for t in self.times)},
                files=files,
                headers=hdr | {"Idempotency-Key": key},
                busy_ok=True,
            )
            if resp is None or resp.status_code != 503:
                break
            with self.stats.lock:
                self.stats.busy += 1
            time.sleep(float(resp.headers.get("Retry-After", "1")))
        with self.stats.lock:
            if resp is not None and resp.status_code == 503:
                self.stats.errors["certify:503 after 5 tries"] += 1
            elif resp is not None:
                self.stats.latencies["certify"].append(time.perf_counter() - start)
        if resp is not None and resp.status_code == 200:
            with self.stats.lock:
                self.stats.decisions[resp.json().get("decision", "?")] += 1

    def run(self) -> None:
        """Rounds until the deadline or the pensioner pool runs out."""
        if self.think_s:  # users arrive spread out, not all in the same second
            time.sleep(random.uniform(0.0, self.think_s))
        while time.monotonic() < self.deadline:
            with self.qlock:
                if not self.queue:
                    self.stats.pool_exhausted = True
                    break
                nid = self.queue.pop()
            self.round(nid)
            with self.stats.lock:
                self.stats.rounds += 1
            if self.think_s:  # the next person opens the app a while later (exponential gaps)
                time.sleep(max(0.0, min(random.expovariate(1 / self.think_s), self.deadline - time.monotonic())))
        self.client.close()


def job_floor(frames: list[bytes], times: list[int], repeat: int = 3) -> float:
    """Median core-seconds of one answer's face-pool job (liveness + SFace + PAD) run inline on one core, as for
    the load pensioners (SFace decides: no dlib descriptor)."""
    from faces.liveness import analyse_submission

    cv2.setNumThreads(1)
    runs = []
    for _ in range(repeat + 1):
        start = time.process_time()
        analyse_submission(frames, times, None, ["blink"], 2_000_000, 30_000_000, True, True, False, False)
        runs.append(time.process_time() - start)
    return statistics.median(runs[1:])


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far, by group: the server tree, PostgreSQL, this script (+ reaped children), the rest."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, str, float, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        own = (int(fields[11]) + int(fields[12])) / tick
        children = (int(fields[13]) + int(fields[14])) / tick
        procs[int(entry)] = (int(fields[1]), comm, own, children)
    tree = {server_pid}
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _, _, _) in procs.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                changed = True
    out = {"server": 0.0, "postgres": 0.0, "bench": 0.0, "other": 0.0}
    for pid, (_, comm, own, children) in procs.items():
        if pid in tree:
            out["server"] += own + children
        elif comm == "postgres":
            out["postgres"] += own
        elif pid == os.getpid():
            out["bench"] += own + children
        else:
            out["other"] += own
    return out


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s)) - 1))]


def sweeper(env: dict[str, str], seconds: float, out: dict[str, object]) -> None:
    """All sweeps back to back in one long-lived process (bench/sweep_loop.py) for the phase's duration."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "sweep_loop.py"), "--seconds", str(seconds)],
        env=env,
        capture_output=True,
        timeout=seconds + 600,
    )
    try:
        out.update(json.loads(proc.stdout.decode().strip().splitlines()[-1]))
    except (IndexError, ValueError):
        out.update({"runs": [], "failures": [f"exit {proc.returncode}: {proc.stderr.decode()[-300:]}"]})


def phase(
    name: str,
    *,
    base: str,
    engine: Engine,
    queue: list[str],
    args: argparse.Namespace,
    env: dict[str, str],
    rec,
    server_pid: int,
    users_n: int,
) -> dict[str, object]:
    """Run users_n users for args.duration seconds; returns the figures."""
    stats = Stats()
    qlock = threading.Lock()
    sweeps: dict[str, object] = {}
    sweep_thread = None
    if name == "sweeps":
        sweep_thread = threading.Thread(target=sweeper, args=(env, args.duration, sweeps), daemon=True)
        sweep_thread.start()
    cpu_before = cpu_seconds(server_pid)
    start = time.monotonic()
    deadline = start + args.duration
    users = [
        User(base, engine, queue, qlock, deadline, stats, rec, record_s=args.record_seconds, think_s=args.think)
        for _ in range(users_n)
    ]
    for u in users:
        u.start()
    for u in users:
        u.join(timeout=args.duration + 180)
    wall = time.monotonic() - start
    if sweep_thread is not None:
        sweep_thread.join(timeout=600)
    cpu_after = cpu_seconds(server_pid)
    cpu = {k: round(cpu_after[k] - cpu_before[k], 1) for k in cpu_before}
    lat = stats.latencies
    out: dict[str, object] = {
        "phase": name,
        "users": users_n,
        "record_seconds": args.record_seconds,
        "think_seconds": args.think,
        "wall_s": round(wall, 1),
        "rounds": stats.rounds,
        "certifications_per_s": round(stats.decisions["certified"] / wall, 2),
        "requests": len(lat["all"]),
        "requests_per_s": round(len(lat["all"]) / wall, 2),
        "decisions": dict(stats.decisions),
        "errors": dict(stats.errors),
        "error_count": sum(stats.errors.values()),
        "busy_retries": stats.busy,
        "pensioner_pool_exhausted": stats.pool_exhausted,
        "cpu_s": cpu,
        "cpu_s_per_certification": {k: round(v / max(1, stats.decisions["certified"]), 2) for k, v in cpu.items()},
        "cpu_busy_fraction": round(sum(cpu.values()) / (wall * (os.cpu_count() or 1)), 2),
        "other_non_2xx": dict(stats.other_status),
        "latency_s": {
            step: {
                "n": len(v),
                "p50": round(pct(v, 50), 3),
                "p95": round(pct(v, 95), 3),
                "p99": round(pct(v, 99), 3),
                "mean": round(statistics.fmean(v), 3) if v else None,
            }
            for step, v in sorted(lat.items())
        },
    }
    if name == "sweeps":
        runs = sweeps.get("runs", [])
        out["sweep_runs"] = len(runs)  # type: ignore[arg-type]
        timings = sorted(runs)  # type: ignore[type-var]
        out["sweep_run_s"] = (
            {"first": runs[0], "median": timings[len(timings) // 2], "max": timings[-1]} if runs else {}  # type: ignore[index]
        )
        out["sweep_failures"] = sweeps.get("failures", [])
    return out


def phase_plan(phases: str, levels: list[int]) -> list[tuple[str, int]]:
    """Each plain phase once per user level (lowest first); other phases at the highest level."""
    plan: list[tuple[str, int]] = []
    for ph in phases.split(","):
        plan += [(ph, n) for n in sorted(levels)] if ph == "plain" else [(ph, max(levels))]
    return plan


def capacity_line(results: list[dict[str, object]], p95_limit: float = 3.0) -> str:
    """The highest certifications/s among plain phases whose certify p95 stayed under the limit, without errors."""
    ok = [
        r
        for r in results
        if r["phase"] == "plain"
        and not r["error_count"]
        and r["latency_s"].get("certify", {}).get("p95", float("inf")) < p95_limit  # type: ignore[attr-defined]
    ]
    if not ok:
        return f"capacity at certify p95 < {p95_limit:g} s: no plain phase stayed under it"
    best = max(ok, key=lambda r: float(r["certifications_per_s"]))  # type: ignore[arg-type]
    p95 = best["latency_s"]["certify"]["p95"]  # type: ignore[index]
    return (
        f"capacity at certify p95 < {p95_limit:g} s: {best['certifications_per_s']} certifications/s "
        f"({best['users']} users, p95 {p95} s)"
    )


def main() -> None:
    """Create the database, seed, serve, load, report, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--users", default="50", help="users per plain phase; a list (20,35,50) runs one plain phase per level"
    )
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--face-workers", type=int, default=0, help="face processes per uvicorn worker (0: one per core)"
    )
    parser.add_argument("--pensioners", type=int, default=400, help="load pensioners (one per round)")
    parser.add_argument("--background", type=int, default=10_000, help="pensioners without faces")
    parser.add_argument("--phases", default="plain,sweeps")
    parser.add_argument("--record-seconds", type=float, default=3.0, help="pause between challenge and answer")
    parser.add_argument("--think", type=float, default=45.0, help="mean pause between a user's rounds (0: closed loop)")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("PENSION_CERT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = parser.parse_args()
    parsed = make_url(args.pg_url)
    if parsed.host not in ("127.0.0.1", "localhost"):
        sys.exit("the load test only runs against a local PostgreSQL (127.0.0.1)")
    name = f"loadtest_{os.getpid()}"
    admin = make_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    url = parsed.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    server: subprocess.Popen[bytes] | None = None
    results: list[dict[str, object]] = []
    floor = float("nan")
    log_path = REPO / "var" / f"bench_load_{os.getpid()}.log"
    try:
        upgrade(url)
        frames, times, enrol_photo = recording()
        t0 = time.perf_counter()
        nids = seed(url, pensioners=args.pensioners, background=args.background, enrol_photo=enrol_photo)
        print(
            f"seeded {len(nids)} load pensioners (+{COHORT} cohort, +{args.background} background) in {time.perf_counter() - t0:.0f} s; {len(frames)} frames per answer",
            flush=True,
        )
        floor = job_floor(frames, times)
        cores = os.cpu_count() or 1
        print(
            f"raw floor: the face job of one answer costs {floor:.2f} core-s inline (this run), so {cores} cores "
            f"certify at most {cores / floor:.2f}/s before any web, database or queueing cost",
            flush=True,
        )
        port = free_port()
        env = os.environ | {
            "PENSION_CERT_DATABASE_URL": url,
            "PENSION_CERT_LOGIN_RATE_PER_ADDRESS": "1000000000",
            "PENSION_CERT_FACE_WORKERS": str(args.face_workers),
            "PENSION_CERT_LOG_LEVEL": "INFO",
        }
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("wb")
        server = subprocess.Popen(
            [str(BIN), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(360):  # workers load the face models first (up to ~20 s each on a busy host)
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit("server did not become ready")
        levels = [int(u) for u in str(args.users).split(",")]
        engine = make_engine(url, pool_size=5, max_overflow=max(levels))
        queue = list(reversed(nids))
        for ph, users_n in phase_plan(args.phases, levels):
            result = phase(
                ph,
                base=base,
                engine=engine,
                queue=queue,
                args=args,
                env=env,
                rec=(frames, times),
                server_pid=server.pid,
                users_n=users_n,
            )
            results.append(result)
            if not args.json:
                print(json.dumps(result, ensure_ascii=False, indent=1), flush=True)
        if not args.json:
            print(capacity_line(results), flush=True)
        metrics_text = httpx.get(f"{base}/metrics", timeout=10).text
        decisions = [ln for ln in metrics_text.splitlines() if ln.startswith("pension_cert_face_decisions_total")]
        if not args.json:
            print("metrics (this worker's view):", *decisions, sep="\n  ")
        engine.dispose()
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    if args.json:
        body = {"results": results, "face_job_core_s": floor, "server_log": str(log_path)}
        print(json.dumps(body, ensure_ascii=False))
    else:
        print(f"server log (JSON lines): {log_path}")


if __name__ == "__main__":
    main()
