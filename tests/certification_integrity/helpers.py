"""Arranging money-integrity scenarios: a season, a suspended pensioner, field staff, supervisors, evidence files."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from models import Pensioner, Region, StaffUser
from scheduler import sweeps
from tests import factories as f
from tests.home_visit.helpers import IN_CITY, PDF, at, open_task, season

__all__ = ["IN_CITY", "PDF", "World", "at", "png", "post_visit", "suspend_everyone", "token", "world"]


def token(client: TestClient, session: Session, user: StaffUser) -> dict[str, str]:
    """A staff token; the read of the (possibly expired) staff row is ended so later checks see the app's writes."""
    hdr = f.staff_token(client, user)
    session.commit()
    return hdr


def png(width: int = 2, height: int = 2) -> bytes:
    """A small valid PNG (grey pixels): a photo of a document, not of a face."""
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@dataclass
class World:
    """One pensioner with an open task assigned to `worker`; a colleague covering the same community."""

    pensioner: Pensioner
    task_id: int
    worker: StaffUser
    colleague: StaffUser
    supervisor: StaffUser
    counter: StaffUser


def world(session: Session, settings: Settings, clock: Any, *, when: Any = None, **pensioner: Any) -> World:
    """Regions, the 2026 season, staff, a pensioner and their help-request task (assigned to `worker`)."""
    f.seed_regions(session)
    season(session, settings)
    clock.now = when or at(2026, 6, 10)
    worker = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    colleague = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    supervisor = f.staff(session, role="supervisor", region=f.HUANCUI)
    counter = f.staff(session, role="counter", region=f.HUANCUI)
    p = f.pensioner(session, name="王秀英", bedridden=True, **pensioner)
    session.commit()
    return World(p, 0, worker, colleague, supervisor, counter)


def with_task(session: Session, settings: Settings, w: World, now: Any) -> World:
    """Open the pensioner's help-request task as of `now`; it goes to `worker` (fewest tasks, lowest id)."""
    task = open_task(session, settings, w.pensioner, now)
    assert task.assigned_staff_id == w.worker.id
    w.task_id = task.id
    session.commit()
    return w


def suspend_everyone(session_factory: sessionmaker[Session], settings: Settings) -> dict[str, Any]:
    """The suspension sweep on 20 July 2026 (after the close; no grace by default): effective 1 July."""
    return sweeps.run_sweeps(
        session_factory=session_factory, settings=settings, now=at(2026, 7, 20), names=["suspensions"]
    )


def post_visit(
    client: TestClient, task_id: int, hdr: dict[str, str], key: str, data: dict[str, str], files: Any = None
) -> Any:
    """POST a visit (multipart, with an Idempotency-Key)."""
    return client.post(
        f"/api/v1/home-visits/{task_id}/visits",
        data=data,
        files=files or {},
        headers={**hdr, "Idempotency-Key": key},
    )


def add_city(session: Session) -> str:
    """Yantai (another city of the province) with one district, town and community; returns the community code."""
    rows = [
        ("370600000000", "烟台市", "city", None),
        ("370602000000", "芝罘区", "district", "370600000000"),
        ("370602001000", "向阳街道", "town", "370602000000"),
        ("370602001001", "向阳社区", "community", "370602001000"),
    ]
    for code, name, level, parent in rows:
        session.add(Region(code=code, name=name, level=level, parent_code=parent))
    session.flush()
    return "370602001001"


def counter_body(session: Session, national_id: str, now: Any) -> dict[str, Any]:
    """A counter certification's body, with the matched counter face check it rests on (made `now`)."""
    from sqlalchemy import select

    pid = session.scalar(select(Pensioner.id).where(Pensioner.national_id == national_id))
    assert pid is not None
    check = f.counter_face_check(session, pid, at=now)
    session.commit()
    return {"national_id": national_id, "attempt_id": check}
