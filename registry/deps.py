"""Loaders that keep jurisdiction checks out of routes: a pensioner outside the caller's scope is a 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from core.deps import CurrentStaff, RowId, SessionDep
from models import Pensioner, Region
from registry import regions as region_service
from registry.errors import PensionerNotFound


def staff_region(session: SessionDep, staff: CurrentStaff) -> Region:
    """The staff member's jurisdiction region."""
    return region_service.get_region(session=session, code=staff.region_code)


def pensioner_in_scope(pensioner_id: RowId, session: SessionDep, staff: CurrentStaff) -> Pensioner:
    """Load a pensioner the staff member may see: 404 otherwise, so IDs cannot be probed."""
    region = region_service.get_region(session=session, code=staff.region_code)
    pensioner = session.get(Pensioner, pensioner_id)
    if pensioner is None or not _in_region(pensioner, region):
        raise PensionerNotFound()
    return pensioner


def ensure_in_scope(*, session: SessionDep, staff: CurrentStaff, pensioner: Pensioner) -> None:
    """404 unless the pensioner lives inside the staff member's jurisdiction."""
    if not _in_region(pensioner, region_service.get_region(session=session, code=staff.region_code)):
        raise PensionerNotFound()


def _in_region(p: Pensioner, region: Region) -> bool:
    return region.code in {p.region_code, p.town_code, p.district_code, p.city_code}


PensionerInScope = Annotated[Pensioner, Depends(pensioner_in_scope)]


def city_of(region_code: str) -> str:
    """The city a division code belongs to (first four digits, by the national coding rule)."""
    return region_code[:4] + "00000000"


def pensioner_in_city(pensioner_id: RowId, session: SessionDep, staff: CurrentStaff) -> Pensioner:
    """Any office or field worker in the city may serve any of its pensioners, whatever their district."""
    pensioner = session.get(Pensioner, pensioner_id)
    if pensioner is None or pensioner.city_code != city_of(staff.region_code):
        raise PensionerNotFound()
    return pensioner


PensionerInCity = Annotated[Pensioner, Depends(pensioner_in_city)]
