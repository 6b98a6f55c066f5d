"""What a supervisor's request is about: a season, and a region inside their jurisdiction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from certification import seasons
from core.settings import Settings
from models import Region, Season
from registry import regions as region_service
from registry.errors import RegionNotFound
from risk.errors import NoCurrentSeason


def resolve_season(*, session: Session, settings: Settings, year: int | None, now: datetime) -> Season:
    """The requested season, or the current one; NotFound when there is none."""
    if year is not None:
        return seasons.get_season(session=session, year=year)
    season = seasons.current_season(session=session, today=seasons.local_date(now, settings.timezone))
    if season is None:
        raise NoCurrentSeason()
    return season


def scoped_region(*, session: Session, staff_region: Region, code: str | None) -> Region:
    """The requested region if it lies within the staff member's jurisdiction, else NotFound."""
    if not code:
        return staff_region
    region = region_service.get_region(session=session, code=code)
    if not region_service.region_within(session=session, inner_code=region.code, outer=staff_region):
        raise RegionNotFound()
    return region
