"""HTTP routes of the messaging domain: the SMS provider's delivery reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from core.clock import NowDep
from core.deps import SessionDep, SettingsDep
from messaging import receipts
from messaging.schemas import DeliveryReportsIn, DeliveryReportsOut, ReportResultOut

router = APIRouter(prefix="/messaging", tags=["messaging"])


async def _provider(request: Request, settings: SettingsDep) -> None:
    """The caller is the SMS provider: bearer token or body signature with the shared receipt secret."""
    receipts.verify_caller(
        secret=settings.sms_receipt_secret,
        authorization=request.headers.get("Authorization"),
        signature=request.headers.get(receipts.SIGNATURE_HEADER),
        body=await request.body(),
    )


ProviderCaller = Annotated[None, Depends(_provider)]


@router.post("/delivery-reports", response_model=DeliveryReportsOut)
def delivery_reports(
    body: DeliveryReportsIn, _caller: ProviderCaller, session: SessionDep, settings: SettingsDep, now: NowDep
) -> DeliveryReportsOut:
    """The provider's delivery reports: each message marked delivered or failed; a repeated report changes nothing."""
    results = receipts.apply_reports(
        session=session,
        settings=settings,
        reports=[
            receipts.DeliveryReport(message_id=r.message_id, status=r.status, at=r.at, error_code=r.error_code)
            for r in body.reports
        ],
        now=now,
    )
    return DeliveryReportsOut(
        updated=sum(r.result == "updated" for r in results),
        unchanged=sum(r.result == "unchanged" for r in results),
        rejected=sum(r.result == "rejected" for r in results),
        family_copies_queued=sum(r.family_copy_queued for r in results),
        items=[ReportResultOut(**vars(r)) for r in results],
    )
