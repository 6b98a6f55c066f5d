"""Where a pensioner lives: the region chain, address names and the address's coordinates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Pensioner, Region


def region_chain(p: Any) -> list[str]:
    """Residence community first, then town, district, city (most specific first)."""
    return [c for c in (p.region_code, p.town_code, p.district_code, p.city_code) if c]


def address_names(*, session: Session, pensioners: list[Pensioner]) -> dict[int, str]:
    """Each pensioner's address as the chain of region names, city first (one query)."""
    codes = {c for p in pensioners for c in region_chain(p)}
    names = {
        code: name for code, name in session.execute(select(Region.code, Region.name).where(Region.code.in_(codes)))
    }
    return {p.id: "".join(names[c] for c in reversed(region_chain(p)) if c in names) for p in pensioners}


def region_name(*, session: Session, code: str | None) -> str | None:
    """A region's name, if known."""
    return session.scalar(select(Region.name).where(Region.code == code)) if code else None


def address_point(*, session: Session, region_code: str) -> tuple[float, float] | None:
    """Coordinates of the pensioner's community, or of its nearest ancestor that has them."""
    code: str | None = region_code
    for _ in range(6):
        if code is None:
            return None
        region = session.get(Region, code)
        if region is None:
            return None
        if region.latitude is not None and region.longitude is not None:
            return region.latitude, region.longitude
        code = region.parent_code
    return None
