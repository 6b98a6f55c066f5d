"""A small two-district city (plus a second city) with staff of every role, two pensioners and their objects."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from certification import seasons
from core.security import create_token
from core.settings import Settings
from faces import evidence as evidence_service
from home_visit import help_requests
from models import HomeVisit, Pensioner, Region, StaffUser
from tests import factories as f

ROLES = ("admin", "counter", "field", "supervisor")
OTHER_CITY = "370200000000"
MISSING_REGION = "371099000000"
MISSING_ID = 987654


@dataclass(frozen=True)
class Target:
    """The objects a request points at (real ones of pensioner A, or ids that do not exist)."""

    pensioner_id: int
    national_id: str
    task_id: int
    visit_id: int
    region: str
    challenge_id: str
    evidence_id: int
    attempt_id: int = 0  # a matched counter face check of the pensioner


@dataclass
class World:
    """Who is who: tokens by (district, role), pensioners A (环翠) and B (文登), A's task, visit and challenge."""

    a: Target
    missing: Target
    b_id: int
    headers: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    staff_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    pensioner_a: dict[str, str] = field(default_factory=dict)
    pensioner_b: dict[str, str] = field(default_factory=dict)


def token(settings: Settings, now, subject_type: str, subject_id: int, role: str | None, **kw) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A bearer header signed like the login endpoints sign them (no login round trip, no rate limit)."""
    value = create_token(
        secret=kw.pop("secret", settings.secret_key),
        subject_type=subject_type,
        subject_id=subject_id,
        role=role,
        now=now,
        lifetime=kw.pop("lifetime", timedelta(minutes=15)),
        **kw,
    )
    return {"Authorization": f"Bearer {value}"}


def build_world(client: TestClient, session: Session, settings: Settings, now) -> World:  # type: ignore[no-untyped-def]
    """Arrange the city; every staff member and both pensioners get access tokens."""
    f.seed_regions(session)
    session.add(Region(code=OTHER_CITY, name="青岛市", level="city", parent_code=None))
    seasons.create_season(session=session, settings=settings, year=2026)
    a = f.pensioner(session, region=f.HUANCUI_COMMUNITY, name="环翠人", phone="13800000011")
    b = f.pensioner(session, region=f.WENDENG_COMMUNITY, name="文登人", phone="13800000022")
    people: dict[tuple[str, str], StaffUser] = {}
    for district in (f.HUANCUI, f.WENDENG, OTHER_CITY):
        for role in ROLES:
            people[(district, role)] = f.staff(session, role=role, region=district)
    people[(f.CITY, "admin")] = f.staff(session, role="admin", region=f.CITY)  # seasons are the city's
    task = help_requests.request_visit(session=session, settings=settings, pensioner=a, now=now, source="app")
    visit = HomeVisit(
        task_id=task.id,
        staff_id=people[(f.HUANCUI, "field")].id,
        visited_at=now,
        recorded_at=now,
        outcome="certified",
        needs_review=True,
        review_reasons=["no_gps"],
    )
    session.add(visit)
    evidence = evidence_service.store_evidence(
        session=session,
        settings=settings,
        pensioner_id=a.id,
        kind="form_scan",
        data=b"%PDF-1.4",
        content_type="application/pdf",
        now=now,
    )
    session.flush()
    world = World(
        a=Target(
            a.id,
            a.national_id,
            task.id,
            visit.id,
            f.HUANCUI,
            "",
            evidence.id,
            f.counter_face_check(session, a.id, at=now),
        ),
        missing=Target(
            MISSING_ID,
            "371002195003040000",
            MISSING_ID,
            MISSING_ID,
            MISSING_REGION,
            str(uuid.UUID(int=7)),
            MISSING_ID,
            MISSING_ID,
        ),
        b_id=b.id,
    )
    for key, user in people.items():
        world.headers[key] = token(settings, now, "staff", user.id, user.role)
        world.staff_ids[key] = user.id
    world.pensioner_a = token(settings, now, "pensioner", a.id, None)
    world.pensioner_b = token(settings, now, "pensioner", b.id, None)
    session.commit()
    resp = client.post("/api/v1/me/liveness-challenges", headers=world.pensioner_a)
    assert resp.status_code == 201, resp.text
    world.a = Target(**{**world.a.__dict__, "challenge_id": resp.json()["challenge_id"]})
    return world


@pytest.fixture
def world(client: TestClient, session: Session, settings: Settings, clock) -> World:  # type: ignore[no-untyped-def]
    """The arranged city."""
    return build_world(client, session, settings, clock.now)


def count_rows(session: Session, model: type) -> int:
    """Rows in a table, read fresh."""
    from sqlalchemy import func, select

    session.expire_all()
    n = session.scalar(select(func.count()).select_from(model)) or 0
    session.commit()
    return n


__all__ = ["Pensioner", "Target", "World", "build_world", "count_rows", "token"]
