"""Life-evidence import speed: 1,000,000 rows (one per pensioner) on SQLite and PostgreSQL (target < 30 s).

    .venv/bin/python bench/bench_evidence_import.py [--db sqlite|postgres|both] [--n 1000000] [--database-url URL]
        [--scenario season|late] [--deaths N] [--plans] [--timings]

Seeds N pensioners (10% already certified) and queues the season's reminders (16 June). `--scenario season`
(default) imports on 20 June, inside the window: one `medical_insurance` row per person, 90% certified, their
pending reminders cancelled. `--scenario late` first runs the suspension sweep (20 July) and imports on
10 August: 90% are certified late and reinstated (a ledger row and a before/after audit row each) — the worst
case, every follow-up for almost everyone. After the import's commit, the step that expires the certified
people's pending reminders (`reminders.expire_certified_in_batches`) is timed beside a raw floor (one UPDATE of
every pending row, no check, rolled back). Printed beside the import, in the same run: the raw floor (the same rows COPY/executemany-loaded into a
staging table and `INSERT … SELECT` into certification with no checks), the CSV parse alone, and the load
average. `--plans` prints EXPLAIN (QUERY PLAN) of every statement the import runs, from a first run that is
rolled back (the timed run comes second); `--timings` prints the timed run's statements over 0.2 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sweeps import fresh_database, seed, settle, timed_sweep
from sqlalchemy import Column, Date, Engine, Integer, String, event, text

from certification import passive, reminders
from core.csvfile import read_rows
from core.settings import Settings
from models import bulk
from models.engine import make_engine, make_session_factory, session_scope

TZ = ZoneInfo("Asia/Shanghai")
SCENARIOS = {  # import time, evidence date, whether the suspension sweep runs first
    "season": (datetime(2026, 6, 20, 9, 0, tzinfo=TZ), "2026-06-01", False),
    "late": (datetime(2026, 8, 10, 9, 0, tzinfo=TZ), "2026-08-01", True),
}
NOW, DAY, SUSPEND = SCENARIOS["season"]
DEATHS = 0


def load() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def evidence_file(engine: Engine) -> bytes:
    """One accepted, in-window evidence row per pensioner."""
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT national_id FROM pensioner ORDER BY id")).scalars().all()
    return ("national_id,evidence_date,source\n" + "".join(f"{n},{DAY},medical_insurance\n" for n in ids)).encode()


def floor(engine: Engine, data: bytes) -> tuple[float, float]:
    """(load + INSERT … SELECT, INSERT … SELECT alone) of the same rows into certification, no checks; rolled back."""
    rows, _ = read_rows(data, passive.EVIDENCE_ALIASES, {"national_id", "evidence_date", "source"})
    parsed = [(n, r["national_id"], passive._date(r["evidence_date"]), r["source"]) for n, r in rows]
    session = make_session_factory(engine)()
    t0 = time.perf_counter()
    staging = bulk.staging_table(
        session,
        "floor",
        Column("line", Integer),
        Column("national_id", String),
        Column("evidence_date", Date),
        Column("source", String),
    )
    bulk.load(session, staging, ["line", "national_id", "evidence_date", "source"], parsed)
    t1 = time.perf_counter()
    session.execute(
        text(
            "INSERT INTO certification (pensioner_id, season_year, certified_at, channel, source) "
            "SELECT p.id, 2027, :at, 'data_comparison', s.source FROM floor s JOIN pensioner p "
            "ON p.national_id = s.national_id"
        ),
        {"at": NOW.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if engine.dialect.name == "sqlite" else NOW},
    )
    t2 = time.perf_counter()
    session.rollback()
    session.close()
    return t2 - t0, t2 - t1


def explain_hook(engine: Engine, plans: list[tuple[str, list[str]]]) -> Any:
    """A before_cursor_execute listener that records the plan of each statement (not executemany)."""
    pg = engine.dialect.name == "postgresql"

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        head = statement.lstrip().split(None, 1)[0].upper()
        if executemany or head not in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
            return
        cursor.execute(("EXPLAIN " if pg else "EXPLAIN QUERY PLAN ") + statement, params)
        lines = [str(r[0]) if pg else f"{'  ' * (r[1] > 0)}{r[3]}" for r in cursor.fetchall()]
        plans.append((" ".join(statement.split())[:160], lines))

    event.listen(engine, "before_cursor_execute", before)
    return before


def timing_hook(engine: Engine, timings: list[tuple[float, str]]) -> tuple[Any, Any]:
    """before/after_cursor_execute listeners that record each statement's wall time (executemany included)."""

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        timings.append((time.perf_counter() - conn.info.pop("bench_t0"), " ".join(statement.split())[:200]))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    return before, after


