"""Small helpers to arrange data: regions, staff, pensioners, tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import count
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cli.demo import demo_regions
from core.national_id import make_national_id
from core.security import hash_password
from models import Pensioner, Region, StaffUser

PASSWORD = "correct-horse-42"
_PW_HASH = hash_password(PASSWORD)
_seq = count(1)

HUANCUI = "371002000000"
WENDENG = "371003000000"
CITY = "371000000000"
HUANCUI_COMMUNITY = "371002001001"
WENDENG_COMMUNITY = "371003001001"


def seed_regions(session: Session) -> None:
    """The demo city's region tree."""
    for row in demo_regions():
        session.add(Region(**row))
    session.flush()


def staff(session: Session, *, role: str = "admin", region: str = CITY, username: str | None = None) -> StaffUser:
    """A staff account with PASSWORD."""
    user = StaffUser(username=username or f"{role}{next(_seq)}", password_hash=_PW_HASH, role=role, region_code=region)
    session.add(user)
    session.flush()
    return user


def pensioner(
    session: Session,
    *,
    region: str = HUANCUI_COMMUNITY,
    birth: date = date(1950, 3, 4),
    bedridden: bool = False,
    phone: str = "13800000001",
    family_phone: str | None = "13900000002",
    **extra: Any,
) -> Pensioner:
    """A pensioner living in a community of the demo city."""
    town = region[:9] + "000"
    p = Pensioner(
        national_id=make_national_id(region[:6], birth, next(_seq)),
        name=extra.pop("name", "王秀英"),
        birth_date=birth,
        sex="F",
        phone=phone,
        family_phone=family_phone,
        region_code=region,
        town_code=town,
        district_code=region[:6] + "000000",
        city_code=CITY,
        paying_region_code=extra.pop("paying_region_code", CITY),
        bedridden=bedridden,
        pension_status="active",
        **extra,
    )
    session.add(p)
    session.flush()
    return p


def staff_token(client: TestClient, user: StaffUser) -> dict[str, str]:
    """Authorization header for a staff user."""
    resp = client.post("/api/v1/auth/staff-token", data={"username": user.username, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def pensioner_token(client: TestClient, session: Session, p: Pensioner, *, helper: bool = False) -> dict[str, str]:
    """Log a pensioner in through the real SMS-code flow (helper: the family phone's); the code is read from the outbox."""
    import re

    from sqlalchemy import select

    from models import Notification

    resp = client.post("/api/v1/auth/otp", json={"national_id": p.national_id, "to_family_phone": helper})
    assert resp.status_code == 202, resp.text
    session.expire_all()
    body = session.scalars(
        select(Notification.body_zh)
        .where(Notification.pensioner_id == p.id, Notification.kind == "otp")
        .order_by(Notification.id.desc())
    ).first()
    session.commit()
    assert body is not None
    code = re.search(r"验证码是(\d+)", body)
    assert code is not None
    resp = client.post("/api/v1/auth/pensioner-token", json={"national_id": p.national_id, "code": code.group(1)})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


FIXED_NOW = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)  # the conftest clock's start


def no_lock_session(session: Session):  # type: ignore[no-untyped-def]
    """The test session, with its transaction ended afterwards so the app is not kept waiting."""
    from contextlib import contextmanager

    @contextmanager
    def _cm():  # type: ignore[no-untyped-def]
        try:
            yield session
        finally:
            session.rollback()

    return _cm()


def cohort_encodings(faces: Any, count: int = 22) -> list[Any]:
    """Real encodings of `count` different people from the shared face folder (first usable photo each)."""
    from pathlib import Path

    from verification.config import VerificationConfig
    from verification.errors import VerificationError
    from verification.face import analyse_face
    from verification.image import decode_image

    config = VerificationConfig()
    out = []
    for person in sorted((Path(faces) / "identities").iterdir()):
        for photo in sorted(person.iterdir()):
            try:
                out.append(analyse_face(decode_image(photo.read_bytes(), config=config), config=config).encoding)
                break
            except VerificationError:
                continue
        if len(out) == count:
            break
    return out


def enrol_cohort(session: Session, settings: Any, encodings: list[Any]) -> None:
    """Other enrolled pensioners (one anchor each), so scores are cohort-normalised as in production."""
    from core.crypto import KeyRing, encrypt_encoding
    from models import FaceTemplate

    ring = KeyRing.from_settings(settings)
    for i, encoding in enumerate(encodings):
        other = pensioner(session, phone=f"1370000{i:04d}", name=f"队列{i}")
        blob, key_id = encrypt_encoding(ring, encoding, pensioner_id=other.id)
        session.add(FaceTemplate(pensioner_id=other.id, kind="anchor", source="counter", encoding=blob, key_id=key_id))
    session.flush()


def counter_face_check(
    session: Session, pensioner_id: int, *, at: datetime = FIXED_NOW, staff_id: int | None = None
) -> int:
    """The row a matched counter face check leaves (the face match itself is tested on real photos elsewhere)."""
    from models import VerificationAttempt

    attempt = VerificationAttempt(
        pensioner_id=pensioner_id, at=at, channel="counter", decision="match", staff_id=staff_id, reasons=[]
    )
    session.add(attempt)
    session.flush()
    return attempt.id
