"""Admission control of the face process pool: a full queue refuses at once instead of queueing."""

from __future__ import annotations

import os
import threading
import time

import pytest

from core.errors import ServiceBusy
from faces import pool as facepool


def test_full_queue_raises_busy_and_frees_its_slot_afterwards() -> None:
    facepool.configure(1, queue_per_worker=1)
    try:
        started = threading.Event()

        def slow() -> None:
            started.set()
            facepool.run(time.sleep, 1.5)

        worker = threading.Thread(target=slow)
        worker.start()
        started.wait(5)
        deadline = time.monotonic() + 5
        while facepool.in_flight() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert facepool.in_flight() == 1
        with pytest.raises(ServiceBusy) as info:
            facepool.run(abs, -3)
        assert info.value.status_code == 503 and info.value.headers == {"Retry-After": "1"}
        worker.join(10)
        assert facepool.in_flight() == 0
        assert facepool.run(abs, -3) == 3  # admitted again once the slot is free
    finally:
        facepool.shutdown()
        facepool.configure(-1)


def test_a_dead_face_process_answers_busy_and_the_next_job_gets_a_fresh_pool() -> None:
    facepool.configure(1, queue_per_worker=4)
    try:
        with pytest.raises(ServiceBusy):
            facepool.run(os._exit, 3)  # the face process dies mid-job, as on a native crash or the OOM killer
        assert facepool.in_flight() == 0
        assert facepool.run(abs, -5) == 5
    finally:
        facepool.shutdown()
        facepool.configure(-1)
