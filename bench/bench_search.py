"""1:N enrolment search at scale: build the int8 index from AES-GCM templates, then search it (one core).

Prints, for N enrolled templates (default 1,000,000): building the index from encrypted blobs beside the raw
decrypt loop (the floor), and one search beside a raw float32 matrix-vector product over the same rows.
The vectors are random unit vectors: this measures speed and memory only, never matching accuracy.
In memory only (blobs in a list); bench/bench_search_db.py measures the path through a migrated database.

    OMP_NUM_THREADS=1 uv run python bench/bench_search.py [--n 1000000]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from verification.search import VectorIndex

DIM = 128


def _encrypted(n: int, rng: np.random.Generator) -> tuple[AESGCM, list[bytes], np.ndarray]:
    """N random unit vectors, each encrypted as the service stores a template (nonce + ciphertext, aad)."""
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    nonce = os.urandom(12)  # one nonce is fine for a benchmark; the service draws one per template
    blobs = [nonce + aead.encrypt(nonce, v.tobytes(), f"face_template:{i}".encode()) for i, v in enumerate(vectors)]
    return aead, blobs, vectors


def _build(aead: AESGCM, blobs: list[bytes], chunk: int = 50_000) -> tuple[VectorIndex, float, float]:
    """Index from blobs (decrypt in chunks, add); also the raw decrypt loop alone as the floor."""
    start = time.perf_counter()
    for i, b in enumerate(blobs):
        aead.decrypt(b[:12], b[12:], f"face_template:{i}".encode())
    floor = time.perf_counter() - start
    index = VectorIndex(DIM, capacity=len(blobs))
    start = time.perf_counter()
    for lo in range(0, len(blobs), chunk):
        part = blobs[lo : lo + chunk]
        raw = b"".join(aead.decrypt(b[:12], b[12:], f"face_template:{lo + j}".encode()) for j, b in enumerate(part))
        ids = np.arange(lo, lo + len(part))
        index.add(ids, ids, np.frombuffer(raw, dtype=np.float32).reshape(-1, DIM))
    return index, time.perf_counter() - start, floor


def main() -> None:
    """Run and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    aead, blobs, vectors = _encrypted(args.n, rng)
    index, build_s, decrypt_s = _build(aead, blobs)
    del blobs
    queries = [vectors[rng.integers(args.n)] + 0.05 * rng.standard_normal(DIM).astype(np.float32) for _ in range(20)]
    ours, floor = [], []
    for q in queries[: args.queries]:
        t = time.perf_counter()
        hits = index.search(q, max_distance=0.45)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        np.argmin(1.0 - vectors @ q)
        floor.append(time.perf_counter() - t)
        assert hits, "the perturbed copy of an enrolled vector must be found"
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"templates                      {args.n:>12,}")
    print(
        f"index memory                   {index.nbytes / 2**20:>10.1f} MB (int8); float32 rows would be "
        f"{vectors.nbytes / 2**20:.1f} MB"
    )
    print(f"build from encrypted blobs     {build_s:>10.2f} s   (raw AES-GCM decrypt loop alone {decrypt_s:.2f} s)")
    print(
        f"search, median of {len(ours):>2}           {statistics.median(ours) * 1000:>8.1f} ms  "
        f"(raw float32 matrix-vector + argmin {statistics.median(floor) * 1000:.1f} ms); max {max(ours) * 1000:.1f} ms"
    )
    print(f"peak RSS                       {rss_mb:>10.0f} MB")


if __name__ == "__main__":
    main()
