"""Supervisors read a pensioner's kept evidence and face-verification results (each read audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from core.deps import FaceHistoryStaff, RowId, SessionDep, SettingsDep, SupervisorStaff
from faces import evidence as evidence_service
from faces.schemas import EvidenceOut, VerificationOut
from models.enums import StaffRole
from registry.deps import PensionerInCity, PensionerInScope, ensure_in_scope

router = APIRouter(prefix="/pensioners/{pensioner_id}", tags=["evidence"])


@router.get("/evidence", response_model=list[EvidenceOut])
def list_evidence(_staff: SupervisorStaff, pensioner: PensionerInScope, session: SessionDep) -> list[EvidenceOut]:
    """Evidence still kept for the pensioner (until its purge date)."""
    rows = evidence_service.list_evidence(session=session, pensioner_id=pensioner.id)
    return [EvidenceOut.model_validate(r, from_attributes=True) for r in rows]


@router.get("/evidence/{evidence_id}", response_class=Response)
def download_evidence(
    evidence_id: RowId, staff: SupervisorStaff, pensioner: PensionerInScope, session: SessionDep, settings: SettingsDep
) -> Response:
    """The decrypted evidence (form scan or visit photo); the read is audited."""
    evidence, data = evidence_service.read_evidence(
        session=session, settings=settings, pensioner_id=pensioner.id, evidence_id=evidence_id, staff_id=staff.id
    )
    return Response(
        data,
        media_type=evidence.content_type,
        headers={"Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="evidence-{evidence.id}"'},
    )


@router.get("/face-verifications", response_model=list[VerificationOut])
def list_face_verifications(
    staff: FaceHistoryStaff,
    pensioner: PensionerInCity,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[VerificationOut]:
    """The pensioner's latest face-verification results (a counter clerk: the checks they made); audited."""
    clerk = staff.role == StaffRole.COUNTER.value
    if not clerk:
        ensure_in_scope(session=session, staff=staff, pensioner=pensioner)
    rows = evidence_service.face_verifications(
        session=session, pensioner_id=pensioner.id, staff_id=staff.id, limit=limit, made_by=staff.id if clerk else None
    )
    return [VerificationOut.model_validate(r, from_attributes=True) for r in rows]
