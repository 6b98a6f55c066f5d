"""Concurrent submissions certify once, retries replay the first answer, SIGKILL mid-import or mid-sweep leaves no half state."""

from __future__ import annotations

import os
import pty
import re
import select as io_select
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certification import seasons
from core.national_id import make_national_id
from models import Certification, IdempotencyRecord, Notification, Pensioner, Suspension
from tests import factories as f
from tests.security.conftest import count_rows

CLI = str(Path(sys.executable).parent / "pension-cert")


def _counter(session: Session, settings) -> tuple[Pensioner, list, dict]:  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    p = f.pensioner(session)
    counters = [f.staff(session, role="counter", region=d) for d in (f.HUANCUI, f.WENDENG, f.HUANCUI)]
    check = f.counter_face_check(session, p.id)
    session.commit()
    return p, counters, {"national_id": p.national_id, "attempt_id": check}


def test_concurrent_counter_certifications_certify_once(app, session: Session, settings) -> None:  # type: ignore[no-untyped-def]
    _p, counters, body = _counter(session, settings)
    barrier = threading.Barrier(len(counters))
    results: list[tuple[int, dict]] = []
    errors: list[BaseException] = []

    def worker(user) -> None:  # type: ignore[no-untyped-def]
        try:
            with TestClient(app) as c:
                hdr = f.staff_token(c, user) | {"Idempotency-Key": f"desk-{user.id}"}
                barrier.wait()
                resp = c.post("/api/v1/certifications/counter", json=body, headers=hdr)
                results.append((resp.status_code, resp.json()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(u,)) for u in counters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert [s for s, _ in results] == [200] * len(counters), results
    assert len({body["id"] for _, body in results}) == 1
    assert count_rows(session, Certification) == 1


def test_retry_with_the_same_key_returns_the_first_answer(client: TestClient, session: Session, settings) -> None:  # type: ignore[no-untyped-def]
    _p, counters, body = _counter(session, settings)
    hdr = f.staff_token(client, counters[0]) | {"Idempotency-Key": "retry-1"}
    first = client.post("/api/v1/certifications/counter", json=body, headers=hdr)
    again = client.post("/api/v1/certifications/counter", json=body, headers=hdr)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/api/v1/certifications/counter", json={"national_id": "110101195003040000"}, headers=hdr)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert count_rows(session, Certification) == 1 and count_rows(session, IdempotencyRecord) == 1


def _birth(i: int) -> date:
    return date(1940, 1, 1) + timedelta(days=i // 900)


def _nid(i: int) -> str:
    return make_national_id("371002", _birth(i), i % 900 + 100)


def _roster(path: Path, n: int) -> None:
    lines = ["national_id,name,phone,region_code,bedridden"]
    for i in range(n):
        nid = _nid(i)
        lines.append(f"{nid},测试{i},138{i:08d},{f.HUANCUI_COMMUNITY},0")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _env(database_url: str) -> dict[str, str]:
    return os.environ | {
        "PENSION_CERT_DATABASE_URL": database_url,
        "PENSION_CERT_ENVIRONMENT": "development",
        "TERM": "xterm",
        "COLUMNS": "120",
    }


def _kill_when(cmd: list[str], env: dict[str, str], ready: re.Pattern[str], timeout: float = 60) -> str:
    """Run cmd with stderr on a pseudo-terminal (so progress shows); SIGKILL it when `ready` appears."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    seen = ""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            r, _, _ = io_select.select([master], [], [], 0.05)
            if r:
                try:
                    seen += os.read(master, 4096).decode(errors="replace")
                except OSError:
                    break
                if ready.search(seen):
                    proc.send_signal(signal.SIGKILL)
                    break
    finally:
        if proc.poll() is None and time.monotonic() >= deadline:
            proc.kill()
        proc.wait(timeout=30)
        os.close(master)
    return seen


def test_sigkill_during_import_leaves_nothing_and_rerun_completes(
    session: Session, database_url: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    session.commit()
    n = 20_000
    csv_path = tmp_path / "roster.csv"
    _roster(csv_path, n)
    env = _env(database_url)
    # Kill once the progress bar shows rows written but not all (the import is one transaction).
    seen = _kill_when([CLI, "import-roster", str(csv_path)], env, re.compile(r"\b([1-9]\d?)%"))
    assert re.search(r"\b([1-9]\d?)%", seen), f"import never showed progress before finishing: {seen[-300:]!r}"
    assert count_rows(session, Pensioner) == 0
    done = subprocess.run([CLI, "import-roster", "--json", str(csv_path)], env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    assert count_rows(session, Pensioner) == n
    again = subprocess.run([CLI, "import-roster", "--json", str(csv_path)], env=env, capture_output=True, timeout=300)
    # The same file again: every row matched, none changed, nothing written.
    assert b'"inserted": 0' in again.stdout and b'"updated": 0' in again.stdout
    dupes = session.execute(
        select(Pensioner.national_id).group_by(Pensioner.national_id).having(func.count() > 1)
    ).all()
    session.commit()
    assert count_rows(session, Pensioner) == n and dupes == []


def test_sigkill_during_sweeps_leaves_whole_sweeps_and_rerun_completes(
    session: Session, settings, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    n = 3000
    rows = [
        {
            "national_id": _nid(i),
            "name": f"测试{i}",
            "birth_date": _birth(i),
            "sex": "F",
            "phone": f"138{i:08d}",
            "region_code": f.HUANCUI_COMMUNITY,
            "town_code": f.HUANCUI_COMMUNITY[:9] + "000",
            "district_code": f.HUANCUI,
            "city_code": f.CITY,
            "paying_region_code": f.CITY,
            "bedridden": False,
            "pension_status": "active",
        }
        for i in range(n)
    ]
    session.execute(Pensioner.__table__.insert(), rows)
    session.commit()
    env = _env(database_url)
    cmd = [CLI, "run-sweeps", "--now", "2026-07-20T09:00:00+08:00", "--only", "suspensions", "--only", "outbox"]
    # Killed as soon as the process is up: whatever point it reached, each sweep is all or nothing.
    _kill_when(cmd, env, re.compile(r"."), timeout=5)
    suspended = count_rows(session, Suspension)
    assert suspended in (0, n)
    statuses = set(session.scalars(select(Pensioner.pension_status)))
    session.commit()
    assert statuses == ({"suspended"} if suspended else {"active"})
    done = subprocess.run([*cmd, "--json"], env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    again = subprocess.run([*cmd, "--json"], env=env, capture_output=True, timeout=300)
    assert again.returncode == 0 and b'"suspended": 0' in again.stdout
    assert count_rows(session, Suspension) == n
    dupes = session.execute(
        select(Notification.pensioner_id, Notification.kind, Notification.recipient)
        .where(Notification.recipient.is_not(None))
        .group_by(Notification.pensioner_id, Notification.season_year, Notification.kind, Notification.recipient)
        .having(func.count() > 1)
    ).all()
    per_person = session.execute(
        select(Suspension.pensioner_id).group_by(Suspension.pensioner_id).having(func.count() > 1)
    ).all()
    session.commit()
    assert dupes == [] and per_person == []
