"""CPU-bound face work in a process pool sized to the cores, never on the event loop."""

from __future__ import annotations

import ctypes
import logging
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from core.errors import ServiceBusy
from verification.config import VerificationConfig
from verification.errors import VerificationError
from verification.face import FaceAnalysis, analyse_face
from verification.image import decode_image
from verification.liveness import LivenessConfig
from verification.models import sface_model
from verification.pad import photo_evidence, presentation_detector
from verification.photo import check_photo
from verification.quality import QualityReport
from verification.tracking import track_detector

T = TypeVar("T")
log = logging.getLogger(__name__)
_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_max_in_flight = 0  # 0: no admission limit
_in_flight = 0
_lock = threading.Lock()
_starter: ThreadPoolExecutor | None = None
JOB_SECONDS = 0.7  # one liveness answer on one core (bench/bench_load.py); sets Retry-After
WATCHDOG_SECONDS = 0.5  # how often a face process looks whether its parent is still there
_PR_SET_PDEATHSIG = 1


def configure(workers: int, *, queue_per_worker: int = 0) -> None:
    """workers < 0: run inline (tests, CLI); 0: one process per core; n: n processes.

    queue_per_worker > 0 admits at most that many jobs per process at once; more raise ServiceBusy.
    """
    global _pool, _pool_size, _max_in_flight
    size = (os.cpu_count() or 1) if workers == 0 else workers
    if _pool is not None and size != _pool_size:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
    _pool_size = size
    _max_in_flight = size * queue_per_worker if size > 0 and queue_per_worker > 0 else 0


def shutdown() -> None:
    """Stop the workers."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


def _warm_process() -> int:
    """Run the detector and the encoder once, so the first real job does not pay their start-up."""
    from verification.face import fr

    fr.face_detector(np.zeros((120, 120, 3), dtype=np.uint8), 0)
    fr.face_encoder.compute_face_descriptor(np.zeros((150, 150, 3), dtype=np.uint8))
    load_checked_models()
    time.sleep(0.3)  # hold this process so the next warm-up task goes to another one
    return os.getpid()


def load_checked_models() -> None:
    """Load SFace, YuNet (also the liveness track's) and both MiniFASNet files (sha256-checked): ModelFileError if
    one is missing or altered."""
    sface_model()
    track_detector(LivenessConfig().track_side)
    presentation_detector()


def _parent_death_signal() -> bool:
    """Linux: SIGKILL this process when the thread that forked it ends (prctl PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    """Portable fallback: exit as soon as this process has been handed to another parent."""
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(WATCHDOG_SECONDS)


def _init_process(server_pid: int, death_signal: bool) -> None:
    """Start-up of a face process: stop at once on SIGTERM, never outlive the server."""
    # A handler inherited from the server (uvicorn only sets a flag) would swallow SIGTERM here.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the server shuts the pool down
    if death_signal:
        _parent_death_signal()
    parent = os.getppid()
    try:
        os.kill(server_pid, 0)  # the server died before the death signal was armed
    except ProcessLookupError:
        os._exit(0)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="face-parent-watchdog").start()


def _start_processes(pool: ProcessPoolExecutor) -> None:
    pool.submit(int).result()  # with fork, every process is forked by the thread that submits first


def _current_pool() -> ProcessPoolExecutor:
    """The pool, started on first use (the caller holds _lock).

    The processes are forked from one long-lived thread: the death signal fires when the forking *thread*
    ends, and request threads come and go.
    """
    global _pool, _starter
    if _pool is None:
        # fork: forked by the starter thread below; forkserver: by the fork server. spawn: the watchdog alone.
        death_signal = multiprocessing.get_start_method() in ("fork", "forkserver")
        pool = ProcessPoolExecutor(
            max_workers=_pool_size, initializer=_init_process, initargs=(os.getpid(), death_signal)
        )
        if _starter is None:
            _starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="face-pool-start")
        _starter.submit(_start_processes, pool).result()
        _pool = pool
    return _pool


def warm() -> int:
    """Check the model files, start every pool process and warm it; returns how many processes answered (0 inline)."""
    load_checked_models()
    if _pool_size < 0:
        return 0
    with _lock:
        pool = _current_pool()
    futures = [pool.submit(_warm_process) for _ in range(_pool_size)]
    return len({f.result() for f in futures})


def in_flight() -> int:
    """Jobs admitted and not yet finished in this process's pool."""
    return _in_flight


def run(fn: Callable[..., T], *args: Any) -> T:
    """Run fn(*args) in the pool (or inline when the pool is disabled); ServiceBusy when the queue is full."""
    global _pool, _in_flight
    if _pool_size < 0:
        return fn(*args)
    with _lock:
        if _max_in_flight and _in_flight >= _max_in_flight:
            raise ServiceBusy(retry_after_seconds=max(1, math.ceil(_in_flight * JOB_SECONDS / _pool_size)))
        _in_flight += 1
        pool = _current_pool()
    try:
        return pool.submit(fn, *args).result()
    except BrokenProcessPool:
        # A face process died (killed, out of memory, a crash in native code): this pool refuses all work
        # from now on, so drop it; the next job starts a fresh one. This request may be sent again.
        log.error("face process pool broken; starting a new one for the next job")
        with _lock:
            if _pool is pool:
                _pool = None
        pool.shutdown(wait=False, cancel_futures=True)
        raise ServiceBusy(retry_after_seconds=2)
    finally:
        with _lock:
            _in_flight -= 1


@dataclass(frozen=True)
class PhotoAnalysis:
    """One photo seen by the models asked for: quality gates, each model's vector, P(real), dlib's analysis if run."""

    quality: QualityReport
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    pad_real: float | None = None
    face: FaceAnalysis | None = None  # dlib's analysis; None on the SFace-only check


def analyse_photo(
    data: bytes,
    config: VerificationConfig,
    num_jitters: int | None,
    models: tuple[str, ...] = ("dlib",),
    pad: bool = False,
) -> PhotoAnalysis | tuple[str, str]:
    """Decode and analyse one photo; verification errors come back as (code, detail) so they pickle.

    Without "dlib" in models (a pensioner SFace decides for) dlib does not run: quality gates on YuNet's box and
    5 points (verification.photo.check_photo). With it: dlib's analysis and gates, then YuNet + SFace and PAD.
    """
    if "dlib" not in models:
        return _analyse_sface_only(data, config, pad)
    try:
        rgb = decode_image(data, config=config)
        face = analyse_face(rgb, config=config, num_jitters=num_jitters)
    except VerificationError as exc:
        return (exc.code, exc.detail)
    vectors: dict[str, np.ndarray] = {"dlib": face.encoding}
    sface, pad_real = photo_evidence(rgb, face.box, sface="sface" in models, pad=pad)
    if sface is not None:
        vectors["sface"] = sface
    return PhotoAnalysis(quality=face.quality, vectors=vectors, pad_real=pad_real, face=face)


def _analyse_sface_only(data: bytes, config: VerificationConfig, pad: bool) -> PhotoAnalysis | tuple[str, str]:
    """The SFace-only photo check: no dlib detector, landmarks or descriptor."""
    try:
        checked = check_photo(data, config=config, pad=pad)
    except VerificationError as exc:
        return (exc.code, exc.detail)
    return PhotoAnalysis(quality=checked.quality, vectors={"sface": checked.vector}, pad_real=checked.pad_real)
