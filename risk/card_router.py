"""The pensioner card of the staff pages: counter clerks anywhere in the city, others within their jurisdiction."""

from __future__ import annotations

from fastapi import APIRouter

from core.clock import NowDep
from core.deps import OfficeStaff, SessionDep, SettingsDep
from messaging.gateways import available_channels
from models.enums import StaffRole
from registry.deps import PensionerInCity, ensure_in_scope
from risk import card as card_service
from risk.schemas import CardCheckOut, CardFaceOut, CardStatusOut, CardTaskOut, PensionerCardOut

router = APIRouter(prefix="/pensioners/{pensioner_id}", tags=["counter"])


def card_out(card: card_service.Card, channels: list[str]) -> PensionerCardOut:
    """The JSON shape of a card."""
    p, st, task = card.pensioner, card.status, card.task
    return PensionerCardOut(
        id=p.id,
        name=p.name,
        national_id=p.national_id,
        birth_date=p.birth_date,
        sex=p.sex,
        phone=p.phone,
        preferred_channel=p.preferred_channel,
        channels_available=channels,
        region_code=p.region_code,
        region_name=card.region_name,
        pension_status=p.pension_status,
        bedridden=p.bedridden,
        limited_mobility=p.limited_mobility,
        status=CardStatusOut(
            state=st.status.value,
            season_year=st.season_year,
            deadline=st.deadline,
            days_left=st.days_left,
            channel=st.channel,
            certified_at=st.certified_at,
            message=st.message_zh,
            message_en=st.message_en,
        ),
        face=CardFaceOut(**vars(card.face)),
        checks=[
            CardCheckOut(id=a.id, at=a.at, channel=a.channel, decision=a.decision, reasons=list(a.reasons or []))
            for a in card.checks
        ],
        task=None
        if task is None
        else CardTaskOut(
            id=task.id,
            status=task.status,
            reason=task.reason,
            due_date=task.due_date,
            assigned_staff_id=task.assigned_staff_id,
            assigned_to=card.task_staff,
        ),
    )


@router.get("/card", response_model=PensionerCardOut)
def pensioner_card(
    staff: OfficeStaff, pensioner: PensionerInCity, session: SessionDep, settings: SettingsDep, now: NowDep
) -> PensionerCardOut:
    """Status, season state (certified this season or days left), face enrolled and when, last checks, visit task."""
    if staff.role != StaffRole.COUNTER.value:
        ensure_in_scope(session=session, staff=staff, pensioner=pensioner)
    card = card_service.card(session=session, settings=settings, pensioner=pensioner, now=now)
    return card_out(card, available_channels(settings))
