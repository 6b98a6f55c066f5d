"""Hostile inputs: corrupt, oversized and disguised uploads, undecodable CSVs and SQL-ish strings.

Every refusal is a documented 4xx with {code, message, message_en}; nothing is stored but what should be
(a failed verification attempt, an idempotency record, rate-limit hits); no 5xx; the tables stay whole.
"""

from __future__ import annotations

import csv
import io
import random
import struct
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageFile
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

import models
from core.crypto import KeyRing, encrypt_encoding
from core.national_id import make_national_id
from core.settings import Settings
from models import (
    FaceTemplate,
    HomeVisit,
    HomeVisitTask,
    LivenessChallenge,
    Pensioner,
    Region,
    VerificationAttempt,
)
from tests import factories as f
from tests.conftest import Clock, faces_dir
from tests.security.conftest import World, token

FACES = faces_dir()
needs_faces = pytest.mark.skipif(
    FACES is None, reason="real face photos not found (../shared/faces or PENSION_CERT_TEST_FACES)"
)

# ---------------------------------------------------------------- helpers


def snapshot(session: Session) -> dict[str, int]:
    """Row counts of every table, read fresh (the read transaction is ended so the app is never kept waiting)."""
    session.expire_all()
    counts = {
        t.name: session.scalar(select(func.count()).select_from(t)) or 0 for t in models.Base.metadata.sorted_tables
    }
    session.commit()
    return counts


def changes(session: Session, before: dict[str, int]) -> dict[str, int]:
    """Tables whose row count moved since `before`, with the difference."""
    after = snapshot(session)
    return {name: after[name] - before[name] for name in after if after[name] != before[name]}


def assert_error(resp: httpx.Response, status: int, codes: set[str] | str, what: str = "") -> dict[str, Any]:
    """A documented error: the status, one of the codes, and both messages."""
    codes = {codes} if isinstance(codes, str) else codes
    assert resp.status_code == status, f"{what}: {resp.status_code} {resp.text[:300]}"
    body: dict[str, Any] = resp.json()
    assert body.get("code") in codes, f"{what}: {body}"
    assert isinstance(body.get("message"), str) and body["message"], f"{what}: {body}"
    assert isinstance(body.get("message_en"), str) and body["message_en"], f"{what}: {body}"
    return body


def assert_not_5xx(resp: httpx.Response, what: str) -> None:
    """Below 500, and any error in the documented shape."""
    assert resp.status_code < 500, f"{what}: {resp.status_code} {resp.text[:300]}"
    if resp.status_code >= 400:
        assert_error(resp, resp.status_code, {resp.json().get("code", "")}, what)


def assert_tables_intact(session: Session, before: dict[str, int], allowed: frozenset[str] = frozenset()) -> None:
    """The pensioner table still exists and no table moved except the allowed ones."""
    session.expire_all()
    assert inspect(session.get_bind()).has_table("pensioner")
    moved = changes(session, before)
    assert set(moved) <= set(allowed), moved


# ---------------------------------------------------------------- hostile images

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    """One PNG chunk; its CRC is correct unless given."""
    value = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", value & 0xFFFFFFFF)


def png_claiming(width: int, height: int) -> bytes:
    """A decompression bomb's header: IHDR claims width×height (valid CRC) over a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_MAGIC + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b"")
    )


def encoded(fmt: str, size: tuple[int, int] = (64, 64), **params: Any) -> bytes:
    """A small image in the given Pillow format."""
    buf = io.BytesIO()
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, fmt, **params)
    return buf.getvalue()


def png_with_bad_crc(chunk: bytes) -> bytes:
    """A valid small PNG whose named chunk carries a wrong CRC."""
    data = encoded("PNG")
    at = data.index(chunk)
    length = struct.unpack(">I", data[at - 4 : at])[0]
    end = at + 4 + length
    crc = struct.unpack(">I", data[end : end + 4])[0]
    return data[:end] + struct.pack(">I", crc ^ 0xFFFFFFFF) + data[end + 4 :]


def with_app1(jpeg: bytes, payload: bytes) -> bytes:
    """The JPEG with an extra APP1 (EXIF) segment right after SOI."""
    payload = payload[:65533]
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def junk_exif() -> bytes:
    """~60 KB of EXIF: a TIFF header whose first IFD claims 65535 entries, a bogus orientation, then noise."""
    rng = random.Random(7)
    noise = bytes(rng.getrandbits(8) for _ in range(60_000))
    ifd = struct.pack("<H", 0xFFFF) + struct.pack("<HHII", 0x0112, 3, 1, 99)
    return b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + ifd + noise


@pytest.fixture(scope="module")
def black_png(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real 20000×20000 all-black PNG (400 M pixels, ~50 KB on disk)."""
    path = tmp_path_factory.mktemp("hostile") / "black.png"
    Image.new("1", (20_000, 20_000)).save(path, "PNG")
    data = path.read_bytes()
    assert len(data) < 200_000
    return data


