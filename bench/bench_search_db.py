"""1:N enrolment search on the real path: N encrypted SFace templates in a migrated database, one core.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_search_db.py [--db sqlite|postgres] [--n 1000000]
                                                               [--pg-url URL] [--queries 10] [--json]

Speed and memory only: the stored vectors are random unit vectors, so this measures no matching accuracy
(bench/bench_face_models.py and `eval-faces` do that on real faces). Times are wall and CPU seconds: on a
shared machine the CPU time is what one core spends. Results: docs/load.md, "1:N search".

The parent process makes a fresh database (SQLite in a temporary directory, or PostgreSQL `bench_search_<pid>`
beside --pg-url, dropped at the end), migrates it with Alembic, writes N + 1,001 pensioners in one
INSERT … SELECT and N `face_template` rows (model sface) in batches of mappings, each vector encrypted as
faces/service.py stores a template (core.crypto.encrypt_encoding, AAD bound to the pensioner). It then starts
a worker process, which measures what an API worker pays:
  (a) the first `faces.search_index.refresh()`: load time, the worker's RSS before and its peak after;
  (b) per enrolment `find_enrolled_elsewhere` (refresh + index search + confirm on the decrypted hits),
      median and max over --queries perturbed copies of enrolled vectors (each must find exactly the
      pensioners a float32 brute-force scan puts within the shipped PENSION_CERT_FACE_DUPLICATE_DISTANCE) and
      as many unrelated vectors (random vectors the scan finds nothing near; they must find nothing);
  (c) the top-up after 1,000 templates are added (and the next call, which re-reads them until settled);
and the floors in the same run: a plain SELECT of the encoding column for all rows (alone and with a bare
AES-GCM decrypt loop), and the float32 matrix-vector product + argmin over the N vectors (parent process).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from sqlalchemy import Engine, insert, text
from sqlalchemy.engine import make_url

from cli.demo import demo_regions
from core.crypto import KeyRing, encrypt_encoding
from core.settings import Settings
from models import FaceTemplate, Region
from models.engine import make_engine, make_session_factory
from models.migrate import upgrade

DIM = 128
BATCH = 20_000
TOP_UP = 1_000
CITY = "371000000000"
MODEL = "sface"
# What faces/uniqueness.py passes: the shipped PENSION_CERT_FACE_DUPLICATE_DISTANCE.
MAX_DISTANCE = Settings(environment="development").face_duplicate_distance


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB.

    The peak is VmHWM since the last reset_peak(), not getrusage: Linux carries ru_maxrss across exec, so a
    worker started by the seeding process would report the parent's peak.
    """
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def reset_peak() -> None:
    """Start VmHWM again from the current RSS (Linux: 5 to /proc/self/clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


def unit(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (float32)."""
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def fresh_database(kind: str, pg_url: str, tmp: Path) -> tuple[str, str | None]:
    """A new migrated database: its URL and, on PostgreSQL, the admin URL to drop it with."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'bench_search.sqlite3'}"
        upgrade(url)
        return url, None
    parsed = make_url(pg_url)
    admin_url = parsed.set(database="postgres").render_as_string(hide_password=False)
    url = parsed.set(database=f"bench_search_{os.getpid()}").render_as_string(hide_password=False)
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "bench_search_{os.getpid()}"'))
    admin.dispose()
    upgrade(url)
    return url, admin_url


def drop_database(url: str, admin_url: str) -> None:
    """Drop the PostgreSQL database this run made."""
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def seed_pensioners(engine: Engine, n: int) -> np.ndarray:
    """The demo region tree and n pensioners in the city (one INSERT … SELECT); their ids in order."""
    with engine.begin() as conn:
        conn.execute(insert(Region.__table__), demo_regions())
        community = conn.execute(text("SELECT code FROM region WHERE level = 'community' ORDER BY code")).scalar()
    pg = engine.dialect.name == "postgresql"
    series = (
        "SELECT generate_series(1, :n) AS x"
        if pg
        else "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < :n) SELECT x FROM s"
    )
    nid = "lpad(x::text, 17, '0')" if pg else "substr('00000000000000000' || x, -17, 17)"
    now = "now()" if pg else "'2026-03-01 00:00:00.000000'"
    birth = "DATE '1950-01-01'" if pg else "'1950-01-01'"
    with engine.begin() as conn:
        conn.execute(
            text(
                f"""
                INSERT INTO pensioner (national_id, name, birth_date, sex, region_code, town_code, district_code,
                    city_code, paying_region_code, bedridden, limited_mobility, pension_status, created_at,
                    updated_at)
                SELECT 'S' || {nid}, 'P' || x, {birth}, 'M', c.code, substr(c.code, 1, 9) || '000',
                    substr(c.code, 1, 6) || '000000', c.city, c.city, {"false" if pg else "0"},
                    {"false" if pg else "0"}, 'active', {now}, {now}
                FROM ({series}) AS seq, (SELECT CAST(:community AS VARCHAR(12)) AS code,
                    CAST(:city AS VARCHAR(12)) AS city) AS c
                """
            ),
            {"n": n, "community": community, "city": CITY},
        )
        ids = conn.execute(text("SELECT id FROM pensioner ORDER BY id")).scalars().all()
    return np.array(ids, dtype=np.int64)


def write_templates(
    engine: Engine, ring: KeyRing, pensioner_ids: np.ndarray, vectors: np.ndarray, created_at: datetime
) -> None:
    """One sface anchor template per pensioner, encrypted as the service stores one, in batches of mappings."""
    for lo in range(0, len(pensioner_ids), BATCH):
        rows = []
        for pid, vector in zip(pensioner_ids[lo : lo + BATCH].tolist(), vectors[lo : lo + BATCH], strict=True):
            blob, key_id = encrypt_encoding(ring, vector.astype(np.float64), pensioner_id=pid)
            rows.append(
                {
                    "pensioner_id": pid,
                    "kind": "anchor",
                    "source": "counter",
                    "model": MODEL,
                    "encoding": blob,
                    "key_id": key_id,
                    "created_at": created_at,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(FaceTemplate.__table__), rows)


def random_vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    """n random unit vectors (float32), made in blocks to bound the temporary memory."""
    out = np.empty((n, DIM), dtype=np.float32)
    for lo in range(0, n, 100_000):
        out[lo : lo + 100_000] = unit(rng.standard_normal((min(100_000, n - lo), DIM), dtype=np.float32))
    return out


def brute_force(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray) -> tuple[list[int], float]:
    """Pensioner ids within the threshold by a float32 scan of every vector, and the scan's time."""
    t = time.perf_counter()
    distance = 1.0 - vectors @ unit(query)
    int(np.argmin(distance))
    elapsed = time.perf_counter() - t
    return sorted(int(ids[i]) for i in np.flatnonzero(distance <= MAX_DISTANCE)), elapsed


