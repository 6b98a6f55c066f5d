"""What every domain's sweeps share: the context a sweep runs in and its description."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.settings import Settings


@dataclass
class SweepContext:
    """What a sweep gets: an open session (committed by the runner), settings and the instant."""

    session: Session
    settings: Settings
    now: datetime


SweepFn = Callable[[SweepContext], dict[str, int]]


@dataclass(frozen=True)
class Sweep:
    """One sweep; `every_minutes` None means daily at settings.sweep_hour:sweep_minute plus `after_minutes`."""

    name: str
    fn: SweepFn
    every_minutes: int | None = None
    # Daily sweeps start together in the scheduler; one that reads another's result starts this much later.
    after_minutes: int = 0
