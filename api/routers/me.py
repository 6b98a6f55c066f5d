"""The pensioner's own app endpoints."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentPensioner
from api.schemas import MeOut

router = APIRouter(prefix="/me", tags=["pensioner app"])


@router.get("", response_model=MeOut)
def me(pensioner: CurrentPensioner) -> MeOut:
    """Who is logged in."""
    nid = pensioner.national_id
    return MeOut(
        id=pensioner.id,
        name=pensioner.name,
        national_id_masked=nid[:6] + "********" + nid[-4:],
        pension_status=pensioner.pension_status,
        status_since=pensioner.status_since,
    )
