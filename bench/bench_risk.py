"""Time the supervisor risk summary and at-risk pages over N pensioners (default 1,000,000).

    .venv/bin/python bench/bench_risk.py [--db sqlite|postgres|both] [--n 1000000] [--pg-url URL]

Builds the data set with the seasons benchmark's INSERT … SELECT builder, adds certifications spread
over the season (about 60 %, four channels), failed app attempts and home-visit tasks, then times
through HTTP (TestClient, bearer token): the roll-up refresh, the city and district summaries and
at-risk pages, each the median of several warm runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from bench.bench_sweeps import fresh_database, seed
from core.clock import get_now
from core.security import hash_password
from core.settings import Settings
from models.engine import make_engine, make_session_factory, session_scope

NOW = datetime(2026, 6, 20, 2, 0, tzinfo=UTC)  # 10 days before the city-wide close (one district extended)
PASSWORD = "bench-pass-2026"


def enrich(engine: Engine) -> None:
    """More certifications spread over April–June, failed attempts and home-visit tasks."""
    pg = engine.dialect.name == "postgresql"
    day = (
        "TIMESTAMPTZ '2026-04-01 02:00+00' + (id % 80) * INTERVAL '1 day'"
        if pg
        else ("strftime('%Y-%m-%d %H:%M:%S.000000', '2026-04-01 02:00:00', '+' || (id % 80) || ' days')")
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                f"""INSERT INTO certification (pensioner_id, season_year, certified_at, channel)
                SELECT id, 2026, {day},
                    CASE id % 4 WHEN 0 THEN 'app' WHEN 1 THEN 'counter' WHEN 2 THEN 'home_visit'
                    ELSE 'self_service_terminal' END
                FROM pensioner WHERE id % 10 IN (1, 2, 3, 4, 5)"""
            )
        )
        conn.execute(
            text(
                f"""INSERT INTO verification_attempt (pensioner_id, at, channel, season_year, decision, reasons)
                SELECT id, {day}, 'app', 2026, 'no_match', '[]' FROM pensioner WHERE id % 10 IN (6, 7) AND id % 3 = 0"""
            )
        )
        conn.execute(
            text(
                """INSERT INTO home_visit_task (pensioner_id, season_year, reason, status, due_date, created_at, updated_at)
                SELECT id, 2026, 'bedridden', 'open', DATE '2026-06-18', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
                FROM pensioner WHERE id % 7 = 0 AND id % 10 >= 6"""
                if pg
                else """INSERT INTO home_visit_task (pensioner_id, season_year, reason, status, due_date, created_at, updated_at)
                SELECT id, 2026, 'bedridden', 'open', '2026-06-18', '2026-06-01 00:00:00.000000', '2026-06-01 00:00:00.000000'
                FROM pensioner WHERE id % 7 = 0 AND id % 10 >= 6"""
            )
        )
        conn.execute(
            text(
                "INSERT INTO staff_user (username, password_hash, role, region_code, active, created_at, updated_at) "
                "VALUES ('bench_sup', :h, 'supervisor', '371000000000', :t, :now, :now)"
            ),
            {"h": hash_password(PASSWORD), "t": True, "now": NOW},
        )
    if pg:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def median_ms(
    client: TestClient, path: str, headers: dict[str, str], params: dict[str, object], runs: int = 7
) -> float:
    """Median wall time of a GET, after one warm-up call."""
    resp = client.get(path, params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        resp = client.get(path, params=params, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200, resp.text
    return statistics.median(times)


def bench(kind: str, n: int, pg_url: str) -> None:
    """Build the data set and print the timings."""
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database(kind, pg_url, Path(tmp))
        engine = make_engine(url)
        settings = Settings(database_url=url, risk_rollup_max_age_seconds=10**9)
        t0 = time.perf_counter()
        seed(engine, n, settings)
        enrich(engine)
        print(f"[{kind}] built {n:,} pensioners in {time.perf_counter() - t0:.1f} s", flush=True)
        with engine.connect() as conn:
            counts = {
                t: conn.scalar(text(f"SELECT count(*) FROM {t}"))
                for t in ("pensioner", "certification", "verification_attempt", "home_visit_task")
            }
        print(f"[{kind}] rows: {counts}", flush=True)
        app = create_app(settings)
        app.dependency_overrides[get_now] = lambda: NOW
        from risk import rollup as rollup_service

        factory = make_session_factory(engine)
        t0 = time.perf_counter()
        with session_scope(factory) as session:
            written = rollup_service.refresh_rollup(session=session, settings=settings, season_year=2026, now=NOW)
        print(f"[{kind}] roll-up refresh: {time.perf_counter() - t0:.2f} s ({written} communities)", flush=True)
        with TestClient(app) as client:
            token = client.post("/api/v1/auth/staff-token", data={"username": "bench_sup", "password": PASSWORD})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            cases = [
                ("summary city", "/api/v1/risk/summary", {}),
                ("summary district", "/api/v1/risk/summary", {"region": "371082000000"}),
                ("summary town", "/api/v1/risk/summary", {"region": "371082001000"}),
                ("at-risk page city", "/api/v1/risk/pensioners", {}),
                ("at-risk page district", "/api/v1/risk/pensioners", {"region": "371082000000"}),
                ("at-risk page 20 (offset 1000)", "/api/v1/risk/pensioners", {"offset": 1000}),
                ("at-risk bedridden", "/api/v1/risk/pensioners", {"bedridden": True}),
                (
                    "at-risk town, by days left",
                    "/api/v1/risk/pensioners",
                    {"region": "371082001000", "sort": "days_left"},
                ),
            ]
            for label, path, params in cases:
                ms = median_ms(client, path, headers, params)
                print(f"[{kind}] {label:32s} {ms:8.1f} ms", flush=True)
        app.state.engine.dispose()
        engine.dispose()


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/pension_cert_bench_risk")
    args = parser.parse_args()
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        bench(kind, args.n, args.pg_url)


if __name__ == "__main__":
    main()
