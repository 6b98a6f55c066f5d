"""The pensioner's certification receipt (page data and PDF) and the check staff make of one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from certification import receipts as receipt_service
from certification.schemas import ReceiptCheckOut, ReceiptOut
from core.clock import NowDep
from core.deps import CurrentPensioner, RowId, SessionDep, SettingsDep
from models import Pensioner

router = APIRouter(tags=["pensioner app"])


@router.get("/me/certification/receipt", response_model=ReceiptOut)
def my_receipt(
    request: Request, pensioner: CurrentPensioner, session: SessionDep, settings: SettingsDep, now: NowDep
) -> ReceiptOut:
    """The receipt of this season's certification (404 `no_receipt` before certifying)."""
    receipt = receipt_service.my_receipt(
        session=session, settings=settings, pensioner=pensioner, now=now, base_url=str(request.base_url)
    )
    return ReceiptOut(**receipt.__dict__)


@router.get(
    "/me/certification/receipt.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The receipt as one A5 PDF page"}},
)
def my_receipt_pdf(
    request: Request, pensioner: CurrentPensioner, session: SessionDep, settings: SettingsDep, now: NowDep
) -> Response:
    """The same receipt as a PDF (Chinese)."""
    receipt = receipt_service.my_receipt(
        session=session, settings=settings, pensioner=pensioner, now=now, base_url=str(request.base_url)
    )
    pdf = receipt_service.render_pdf(receipt, timezone=settings.timezone)
    name = f"receipt-{receipt.certification_id}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.get("/receipts/{certification_id}", response_model=ReceiptCheckOut, tags=["receipts"])
def check_receipt(
    certification_id: RowId,
    session: SessionDep,
    settings: SettingsDep,
    code: Annotated[str, Query(min_length=10, max_length=16, description="The receipt's verification code")],
) -> ReceiptCheckOut:
    """Check a receipt: valid when the code matches a certification that was not withdrawn (names masked)."""
    cert = receipt_service.check(session=session, settings=settings, certification_id=certification_id, code=code)
    if cert is None:
        return ReceiptCheckOut(valid=False)
    pensioner = session.get(Pensioner, cert.pensioner_id)
    assert pensioner is not None
    return ReceiptCheckOut(
        valid=cert.withdrawn_at is None,
        withdrawn=cert.withdrawn_at is not None,
        certification_id=cert.id,
        season_year=cert.season_year,
        certified_at=cert.certified_at,
        channel=cert.channel,
        name_masked=receipt_service.mask_name(pensioner.name),
        national_id_masked=receipt_service.mask_id(pensioner.national_id),
    )
