"""CPU-bound face work in a process pool sized to the cores, never on the event loop."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from verification.config import VerificationConfig
from verification.errors import VerificationError
from verification.face import FaceAnalysis, analyse_face
from verification.image import decode_image

T = TypeVar("T")
_pool: ProcessPoolExecutor | None = None
_pool_size = 0


def configure(workers: int) -> None:
    """workers < 0: run inline (tests, CLI); 0: one process per core; n: n processes."""
    global _pool, _pool_size
    size = (os.cpu_count() or 1) if workers == 0 else workers
    if _pool is not None and size != _pool_size:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
    _pool_size = size


def shutdown() -> None:
    """Stop the workers."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


def run(fn: Callable[..., T], *args: Any) -> T:
    """Run fn(*args) in the pool (or inline when the pool is disabled)."""
    global _pool
    if _pool_size < 0:
        return fn(*args)
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=_pool_size)
    return _pool.submit(fn, *args).result()


def analyse_photo(data: bytes, config: VerificationConfig, num_jitters: int | None) -> FaceAnalysis | tuple[str, str]:
    """Decode and analyse one photo; verification errors come back as (code, detail) so they pickle."""
    try:
        rgb = decode_image(data, config=config)
        return analyse_face(rgb, config=config, num_jitters=num_jitters)
    except VerificationError as exc:
        return (exc.code, exc.detail)