def make_queries(
    vectors: np.ndarray, ids: np.ndarray, count: int, rng: np.random.Generator
) -> tuple[list[dict[str, Any]], list[float], int]:
    """Perturbed copies of enrolled vectors and unrelated vectors, each with its brute-force answer."""
    queries: list[dict[str, Any]] = []
    floor: list[float] = []
    for row in rng.choice(len(vectors), size=count, replace=False):
        noise = unit(rng.standard_normal(DIM, dtype=np.float32))
        probe = unit(vectors[row] + 0.6 * noise)  # cosine distance ≈ 0.14 from its source
        expected, secs = brute_force(vectors, ids, probe)
        assert int(ids[row]) in expected
        queries.append({"kind": "copy", "vector": probe.tolist(), "expected": expected})
        floor.append(secs)
    rejected = 0
    while sum(q["kind"] == "unrelated" for q in queries) < count:
        probe = unit(rng.standard_normal(DIM, dtype=np.float32))
        expected, secs = brute_force(vectors, ids, probe)
        floor.append(secs)
        if expected:  # a random vector that happens to lie within the threshold of a random enrolled one
            rejected += 1
            continue
        queries.append({"kind": "unrelated", "vector": probe.tolist(), "expected": []})
    return queries, floor, rejected


class Stopwatch:
    """Wall and CPU seconds of a block (the machine is shared: CPU time is what one core spends)."""

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self._wall, time.process_time() - self._cpu


def timed_search(factory: Any, settings: Settings, vector: np.ndarray, newcomer: int) -> tuple[list[int], Stopwatch]:
    """One enrolment's 1:N check in a fresh session, as a request makes it: found pensioner ids and its time."""
    from faces import search_index
    from models.base import utcnow

    with factory() as session, Stopwatch() as watch:
        found = search_index.find_enrolled_elsewhere(
            session=session,
            settings=settings,
            model=MODEL,
            vector=vector,
            pensioner_id=newcomer,
            city_code=CITY,
            max_distance=MAX_DISTANCE,
            now=utcnow(),
        )
    return sorted(m.pensioner_id for m in found), watch


