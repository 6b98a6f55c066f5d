"""Does `POST /auth/otp` take longer for a registered national ID than for an unknown one? (issue 15 item 3)

    .venv/bin/python bench/bench_otp_timing.py [--n 400] [--pg-url URL] [--min-ms MS]

In process (TestClient, no network: the smallest noise an attacker could hope for), on a fresh SQLite file
(or the PostgreSQL URL given). Registered and unknown IDs (valid check digits) are requested in random order,
each ID once (limits raised, so no request is refused). Prints the median and quartiles of each, the
difference of the medians, and a permutation-test p-value for that difference.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient

from api.app import create_app
from cli.demo import demo_regions
from core.national_id import make_national_id
from core.settings import Settings
from models import Pensioner, Region
from models.engine import make_engine, make_session_factory, session_scope
from models.migrate import upgrade

COMMUNITY = "371002001001"


def seed(url: str, n: int) -> tuple[list[str], list[str]]:
    """n registered pensioners (half with a family phone) and n valid IDs nobody has."""
    factory = make_session_factory(make_engine(url))
    registered, unknown = [], []
    with session_scope(factory) as session:
        for row in demo_regions():
            session.add(Region(**row))
        session.flush()
        for i in range(2 * n):
            nid = make_national_id("371002", date(1940 + i // 1000 % 30, 1 + i // 30 % 12, 1 + i % 28), i)
            if i % 2:
                unknown.append(nid)
                continue
            registered.append(nid)
            session.add(
                Pensioner(
                    national_id=nid,
                    name="测试",
                    birth_date=date(1950, 1, 1),
                    sex="F",
                    phone=f"138{i:08d}",
                    family_phone=f"139{i:08d}" if i % 4 == 0 else None,
                    region_code=COMMUNITY,
                    town_code=COMMUNITY[:9] + "000",
                    district_code=COMMUNITY[:6] + "000000",
                    city_code="371000000000",
                    paying_region_code="371000000000",
                    bedridden=False,
                    pension_status="active",
                )
            )
    return registered, unknown


def permutation_p(a: list[float], b: list[float], rounds: int = 2000) -> float:
    """Two-sided p-value of the difference of medians under random relabelling."""
    observed = abs(statistics.median(a) - statistics.median(b))
    pooled, rng, hits = a + b, random.Random(7), 0
    for _ in range(rounds):
        rng.shuffle(pooled)
        if abs(statistics.median(pooled[: len(a)]) - statistics.median(pooled[len(a) :])) >= observed:
            hits += 1
    return hits / rounds


def main() -> None:
    """Seed, warm up, measure, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--pg-url", default="")
    parser.add_argument("--min-ms", type=int, default=Settings().otp_answer_min_ms, help="0: no answer floor")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.pg_url or f"sqlite:///{Path(tmp) / 'otp.sqlite3'}"
        upgrade(url)
        registered, unknown = seed(url, args.n)
        settings = Settings(
            database_url=url,
            face_workers=-1,
            login_rate_per_account=10**9,
            login_rate_per_address=10**9,
            otp_answer_min_ms=args.min_ms,
        )
        client = TestClient(create_app(settings))
        for nid in ("110105194912310021",) * 20:  # warm-up
            client.post("/api/v1/auth/otp", json={"national_id": nid})
        work = [("registered", n) for n in registered] + [("unknown", n) for n in unknown]
        random.Random(1).shuffle(work)
        times: dict[str, list[float]] = {"registered": [], "unknown": []}
        bodies = set()
        for kind, nid in work:
            t0 = time.perf_counter()
            resp = client.post("/api/v1/auth/otp", json={"national_id": nid, "to_family_phone": True})
            times[kind].append((time.perf_counter() - t0) * 1000)
            bodies.add((resp.status_code, resp.content))
        for kind, values in times.items():
            q = statistics.quantiles(values, n=4)
            print(f"{kind:10s} n={len(values)} median {statistics.median(values):.2f} ms  IQR {q[0]:.2f}-{q[2]:.2f} ms")
        diff = statistics.median(times["registered"]) - statistics.median(times["unknown"])
        print(
            f"median difference {diff:+.2f} ms, permutation p = {permutation_p(times['registered'], times['unknown']):.3f}"
        )
        print(f"distinct answers: {len(bodies)}")


if __name__ == "__main__":
    main()
