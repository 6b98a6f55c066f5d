"""The current instant, injectable so tests and operators can fix the clock."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends

from models.base import utcnow


def get_now() -> datetime:
    """Now, in UTC (tests override this dependency)."""
    return utcnow()


NowDep = Annotated[datetime, Depends(get_now)]
