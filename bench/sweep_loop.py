"""Run every sweep back to back in one process for a while, as a busy `pension-cert scheduler` would.

    PENSION_CERT_DATABASE_URL=... .venv/bin/python bench/sweep_loop.py --seconds 120

Prints one JSON object: the duration of each full run and how many failed. Used by bench_load.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.settings import get_settings
from models.engine import make_engine, make_session_factory
from scheduler.sweeps import run_sweeps


def main() -> None:
    """Loop until the time is up; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    settings = get_settings()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    runs: list[float] = []
    failures: list[str] = []
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        start = time.perf_counter()
        try:
            run_sweeps(session_factory=factory, settings=settings, now=datetime.now(UTC))
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}"[:200])
        runs.append(round(time.perf_counter() - start, 2))
    engine.dispose()
    print(json.dumps({"runs": runs, "failures": failures}))


if __name__ == "__main__":
    main()