def print_timings(kind: str, timings: list[tuple[float, str]], total: float) -> None:
    """The statements over 0.2 s, slowest first, and what the rest (Python, COPY, small statements) took."""
    slow = sorted((t for t in timings if t[0] >= 0.2), reverse=True)
    for secs, sql in slow:
        print(f"[{kind}]   {secs:6.2f} s  {sql}")
    rest = total - sum(t for t, _ in slow)
    print(f"[{kind}]   {rest:6.2f} s  everything else ({len(timings) - len(slow)} statements, parsing, COPY)")


def run_deaths(engine: Engine, settings: Settings, count: int) -> tuple[float, dict[str, int]]:
    """Time a deaths file of the first `count` pensioners (died 1 May: months paid after death to list)."""
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT national_id FROM pensioner ORDER BY id LIMIT :n"), {"n": count}).scalars().all()
    data = ("national_id,death_date\n" + "".join(f"{n},2026-05-01\n" for n in ids)).encode()
    t = time.perf_counter()
    with session_scope(make_session_factory(engine)) as session:
        result = passive.import_deaths(session=session, settings=settings, data=data, now=NOW)
    out = {"terminated": result.terminated, "recoveries": len(result.recoveries)}
    return time.perf_counter() - t, out


def run_import(engine: Engine, settings: Settings, data: bytes, *, commit: bool) -> tuple[float, dict[str, int]]:
    """Time the import (committed, or rolled back for the plan run)."""
    factory = make_session_factory(engine)
    t = time.perf_counter()
    if commit:
        with session_scope(factory) as session:
            result = passive.import_life_evidence(session=session, settings=settings, data=data, now=NOW)
    else:
        with factory() as session:
            result = passive.import_life_evidence(session=session, settings=settings, data=data, now=NOW)
            session.rollback()
    return time.perf_counter() - t, result.as_dict()


def expire_after_import(kind: str, engine: Engine) -> None:
    """The step after the import's commit: the certified people's pending reminders expire; beside a raw floor."""
    factory = make_session_factory(engine)
    with factory() as session:
        pending = session.scalar(text("SELECT count(*) FROM notification WHERE status = 'pending'"))
        plans: list[tuple[str, list[str]]] = []
        hook = explain_hook(engine, plans)
        reminders.expire_certified(session=session, first_id=1, end_id=50_001)  # one batch's plan, rolled back
        event.remove(engine, "before_cursor_execute", hook)
        session.rollback()
        t = time.perf_counter()
        floor_rows = session.execute(
            text(
                "UPDATE notification SET status = 'expired_certified', next_attempt_at = NULL WHERE status = 'pending'"
            )
        ).rowcount
        floor_secs = time.perf_counter() - t
        session.rollback()
    print(
        f"[{kind}] floor: raw UPDATE of every pending row, no check, one statement: {floor_secs:.2f} s "
        f"({floor_rows:,} rows, rolled back)   load avg {load()}"
    )
    for sql, lines in plans:
        print(f"[{kind}]   plan of one batch: {sql}\n    " + "\n    ".join(lines))
    t = time.perf_counter()
    expired = reminders.expire_certified_in_batches(session_factory=factory)
    secs = time.perf_counter() - t
    with factory() as session:
        left = session.scalar(text("SELECT count(*) FROM notification WHERE status = 'pending'"))
    print(
        f"[{kind}] expire certified people's reminders after the import (50,000 ids a transaction): {secs:.2f} s, "
        f"{expired:,} of {pending:,} pending expired, {left:,} left pending   load avg {load()}"
    )