def timed_refresh(factory: Any, settings: Settings) -> tuple[int, Stopwatch]:
    """One `refresh()` in a fresh session: the index size after it and its time."""
    from faces import search_index
    from models.base import utcnow

    with factory() as session, Stopwatch() as watch:
        index = search_index.refresh(session=session, settings=settings, model=MODEL, now=utcnow())
    return len(index), watch


def raw_floors(engine: Engine, settings: Settings) -> dict[str, float]:
    """A plain SELECT of every sface encoding, and the same SELECT with a bare AES-GCM decrypt of each row."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from core.crypto import template_aad

    sql = text("SELECT pensioner_id, encoding FROM face_template WHERE model = 'sface'")
    with engine.connect() as conn, Stopwatch() as select_only:
        for part in conn.execution_options(yield_per=BATCH).execute(sql).partitions():
            for _pid, _blob in part:
                pass
    aead = AESGCM(base64.b64decode(settings.template_key))
    with engine.connect() as conn, Stopwatch() as with_decrypt:
        for part in conn.execution_options(yield_per=BATCH).execute(sql).partitions():
            for pid, blob in part:
                aead.decrypt(blob[:12], blob[12:], template_aad(pid))
    return {
        "floor_select_s": select_only.wall,
        "floor_select_cpu_s": select_only.cpu,
        "floor_decrypt_s": with_decrypt.wall,
        "floor_decrypt_cpu_s": with_decrypt.cpu,
    }


def queries_phase(factory: Any, settings: Settings, spec: dict[str, Any]) -> dict[str, Any]:
    """Every query, checked against its brute-force answer; wall and CPU times."""
    watches: dict[str, list[Stopwatch]] = {"copy": [], "unrelated": []}
    for q in spec["queries"]:
        found, watch = timed_search(factory, settings, np.array(q["vector"]), spec["newcomer"])
        assert found == q["expected"], (q["kind"], found, q["expected"])
        watches[q["kind"]].append(watch)
    every = watches["copy"] + watches["unrelated"]
    return {
        "queries": len(every),
        "search_median_s": statistics.median(w.wall for w in every),
        "search_max_s": max(w.wall for w in every),
        "search_cpu_median_s": statistics.median(w.cpu for w in every),
        "search_cpu_max_s": max(w.cpu for w in every),
        "copy_median_s": statistics.median(w.wall for w in watches["copy"]),
        "unrelated_median_s": statistics.median(w.wall for w in watches["unrelated"]),
    }


def top_up_phase(engine: Engine, factory: Any, settings: Settings, spec: dict[str, Any]) -> dict[str, Any]:
    """1,000 templates added now; the next refresh tops up, the one after re-reads them (not yet settled)."""
    from models.base import utcnow

    rng = np.random.default_rng(11)
    vectors = random_vectors(TOP_UP, rng)
    ids = np.array(spec["top_up_ids"], dtype=np.int64)
    write_templates(engine, KeyRing.from_settings(settings), ids, vectors, utcnow())
    size, first = timed_refresh(factory, settings)
    _, again = timed_refresh(factory, settings)
    probe = unit(vectors[0] + 0.6 * unit(rng.standard_normal(DIM, dtype=np.float32)))
    found, search = timed_search(factory, settings, probe, spec["newcomer"])
    assert int(ids[0]) in found, found
    return {
        "top_up_size": size,
        "top_up_s": first.wall,
        "top_up_cpu_s": first.cpu,
        "refresh_unsettled_s": again.wall,
        "search_after_top_up_s": search.wall,
    }


def worker(spec_path: str) -> None:
    """Measure what an API worker pays (in its own process, so its RSS holds the index and nothing of the seed)."""
    spec = json.loads(Path(spec_path).read_text())
    settings = Settings(database_url=spec["url"], environment="development")
    engine = make_engine(spec["url"])
    factory = make_session_factory(engine)
    reset_peak()
    rss_before, _ = rss_mb()
    size, load = timed_refresh(factory, settings)
    rss_after, rss_peak = rss_mb()
    out: dict[str, Any] = {
        "index_rows": size,
        "load_s": load.wall,
        "load_cpu_s": load.cpu,
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_after,
        "rss_peak_mb": rss_peak,
    }
    out |= queries_phase(factory, settings, spec)
    out["rss_peak_after_searches_mb"] = rss_mb()[1]
    out |= top_up_phase(engine, factory, settings, spec)
    out |= raw_floors(engine, settings)
    engine.dispose()
    print(json.dumps(out))


def seed(url: str, n: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any], float]:
    """Pensioners and their templates; returns the vectors, their pensioner ids, the worker's spec, seconds."""
    settings = Settings(database_url=url, environment="development")
    engine = make_engine(url)
    t = time.perf_counter()
    pensioner_ids = seed_pensioners(engine, n + TOP_UP + 1)
    vectors = random_vectors(n, np.random.default_rng(7))
    old = datetime.now(UTC) - timedelta(days=1)
    write_templates(engine, KeyRing.from_settings(settings), pensioner_ids[:n], vectors, old)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()
    spec = {"url": url, "newcomer": int(pensioner_ids[-1]), "top_up_ids": pensioner_ids[n : n + TOP_UP].tolist()}
    return vectors, pensioner_ids[:n], spec, time.perf_counter() - t


