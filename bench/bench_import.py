"""Roster import speed: 100,000 rows on SQLite through the real service (target < 10 s).

Prints our time beside a plain executemany insert of the same rows, measured in the same run.
Usage: python bench/bench_import.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from cli.demo import demo_regions
from core.national_id import make_national_id
from models import Pensioner, Region
from models.engine import make_engine, make_session_factory, session_scope
from models.migrate import upgrade
from registry.roster import import_roster


def make_csv(rows: int, seed: int = 1) -> bytes:
    """A roster CSV with valid, unique IDs in demo communities."""
    rng = random.Random(seed)
    communities = [r["code"] for r in demo_regions() if r["level"] == "community"]
    seen: set[str] = set()
    lines = ["national_id,name,phone,region_code,bedridden,family_phone,paying_region_code"]
    while len(lines) <= rows:
        birth = date(1925, 1, 1) + timedelta(days=rng.randint(0, 365 * 40))
        comm = rng.choice(communities)
        nid = make_national_id(comm[:6], birth, rng.randint(0, 999))
        if nid in seen:
            continue
        seen.add(nid)
        lines.append(f"{nid},张三,138{rng.randint(0, 99_999_999):08d},{comm},{int(rng.random() < 0.02)},,")
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    """Run and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    data = make_csv(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with session_scope(factory) as s:
            s.execute(insert(Region), demo_regions())
        t0 = time.perf_counter()
        with session_scope(factory) as s:
            result = import_roster(session=s, data=data)
        ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        with session_scope(factory) as s:
            result2 = import_roster(session=s, data=data)
        ours_update = time.perf_counter() - t0
        # Raw baseline: executemany of already-parsed rows into an empty copy of the table.
        with session_scope(factory) as s:
            s.execute(text("DELETE FROM pensioner"))
        rows = [
            {
                "national_id": ln.split(",")[0],
                "name": "张三",
                "birth_date": date(1950, 1, 1),
                "sex": "M",
                "phone": ln.split(",")[2],
                "region_code": ln.split(",")[3],
                "pension_status": "active",
            }
            for ln in data.decode().splitlines()[1:]
        ]
        t0 = time.perf_counter()
        with session_scope(factory) as s:
            s.execute(insert(Pensioner), rows)
        raw = time.perf_counter() - t0
        engine.dispose()
    print(f"rows: {args.rows}")
    print(
        f"import-roster (validate + insert) : {ours:.2f} s  (inserted {result.inserted}, rejected {len(result.rejected)})"
    )
    print(
        f"import-roster again (same file)   : {ours_update:.2f} s  (updated {result2.updated}, unchanged {result2.unchanged})"
    )
    print(f"raw executemany insert, same rows : {raw:.2f} s")
    print(f"ratio ours/raw (insert)           : {ours / raw:.2f}")
    print(f"target < 10 s for 100,000 rows    : {'met' if ours < 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
