"""Arranging home-visit scenarios: a season, field staff, tasks, multipart visits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certification import seasons
from core.settings import Settings
from home_visit import help_requests
from models import HomeVisitTask, Pensioner

SHANGHAI = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
IN_CITY = {"latitude": "37.421", "longitude": "122.101"}  # at the test community in Huancui, Weihai


def at(year: int, month: int, day: int, hour: int = 9) -> datetime:
    """An instant in Beijing local time."""
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


def season(session: Session, settings: Settings, year: int = 2026) -> None:
    """The default season: 1 April – 30 June, 15 grace days."""
    seasons.create_season(session=session, settings=settings, year=year)
    session.flush()


def open_task(session: Session, settings: Settings, p: Pensioner, now: datetime) -> HomeVisitTask:
    """A help-request task for p (created and assigned like one from the app)."""
    return help_requests.request_visit(session=session, settings=settings, pensioner=p, now=now, source="app")


def count(session: Session, model: Any, *where: Any) -> int:
    """Rows of a model matching conditions (committing so the next request sees fresh data)."""
    session.expire_all()
    n = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    session.commit()
    return n


def birth_years_ago(today: date, years: int) -> date:
    """A birth date making someone `years` old today."""
    return seasons.add_months(today, -12 * years)