def refused_images(black: bytes) -> dict[str, tuple[bytes, set[str]]]:
    """Uploads every photo endpoint must refuse: bytes and the acceptable codes."""
    jpeg = encoded("JPEG", (200, 200), quality=90)
    return {
        "truncated_jpeg": (jpeg[: len(jpeg) // 2], {"truncated_image"}),
        "png_claims_50000x50000": (png_claiming(50_000, 50_000), {"image_too_many_pixels"}),
        "png_claims_8000x8000": (png_claiming(8_000, 8_000), {"image_too_many_pixels"}),  # under Pillow's own guard
        "real_black_png_20000x20000": (black, {"image_too_many_pixels"}),
        "html_behind_jpeg_magic": (
            b"\xff\xd8\xff<html><script>alert(1)</script></html>",
            {"not_an_image", "truncated_image"},
        ),
        "zero_bytes": (b"", {"not_an_image"}),
        "png_wrong_ihdr_crc": (png_with_bad_crc(b"IHDR"), {"not_an_image", "truncated_image"}),
        "gif": (encoded("GIF"), {"not_an_image"}),
        "webp": (encoded("WEBP"), {"not_an_image"}),
        "bmp": (encoded("BMP"), {"not_an_image"}),
    }


PIXEL_BOMBS = {"png_claims_50000x50000", "png_claims_8000x8000", "real_black_png_20000x20000"}


def processed_images(real_jpeg: bytes) -> dict[str, bytes]:
    """Uploads that are still valid images: they must be processed (or refused cleanly), never crash."""
    return {
        "jpeg_plus_zip": real_jpeg
        + b"PK\x03\x04\x14\x00\x00\x00\x08\x00"
        + b"\x00" * 200
        + b"PK\x05\x06"
        + b"\x00" * 18,
        "jpeg_plus_html": real_jpeg + b"<html><body><script>alert(document.cookie)</script></body></html>",
        "jpeg_with_60kb_junk_exif": with_app1(real_jpeg, junk_exif()),
        "png_wrong_idat_crc": png_with_bad_crc(b"IDAT"),  # Pillow does not check IDAT CRCs: decodes, no face
    }


FACE_CODES = {"no_face", "multiple_faces", "photo_quality"}


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Sizes of every image Pillow actually decodes (face work runs inline in tests)."""
    seen: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def load(self: ImageFile.ImageFile) -> Any:
        seen.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return seen


@dataclass
class Hostile:
    """The shared city, pensioner A enrolled (a stored template), and the headers each audience uses."""

    world: World
    counter: dict[str, str]
    admin: dict[str, str]
    field: dict[str, str]
    supervisor: dict[str, str]


@pytest.fixture
def hostile(world: World, session: Session, settings: Settings, clock: Clock) -> Hostile:
    """The world with limits raised so that many hostile requests in a row are judged on content, not rate."""
    settings.face_attempts_per_day = 10_000
    settings.login_rate_per_account = 10_000
    settings.login_rate_per_address = 10_000
    settings.otp_max_attempts = 10_000
    encoding = np.random.default_rng(11).normal(0, 0.1, 128)
    blob, key_id = encrypt_encoding(KeyRing.from_settings(settings), encoding, pensioner_id=world.a.pensioner_id)
    session.add(
        FaceTemplate(
            pensioner_id=world.a.pensioner_id,
            kind="anchor",
            source="counter",
            encoding=blob,
            key_id=key_id,
            created_at=clock.now,
        )
    )
    session.commit()
    return Hostile(
        world=world,
        counter=world.headers[(f.HUANCUI, "counter")],
        admin=world.headers[(f.HUANCUI, "admin")],
        field=world.headers[(f.HUANCUI, "field")],
        supervisor=world.headers[(f.HUANCUI, "supervisor")],
    )


def enrol(client: TestClient, h: Hostile, data: bytes) -> httpx.Response:
    """PUT /face for pensioner B (another district: any counter in the city serves)."""
    return client.put(
        f"/api/v1/pensioners/{h.world.b_id}/face",
        files=[("photos", ("photo.jpg", data, "image/jpeg"))],
        data={"consent_method": "paper_form", "source": "counter"},
        headers=h.counter,
    )


def verify(client: TestClient, h: Hostile, data: bytes) -> httpx.Response:
    """POST /face-verifications for enrolled pensioner A."""
    return client.post(
        f"/api/v1/pensioners/{h.world.a.pensioner_id}/face-verifications",
        files={"photo": ("photo.jpg", data, "image/jpeg")},
        headers=h.counter,
    )


def new_challenge(client: TestClient, h: Hostile) -> str:
    """A fresh liveness challenge for pensioner A."""
    resp = client.post("/api/v1/me/liveness-challenges", headers=h.world.pensioner_a)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["challenge_id"])


def certify(client: TestClient, h: Hostile, challenge_id: str, frames: list[bytes]) -> httpx.Response:
    """POST /me/certifications with the frames named by their capture times."""
    return client.post(
        "/api/v1/me/certifications",
        data={"challenge_id": challenge_id},
        files=[("frames", (f"{i * 66}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)],
        headers=h.world.pensioner_a | {"Idempotency-Key": str(uuid.uuid4())},
    )


def latest_attempt(session: Session) -> VerificationAttempt:
    """The newest verification attempt."""
    session.expire_all()
    attempt = session.scalars(select(VerificationAttempt).order_by(VerificationAttempt.id.desc())).first()
    session.commit()
    assert attempt is not None
    return attempt


# ---------------------------------------------------------------- photos: refused


def test_hostile_photos_refused_at_enrolment_nothing_stored(
    client: TestClient, session: Session, hostile: Hostile, black_png: bytes, decodes: list[tuple[int, int]]
) -> None:
    for name, (data, codes) in refused_images(black_png).items():
        before = snapshot(session)
        decodes.clear()
        started = time.perf_counter()
        body = assert_error(enrol(client, hostile, data), 422, codes, name)
        assert body["detail"] == {"photo": 0}, name
        assert changes(session, before) == {}, name  # no template, no consent, no audit
        if name in PIXEL_BOMBS:
            assert decodes == [] and time.perf_counter() - started < 2, (name, decodes)


def test_hostile_photos_refused_at_counter_only_the_rejected_attempt_kept(
    client: TestClient, session: Session, hostile: Hostile, black_png: bytes, decodes: list[tuple[int, int]]
) -> None:
    for name, (data, codes) in refused_images(black_png).items():
        before = snapshot(session)
        decodes.clear()
        started = time.perf_counter()
        body = assert_error(verify(client, hostile, data), 422, codes, name)
        assert changes(session, before) == {"verification_attempt": 1}, name
        attempt = latest_attempt(session)
        assert (attempt.decision, attempt.channel, attempt.reasons) == ("rejected", "counter", [body["code"]]), name
        assert attempt.distance is None and len(attempt.image_sha256 or "") == 64
        if name in PIXEL_BOMBS:
            assert decodes == [] and time.perf_counter() - started < 2, (name, decodes)


def test_hostile_frames_refused_in_app_challenge_spent_attempt_kept(
    client: TestClient, session: Session, hostile: Hostile, black_png: bytes, decodes: list[tuple[int, int]]
) -> None:
    for name, (data, codes) in refused_images(black_png).items():
        challenge_id = new_challenge(client, hostile)
        before = snapshot(session)
        decodes.clear()
        started = time.perf_counter()
        body = assert_error(certify(client, hostile, challenge_id, [data]), 422, codes, name)
        assert changes(session, before) == {"verification_attempt": 1, "idempotency_record": 1}, name
        attempt = latest_attempt(session)
        assert (attempt.decision, attempt.channel, attempt.reasons) == ("rejected", "app", [body["code"]]), name
        challenge = session.get(LivenessChallenge, challenge_id, populate_existing=True)
        assert challenge is not None and challenge.used_at is not None and challenge.result == "rejected", name
        session.commit()
        if name in PIXEL_BOMBS:
            assert decodes == [] and time.perf_counter() - started < 2, (name, decodes)


def test_one_bad_frame_among_good_ones_refuses_the_whole_answer(
    client: TestClient, session: Session, hostile: Hostile
) -> None:
    good = encoded("JPEG", (120, 160), quality=80)
    challenge_id = new_challenge(client, hostile)
    before = snapshot(session)
    resp = certify(client, hostile, challenge_id, [good] * 5 + [png_claiming(50_000, 50_000)] + [good] * 5)
    assert_error(resp, 422, "image_too_many_pixels")
    assert changes(session, before) == {"verification_attempt": 1, "idempotency_record": 1}  # no frame hashes


# ---------------------------------------------------------------- photos: still valid images


@needs_faces
def test_polyglots_and_junk_exif_are_processed_never_crash(
    client: TestClient, session: Session, hostile: Hostile, decodes: list[tuple[int, int]]
) -> None:
    assert FACES is not None
    real = (Path(FACES) / "identities/Colin_Powell/1.jpg").read_bytes()
    for name, data in processed_images(real).items():
        before = snapshot(session)
        decodes.clear()
        resp = enrol(client, hostile, data)
        assert_not_5xx(resp, f"enrol {name}")
        assert decodes, name  # really decoded (and the spy the pixel-bomb tests rely on sees decodes)
        if resp.status_code == 200:
            # One template per face model (dlib and SFace), one consent, one audit event.
            assert changes(session, before) == {"face_template": 2, "biometric_consent": 1, "audit_event": 1}, name
        else:
            assert_error(resp, 422, FACE_CODES, f"enrol {name}")
            assert changes(session, before) == {}, name

        before = snapshot(session)
        resp = verify(client, hostile, data)
        assert_not_5xx(resp, f"verify {name}")
        assert changes(session, before) == {"verification_attempt": 1}, name
        attempt = latest_attempt(session)
        if resp.status_code == 200:
            assert resp.json()["decision"] == attempt.decision and attempt.decision in {"no_match", "retry"}, name
        else:
            body = assert_error(resp, 422, FACE_CODES, f"verify {name}")
            assert (attempt.decision, attempt.reasons) == ("rejected", [body["code"]]), name

        challenge_id = new_challenge(client, hostile)
        before = snapshot(session)
        resp = certify(client, hostile, challenge_id, [data])
        assert_not_5xx(resp, f"certify {name}")
        moved = changes(session, before)
        assert moved.get("verification_attempt") == 1 and "certification" not in moved, (name, moved)
        if resp.status_code == 200:
            assert resp.json()["decision"] == "liveness_failed" and resp.json()["certification"] is None, name
        else:
            assert_error(resp, 422, FACE_CODES, f"certify {name}")


# ---------------------------------------------------------------- oversized bodies


def test_oversized_uploads_answer_413_before_anything_is_stored(
    client: TestClient, session: Session, hostile: Hostile
) -> None:
    fifty_mb = b"\xff\xd8\xff\xe0" + bytes(50 * 1024 * 1024)
    before = snapshot(session)
    body = assert_error(enrol(client, hostile, fifty_mb), 413, "payload_too_large", "enrol 50 MB")
    assert body["detail"] == {"limit_bytes": 15 * 1024 * 1024}
    assert_error(verify(client, hostile, fifty_mb), 413, "payload_too_large", "verify 50 MB")
    assert changes(session, before) == {}
    del fifty_mb

    challenge_id = new_challenge(client, hostile)
    before = snapshot(session)
    frame = b"\xff\xd8\xff\xe0" + bytes(2 * 1024 * 1024 - 3)  # one byte over the per-frame limit
    assert_error(certify(client, hostile, challenge_id, [frame]), 413, "payload_too_large", "frame 2 MB + 1")
    assert changes(session, before) == {}
    challenge = session.get(LivenessChallenge, challenge_id)
    assert challenge is not None and challenge.used_at is None  # refused before the challenge was spent
    session.commit()


def test_oversized_csv_imports_answer_413(
    client: TestClient, session: Session, settings: Settings, hostile: Hostile
) -> None:
    settings.max_import_bytes = 1024
    roster = ROSTER_HEADER + "".join(
        f"{make_national_id('371002', date(1950, 1, 1), i)},张{i},13800000000,{f.HUANCUI_COMMUNITY},0,,\n"
        for i in range(1, 40)
    )
    regions = "code,name,parent_code,level\n" + "".join(
        f"3710020019{i:02d},社区{i},371002001000,community\n" for i in range(40)
    )
    before = snapshot(session)
    for path, data in (("roster", roster), ("regions", regions)):
        assert len(data.encode()) > 1024
        resp = client.post(
            f"/api/v1/admin/{path}/import", files={"file": ("x.csv", data.encode())}, headers=hostile.admin
        )
        body = assert_error(resp, 413, "payload_too_large", path)
        assert body["detail"] == {"limit_bytes": 1024}
    assert changes(session, before) == {}


# ---------------------------------------------------------------- CSV encodings

ROSTER_HEADER = "national_id,name,phone,region_code,bedridden,family_phone,paying_region_code\n"


def _roster_line(seq: int, name: str) -> str:
    return f"{make_national_id('371002', date(1951, 2, 3), seq)},{name},13800000000,{f.HUANCUI_COMMUNITY},0,,\n"


def _filler_rows(seq0: int) -> str:
    """Enough good rows to push what follows past the first 4 KB."""
    return "".join(_roster_line(seq0 + i, f"填充{i}") for i in range(99))


def undecodable_csvs() -> dict[str, dict[str, tuple[bytes, set[str]]]]:
    """Per import: files that must be refused whole, with the acceptable codes."""
    region_header = "code,name,parent_code,level\n"
    region_filler = "".join(f"3710020018{i:02d},填充社区{i},371002001000,community\n" for i in range(99))
    out: dict[str, dict[str, tuple[bytes, set[str]]]] = {}
    for kind, header, row, filler in (
        ("roster", ROSTER_HEADER, _roster_line(1, "张三"), _filler_rows(100)),
        ("regions", region_header, "371002001901,新社区,371002001000,community\n", region_filler),
    ):
        ok = (header + row).encode()
        assert len(filler.encode()) > 4096
        out[kind] = {
            "utf8_bom_then_invalid_utf8": (b"\xef\xbb\xbf" + ok + b"\xc3\x28\n", {"bad_encoding"}),
            "invalid_utf8_and_invalid_gbk": (ok + "张".encode("gbk") + b"\x81\x20\xff\n", {"bad_encoding"}),
            "gbk_ending_in_a_lone_lead_byte": ((header + row).encode("gbk") + b"\x81", {"bad_encoding"}),
            "nul_byte_in_first_row": ((header + row.replace(",", "\x00,", 1)).encode(), {"not_csv"}),
            "nul_byte_after_4kb": ((header + filler + row.replace(",", "\x00,", 1)).encode(), {"not_csv"}),
            "utf16": ((header + row).encode("utf-16"), {"not_csv", "bad_encoding"}),
            "unbalanced_quote": (ok + b'"371002001902","a"b,371002001000,community\n', {"malformed_csv"}),
            "binary": (bytes(range(1, 256)) * 8, {"bad_encoding", "not_csv", "malformed_csv", "bad_header"}),
        }
    return out


def test_undecodable_csv_imports_refused_whole_nothing_imported(
    client: TestClient, session: Session, hostile: Hostile
) -> None:
    for kind, cases in undecodable_csvs().items():
        for name, (data, codes) in cases.items():
            before = snapshot(session)
            resp = client.post(
                f"/api/v1/admin/{kind}/import", files={"file": (f"{name}.csv", data)}, headers=hostile.admin
            )
            assert_error(resp, 422, codes, f"{kind} {name}")
            assert changes(session, before) == {}, f"{kind} {name}"


# ---------------------------------------------------------------- SQL-ish strings

NASTY = {
    "drop_table": "'; DROP TABLE pensioner; --",
    "or_true": "1 OR 1=1",
    "percent": "%",
    "underscore": "_",
    "backslash": "\\",
    "quote_or": '" OR ""="',
    "ten_kb": "A" * 10_240,
    "emoji": "王👵🏻秀英🇨🇳",
    "rtl_marks": "\u202eأحمد\u200f",
    "nul": "王\x00秀英",
}
VERBATIM = {k: v for k, v in NASTY.items() if k not in {"ten_kb", "nul"}}


@pytest.fixture
def nasty_roster(client: TestClient, session: Session, hostile: Hostile) -> dict[str, int]:
    """Pensioners named with every SQL-ish string, imported through the admin API; name key → id."""
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    writer.writerow(ROSTER_HEADER.strip().split(","))
    nids = {}
    for seq, (key, name) in enumerate(NASTY.items(), start=500):
        if key == "nul":
            continue
        nids[key] = make_national_id("371002", date(1949, 9, 9), seq)
        writer.writerow([nids[key], name, "13800000000", f.HUANCUI_COMMUNITY, "0", "", ""])
    # Every other text column gets the strings too: each such row is rejected with its reason.
    writer.writerow(["'; DROP TABLE pensioner; --", "x", "13800000000", f.HUANCUI_COMMUNITY, "0", "", ""])
    writer.writerow(
        [make_national_id("371002", date(1949, 9, 9), 600), "x", "1 OR 1=1", f.HUANCUI_COMMUNITY, "", "", ""]
    )
    writer.writerow([make_national_id("371002", date(1949, 9, 9), 601), "x", "13800000000", "%", "0", "", ""])
    writer.writerow(
        [make_national_id("371002", date(1949, 9, 9), 602), "x", "13800000000", f.HUANCUI_COMMUNITY, "_", "", ""]
    )
    writer.writerow(
        [
            make_national_id("371002", date(1949, 9, 9), 603),
            "x",
            "13800000000",
            f.HUANCUI_COMMUNITY,
            "0",
            '" OR ""="',
            "",
        ]
    )
    writer.writerow(
        [make_national_id("371002", date(1949, 9, 9), 604), "x", "13800000000", f.HUANCUI_COMMUNITY, "0", "", "\\"]
    )
    before = snapshot(session)
    resp = client.post(
        "/api/v1/admin/roster/import",
        files={"file": ("nasty.csv", rows.getvalue().encode("utf-8"))},
        headers=hostile.admin,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    lines = len(NASTY) - 1  # the header is line 1, the named rows follow, then the rows with bad other columns
    ten_kb_line = 2 + [k for k in NASTY if k != "nul"].index("ten_kb")
    assert body["inserted"] == len(VERBATIM) and body["updated"] == 0
    assert body["rejected"] == [
        {"line": ten_kb_line, "reason": "bad_name"},
        {"line": lines + 2, "reason": "bad_national_id"},
        {"line": lines + 3, "reason": "bad_phone"},
        {"line": lines + 4, "reason": "unknown_region"},
        {"line": lines + 5, "reason": "bad_flag"},
        {"line": lines + 6, "reason": "bad_phone"},
        {"line": lines + 7, "reason": "unknown_region"},
    ]
    assert changes(session, before) == {"pensioner": len(VERBATIM), "audit_event": 1}
    ids = {key: session.scalar(select(Pensioner.id).where(Pensioner.national_id == nids[key])) for key in VERBATIM}
    session.commit()
    assert all(ids.values())
    return {k: int(v) for k, v in ids.items() if v is not None}


def test_sqlish_roster_names_import_and_read_back_verbatim(
    client: TestClient, session: Session, hostile: Hostile, nasty_roster: dict[str, int]
) -> None:
    for key, pid in nasty_roster.items():
        resp = client.get(f"/api/v1/pensioners/{pid}", headers=hostile.admin)
        assert resp.status_code == 200, resp.text
        assert resp.json()["name"] == NASTY[key], key
    assert session.scalar(select(func.count()).select_from(Pensioner)) == 2 + len(VERBATIM)
    session.commit()


def test_nul_in_a_roster_name_refuses_the_file_anywhere_in_it(
    client: TestClient, session: Session, hostile: Hostile
) -> None:
    for where, data in (
        ("first row", ROSTER_HEADER + _roster_line(700, NASTY["nul"])),
        ("after 4 KB", ROSTER_HEADER + _filler_rows(701) + _roster_line(800, NASTY["nul"])),
    ):
        before = snapshot(session)
        resp = client.post(
            "/api/v1/admin/roster/import", files={"file": ("nul.csv", data.encode())}, headers=hostile.admin
        )
        assert_error(resp, 422, "not_csv", where)
        assert changes(session, before) == {}, where
    assert not [n for n in session.scalars(select(Pensioner.name)) if "\x00" in n]  # SQLite's LIKE stops at a NUL
    session.commit()


def test_sqlish_region_names_import_verbatim_and_bad_ones_refuse_the_file(
    client: TestClient, session: Session, hostile: Hostile
) -> None:
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    writer.writerow(["code", "name", "parent_code", "level"])
    codes = {}
    for i, (key, name) in enumerate(VERBATIM.items()):
        codes[key] = f"3710020019{i:02d}"
        writer.writerow([codes[key], name, "371002001000", "community"])
    before = snapshot(session)
    resp = client.post(
        "/api/v1/admin/regions/import", files={"file": ("r.csv", rows.getvalue().encode())}, headers=hostile.admin
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"inserted": len(VERBATIM), "updated": 0, "rejected": []}
    assert changes(session, before) == {"region": len(VERBATIM), "audit_event": 1}
    resp = client.get("/api/v1/regions", params={"parent": "371002001000"}, headers=hostile.admin)
    by_code = {r["code"]: r["name"] for r in resp.json()}
    assert {k: by_code[c] for k, c in codes.items()} == VERBATIM

    # Codes, parents and levels that are SQL-ish, and a name too long to keep, refuse the whole file.
    bad = (
        "code,name,parent_code,level\n"
        "'; DROP TABLE region; --,x,371002001000,community\n"
        "371002001950,x,1 OR 1=1,community\n"
        "371002001951,x,371002001000,%\n"
        f"371002001952,{'长' * 10_240},371002001000,community\n"
    )
    before = snapshot(session)
    resp = client.post("/api/v1/admin/regions/import", files={"file": ("r.csv", bad.encode())}, headers=hostile.admin)
    body = assert_error(resp, 422, "invalid_regions")
    assert body["detail"]["rejected"] == [
        {"line": 2, "reason": "bad_code"},
        {"line": 3, "reason": "unknown_parent"},
        {"line": 4, "reason": "bad_level"},
        {"line": 5, "reason": "bad_name"},
    ]
    assert_tables_intact(session, before)


def test_pensioner_search_treats_wildcards_and_quotes_literally(
    client: TestClient, session: Session, hostile: Hostile
) -> None:
    def search(q: str) -> httpx.Response:
        return client.get("/api/v1/pensioners", params={"q": q}, headers=hostile.admin)

    # Before any name starts with a wildcard, the wildcards match nothing (the city has pensioners).
    for q in ("%", "_", "\\", "%%", "_%"):
        resp = search(q)
        assert resp.status_code == 200 and resp.json()["total"] == 0, (q, resp.text)
    assert search("环").json()["total"] == 1

    before = snapshot(session)
    for key, q in NASTY.items():
        resp = search(q)
        if key == "ten_kb":
            assert_error(resp, 422, "invalid_input", key)  # q is at most 50 characters
        elif resp.status_code != 200:
            assert_error(resp, 422, "invalid_input", key)  # NUL: PostgreSQL refuses it in a parameter
        else:
            assert resp.json()["total"] == 0, (key, resp.json())
    assert_tables_intact(session, before)


def test_pensioner_search_finds_wildcard_names_only_literally(
    client: TestClient, session: Session, hostile: Hostile, nasty_roster: dict[str, int]
) -> None:
    names = {pid: NASTY[k] for k, pid in nasty_roster.items()} | {hostile.world.a.pensioner_id: "环翠人"}
    for key in ("drop_table", "percent", "underscore", "backslash", "quote_or", "emoji", "rtl_marks"):
        q = NASTY[key][:3]
        resp = client.get("/api/v1/pensioners", params={"q": q}, headers=hostile.admin)
        assert resp.status_code == 200, resp.text
        expected = sorted(pid for pid, name in names.items() if name.startswith(q))
        assert sorted(p["id"] for p in resp.json()["items"]) == expected, (key, q)
        assert expected == [nasty_roster[key]], key
    # A leading digit searches the national ID exactly: "1 OR 1=1" finds nothing.
    resp = client.get("/api/v1/pensioners", params={"q": NASTY["or_true"]}, headers=hostile.admin)
    assert resp.status_code == 200 and resp.json()["total"] == 0


def test_sqlish_staff_credentials_are_just_wrong(
    client: TestClient, session: Session, settings: Settings, hostile: Hostile
) -> None:
    user = f.staff(session, role="counter", region=f.HUANCUI, username="desk_1")
    session.commit()
    before = snapshot(session)
    for key, value in NASTY.items():
        for what, form in (
            ("username", {"username": value, "password": f.PASSWORD}),
            ("password", {"username": user.username, "password": value}),
        ):
            resp = client.post("/api/v1/auth/staff-token", data=form)
            if resp.status_code == 422:  # NUL on PostgreSQL
                assert_error(resp, 422, "invalid_input", f"{what} {key}")
            else:
                assert_error(resp, 401, "bad_credentials", f"{what} {key}")
    assert_tables_intact(session, before, allowed=frozenset({"rate_limit_hit"}))
    assert f.staff_token(client, user)  # the account is untouched


def test_sqlish_national_ids_and_codes_log_no_one_in(client: TestClient, session: Session, hostile: Hostile) -> None:
    nid = hostile.world.a.national_id
    before = snapshot(session)
    for key, value in NASTY.items():
        for candidate in (value, (value * 18)[:18]):
            resp = client.post("/api/v1/auth/otp", json={"national_id": candidate})
            assert_not_5xx(resp, f"otp {key}")
            if resp.status_code == 202:
                assert "masked_phone" not in resp.json(), key
            else:
                assert_error(resp, 422, "invalid_input", f"otp {key}")
            resp = client.post("/api/v1/auth/pensioner-token", json={"national_id": candidate, "code": "123456"})
            assert_not_5xx(resp, f"pensioner-token id {key}")
            assert resp.status_code in {401, 422}, key
        resp = client.post("/api/v1/auth/pensioner-token", json={"national_id": nid, "code": (value * 8)[:8]})
        assert_not_5xx(resp, f"pensioner-token code {key}")
        assert resp.status_code in {401, 422}, key
    # Only rate-limit hits were counted: no code sent, no token issued, nothing else written.
    assert_tables_intact(session, before, allowed=frozenset({"rate_limit_hit"}))


def test_sqlish_challenge_ids_find_no_challenge(client: TestClient, session: Session, hostile: Hostile) -> None:
    frame = encoded("JPEG", (64, 64))
    before = snapshot(session)
    for key, value in NASTY.items():
        resp = certify(client, hostile, value, [frame])
        if key == "ten_kb" or resp.status_code == 422:
            assert_error(resp, 422, "invalid_input", key)  # over 36 characters; NUL on PostgreSQL
        else:
            assert_error(resp, 404, "challenge_not_found", key)
    assert_tables_intact(session, before)
    # The real challenge is untouched.
    challenge = session.get(LivenessChallenge, hostile.world.a.challenge_id)
    assert challenge is not None and challenge.used_at is None
    session.commit()


def _stored_or_refused(resp: httpx.Response, key: str, stored: Callable[[], str | None]) -> bool:
    """Either kept verbatim (True), or a documented 422: too long, or NUL where PostgreSQL refuses it (False)."""
    if key == "ten_kb" or (key == "nul" and resp.status_code == 422):
        assert_error(resp, 422, "invalid_input", key)
        return False
    assert resp.status_code in {200, 201}, (key, resp.status_code, resp.text[:300])
    assert stored() == NASTY[key], key
    return True


def test_sqlish_home_visit_notes_are_kept_verbatim(
    client: TestClient, session: Session, settings: Settings, hostile: Hostile, clock: Clock
) -> None:
    # Fresh pensioners (no task yet) for help requests from the app and by phone; flagged visits to review.
    people = {
        (key, via): f.pensioner(session, name=f"求助{i}{via}", phone=f"138{i:04d}{len(via):04d}")
        for i, key in enumerate(NASTY)
        for via in ("app", "phone")
    }
    flagged = {}
    for key in NASTY:
        visit = HomeVisit(
            task_id=hostile.world.a.task_id,
            staff_id=hostile.world.staff_ids[(f.HUANCUI, "field")],
            visited_at=clock.now,
            recorded_at=clock.now,
            outcome="not_at_home",
            needs_review=True,
            review_reasons=["gps_missing"],
        )
        session.add(visit)
        flagged[key] = visit
    session.commit()
    ids = {k: p.id for k, p in people.items()}
    visit_ids = {k: v.id for k, v in flagged.items()}
    before = snapshot(session)

    def task_note(pid: int) -> Callable[[], str | None]:
        def read() -> str | None:
            session.expire_all()
            note = session.scalar(select(HomeVisitTask.note).where(HomeVisitTask.pensioner_id == pid))
            session.commit()
            return note

        return read

    def visit_detail(vid: int, *path: str) -> Callable[[], str | None]:
        def read() -> str | None:
            session.expire_all()
            value: Any = session.scalar(select(HomeVisit.detail).where(HomeVisit.id == vid))
            session.commit()
            for part in path:
                value = value[part]
            return str(value)

        return read

    kept = {"app": 0, "phone": 0, "visit": 0, "review": 0}
    for i, (key, note) in enumerate(NASTY.items()):
        pid = ids[(key, "app")]
        resp = client.post(
            "/api/v1/me/home-visit-request",
            json={"note": note},
            headers=token(settings, clock.now, "pensioner", pid, None),
        )
        kept["app"] += _stored_or_refused(resp, key, task_note(pid))

        pid = ids[(key, "phone")]
        resp = client.post(
            f"/api/v1/pensioners/{pid}/home-visit-request", json={"note": note}, headers=hostile.supervisor
        )
        kept["phone"] += _stored_or_refused(resp, key, task_note(pid))

        resp = client.post(
            f"/api/v1/home-visits/{hostile.world.a.task_id}/visits",
            # Visits hours apart: the same outcome within the hour is the same visit sent again (visits.find_duplicate).
            data={
                "outcome": "not_at_home",
                "note": note,
                "visited_at": (clock.now - timedelta(hours=2 * (i + 1))).isoformat(),
            },
            headers=hostile.field | {"Idempotency-Key": str(uuid.uuid4())},
        )
        new_visit = resp.json().get("id") if resp.status_code == 201 else None
        kept["visit"] += _stored_or_refused(resp, key, visit_detail(int(new_visit or 0), "note"))

        resp = client.post(
            f"/api/v1/home-visits/{visit_ids[key]}/review",
            json={"decision": "accepted", "note": note},
            headers=hostile.supervisor,
        )
        kept["review"] += _stored_or_refused(resp, key, visit_detail(visit_ids[key], "review", "note"))

    assert kept["app"] >= len(VERBATIM) and kept["visit"] >= len(VERBATIM)
    moved = changes(session, before)
    assert set(moved) <= {"home_visit_task", "home_visit", "audit_event", "idempotency_record", "notification"}, moved
    assert moved["home_visit_task"] == kept["app"] + kept["phone"]
    assert moved["home_visit"] == kept["visit"]
    assert inspect(session.get_bind()).has_table("pensioner")
    assert session.get(Region, f.HUANCUI_COMMUNITY) is not None
    session.commit()
