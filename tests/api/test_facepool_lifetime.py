"""Face processes die with the server that started them, and stop at once on SIGTERM (issue 15 item 9)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads process states from /proc")

# A stand-in for `pension-cert serve`: installs a SIGTERM handler as uvicorn does, starts a pool of two face
# processes from a short-lived thread (as a request thread would), prints their pids, then waits.
PARENT = textwrap.dedent(
    """
    import json, multiprocessing, os, signal, sys, threading, time
    from faces import pool as facepool

    signal.signal(signal.SIGTERM, lambda *_: None)  # uvicorn's handler: only sets a flag in the server
    facepool.configure(2, queue_per_worker=4)
    starter = threading.Thread(target=lambda: facepool.run(os.getpid))
    starter.start()
    starter.join()
    time.sleep(1.0)  # the thread that started the pool is gone: the processes must not die with it
    pids = sorted(p.pid for p in multiprocessing.active_children())
    print(json.dumps({"pids": pids, "alive_after_thread_exit": facepool.run(os.getpid) in pids}), flush=True)
    time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def _gone_within(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [p for p in pids if _alive(p)]
        if not alive:
            return []
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen[str], list[int], bool]]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-c", PARENT], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, "the parent process did not start its pool"
    info = json.loads(line)
    pids = info["pids"]
    assert len(pids) == 2
    try:
        yield proc, pids, info["alive_after_thread_exit"]
    finally:
        for pid in [proc.pid, *pids]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(10)


def test_face_processes_exit_when_the_server_is_killed(server: tuple[subprocess.Popen[str], list[int], bool]) -> None:
    proc, pids, alive_after_thread_exit = server
    assert alive_after_thread_exit  # outliving the thread that started them, not the process
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert _gone_within(pids, 5) == []


def test_a_face_process_stops_at_once_on_sigterm(server: tuple[subprocess.Popen[str], list[int], bool]) -> None:
    _, pids, _ = server
    os.kill(pids[0], signal.SIGTERM)
    assert _gone_within(pids[:1], 2) == []