def bench(kind: str, n: int, url: str, plans_wanted: bool, timings_wanted: bool = False) -> None:
    """Seed, then time the floor and the import on one database."""
    with tempfile.TemporaryDirectory() as tmpdir:
        url = fresh_database(kind, url, Path(tmpdir))
        settings = Settings(database_url=url, environment="development")
        engine = make_engine(url)
        t = time.perf_counter()
        seed(engine, n, settings)
        factory = make_session_factory(engine)
        queued = timed_sweep(factory, settings, datetime(2026, 6, 16, 9, 0, tzinfo=TZ), "reminders")[1]
        suspended: dict[str, Any] = {}
        if SUSPEND:
            suspended = timed_sweep(factory, settings, datetime(2026, 7, 20, 9, 0, tzinfo=TZ), "suspensions")[1]
        settle(engine)
        print(
            f"[{kind}] seeded {n:,} pensioners, {queued.get('reminders_queued')} reminders, "
            f"{suspended.get('suspended')} suspended in {time.perf_counter() - t:.0f} s"
        )
        data = evidence_file(engine)
        t = time.perf_counter()
        read_rows(data, passive.EVIDENCE_ALIASES, {"national_id", "evidence_date", "source"})
        print(f"[{kind}] CSV parse alone ({len(data) / 1e6:.0f} MB): {time.perf_counter() - t:.2f} s")
        both, insert_only = floor(engine, data)
        print(
            f"[{kind}] floor: load + raw INSERT … SELECT into certification: {both:.2f} s "
            f"(INSERT … SELECT alone {insert_only:.2f} s)   load avg {load()}"
        )
        if plans_wanted:
            plans: list[tuple[str, list[str]]] = []
            hook = explain_hook(engine, plans)
            secs, _ = run_import(engine, settings, data, commit=False)
            event.remove(engine, "before_cursor_execute", hook)
            print(f"[{kind}] plan run (rolled back, EXPLAIN before each statement): {secs:.2f} s")
            for sql, lines in plans:
                print(f"  {sql}\n    " + "\n    ".join(lines))
        timings: list[tuple[float, str]] = []
        hooks = timing_hook(engine, timings) if timings_wanted else None
        secs, result = run_import(engine, settings, data, commit=True)
        if hooks is not None:
            event.remove(engine, "before_cursor_execute", hooks[0])
            event.remove(engine, "after_cursor_execute", hooks[1])
        flag = ("met" if secs < 30 else "NOT met") if n >= 1_000_000 else "applies to 1,000,000 rows"
        print(f"[{kind}] import-life-evidence {n:,} rows: {secs:.2f} s (target < 30 s: {flag})   load avg {load()}")
        print(f"[{kind}]   {result}")
        if hooks is not None:
            print_timings(kind, timings, secs)
        expire_after_import(kind, engine)
        if DEATHS:
            hook = explain_hook(engine, plans := []) if plans_wanted else None
            secs, out = run_deaths(engine, settings, DEATHS)
            if hook is not None:
                event.remove(engine, "before_cursor_execute", hook)
                for sql, lines in plans:
                    print(f"  {sql}\n    " + "\n    ".join(lines))
            print(f"[{kind}] import-deaths {DEATHS:,} rows: {secs:.2f} s {out}   load avg {load()}")
        engine.dispose()


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/pension_cert_bench_evidence",
        help="PostgreSQL database to (re)create for the run",
    )
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="season")
    parser.add_argument("--deaths", type=int, default=0, help="then import a deaths file of this many people")
    parser.add_argument("--plans", action="store_true", help="print the plan of every statement the import runs")
    parser.add_argument("--timings", action="store_true", help="print the timed import's statements over 0.2 s")
    args = parser.parse_args()
    global NOW, DAY, SUSPEND, DEATHS
    NOW, DAY, SUSPEND = SCENARIOS[args.scenario]
    DEATHS = args.deaths
    print(f"scenario {args.scenario}: import at {NOW:%Y-%m-%d}, evidence of {DAY}, suspension sweep first: {SUSPEND}")
    print(f"load avg at start {load()} ({os.cpu_count()} CPUs)")
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        bench(kind, args.n, args.database_url, args.plans, args.timings)


if __name__ == "__main__":
    main()