def run(kind: str, n: int, pg_url: str, count: int) -> dict[str, Any]:
    """Seed a fresh database, prepare the queries (with the matvec floor), run the worker, clean up."""
    with tempfile.TemporaryDirectory() as tmpdir:
        url, admin_url = fresh_database(kind, pg_url, Path(tmpdir))
        try:
            vectors, ids, spec, seed_s = seed(url, n)
            spec["queries"], floor, rejected = make_queries(vectors, ids, count, np.random.default_rng(9))
            del vectors
            spec_path = Path(tmpdir) / "spec.json"
            spec_path.write_text(json.dumps(spec))
            done = subprocess.run(
                [sys.executable, __file__, "--worker", str(spec_path)],
                check=True,
                capture_output=True,
                text=True,
                env=os.environ | {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
            )
            out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        finally:
            if admin_url is not None:
                drop_database(url, admin_url)
    return out | {
        "db": kind,
        "n": n,
        "seed_s": seed_s,
        "floor_matvec_median_s": statistics.median(floor),
        "unrelated_redrawn": rejected,
    }


def report(r: dict[str, Any]) -> None:
    """Print one run (wall time, and CPU time of the one core where the machine is shared)."""
    ms, tag = 1000.0, f"[{r['db']} {r['n']:,}]"
    print(f"{tag} written (pensioners + encrypted templates) in {r['seed_s']:.1f} s")
    print(
        f"{tag} first refresh (load)    {r['load_s']:7.2f} s wall, {r['load_cpu_s']:.2f} s CPU; floors: SELECT "
        f"{r['floor_select_s']:.2f} s ({r['floor_select_cpu_s']:.2f} CPU), SELECT + AES-GCM "
        f"{r['floor_decrypt_s']:.2f} s ({r['floor_decrypt_cpu_s']:.2f} CPU)"
    )
    print(
        f"{tag} worker RSS              {r['rss_before_mb']:5.0f} MB before, {r['rss_after_mb']:.0f} MB after, "
        f"peak {r['rss_peak_mb']:.0f} MB (after the searches {r['rss_peak_after_searches_mb']:.0f} MB)"
    )
    print(
        f"{tag} find_enrolled_elsewhere median {r['search_median_s'] * ms:.1f} ms wall "
        f"({r['search_cpu_median_s'] * ms:.1f} CPU), max {r['search_max_s'] * ms:.1f} ms "
        f"({r['search_cpu_max_s'] * ms:.1f} CPU) over {r['queries']}; copies {r['copy_median_s'] * ms:.1f} ms, "
        f"unrelated {r['unrelated_median_s'] * ms:.1f} ms; float32 matvec + argmin {r['floor_matvec_median_s'] * ms:.1f} ms"
    )
    print(
        f"{tag} top-up of {TOP_UP:,}: {r['top_up_s'] * ms:.1f} ms ({r['top_up_cpu_s'] * ms:.1f} CPU; index "
        f"{r['top_up_size']:,} rows); next refresh, re-reading them unsettled, {r['refresh_unsettled_s'] * ms:.1f} ms; "
        f"a search after {r['search_after_top_up_s'] * ms:.1f} ms"
    )
    print(f"{tag} random 'unrelated' vectors redrawn because one lay within the threshold: {r['unrelated_redrawn']}")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=10, help="perturbed copies; as many unrelated vectors")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    result = run(args.db, args.n, args.pg_url, args.queries)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)


if __name__ == "__main__":
    main()
