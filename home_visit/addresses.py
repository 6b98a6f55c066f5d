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


def target_point(*, session: Session, pensioner: Pensioner) -> tuple[float, float, str] | None:
    """Where the visit should be: the house's coordinates when known, else the community's (lat, lon, source)."""
    if pensioner.address_latitude is not None and pensioner.address_longitude is not None:
        return pensioner.address_latitude, pensioner.address_longitude, "house"
    point = address_point(session=session, region_code=pensioner.region_code)
    return (point[0], point[1], "community") if point else None


def full_address(*, session: Session, pensioner: Pensioner) -> str:
    """The region-name chain followed by street, house number and (in brackets) the landmark."""
    base = address_names(session=session, pensioners=[pensioner])[pensioner.id]
    street = "".join(x for x in (pensioner.address_street, pensioner.address_house) if x)
    landmark = f"（{pensioner.address_landmark}）" if pensioner.address_landmark else ""
    return base + street + landmark
