"""Biometric evidence: encrypted storage with a retention date, and staff reads that each leave an audit event."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.crypto import KeyRing, evidence_aad
from core.settings import Settings
from faces.errors import EvidenceNotFound
from models import Evidence, VerificationAttempt


def list_evidence(*, session: Session, pensioner_id: int) -> list[Evidence]:
    """The pensioner's evidence still kept (metadata only; the bytes stay encrypted)."""
    return list(
        session.scalars(select(Evidence).where(Evidence.pensioner_id == pensioner_id).order_by(Evidence.id)).all()
    )


def read_evidence(
    *, session: Session, settings: Settings, pensioner_id: int, evidence_id: int, staff_id: int
) -> tuple[Evidence, bytes]:
    """Decrypt one piece of evidence for a staff member, recording the read."""
    evidence = session.get(Evidence, evidence_id)
    if evidence is None or evidence.pensioner_id != pensioner_id:
        raise EvidenceNotFound()
    data = decrypt_evidence(settings=settings, evidence=evidence)
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=staff_id,
        action="evidence.read",
        target_type="pensioner",
        target_id=pensioner_id,
        detail={"evidence_id": evidence.id, "kind": evidence.kind},
    )
    return evidence, data


def face_verifications(
    *, session: Session, pensioner_id: int, staff_id: int, limit: int, made_by: int | None = None
) -> list[VerificationAttempt]:
    """The pensioner's latest face-verification results (only those `made_by` a staff member if given); audited."""
    stmt = select(VerificationAttempt).where(VerificationAttempt.pensioner_id == pensioner_id)
    if made_by is not None:
        stmt = stmt.where(VerificationAttempt.staff_id == made_by)
    rows = list(
        session.scalars(stmt.order_by(VerificationAttempt.at.desc(), VerificationAttempt.id.desc()).limit(limit)).all()
    )
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=staff_id,
        action="face_verifications.read",
        target_type="pensioner",
        target_id=pensioner_id,
        detail={"attempts": [a.id for a in rows]},
    )
    return rows


def store_evidence(
    *, session: Session, settings: Settings, pensioner_id: int, kind: str, data: bytes, content_type: str, now: datetime
) -> Evidence:
    """Encrypt and keep a piece of evidence until the retention period ends."""
    ring = KeyRing.from_settings(settings)
    blob, key_id = ring.encrypt(data, aad=evidence_aad(pensioner_id, kind))
    evidence = Evidence(
        pensioner_id=pensioner_id,
        kind=kind,
        content_type=content_type,
        data=blob,
        key_id=key_id,
        created_at=now,
        purge_after=now + timedelta(days=settings.evidence_retention_days),
    )
    session.add(evidence)
    session.flush()
    return evidence


def decrypt_evidence(*, settings: Settings, evidence: Evidence) -> bytes:
    """Decrypt a piece of evidence."""
    ring = KeyRing.from_settings(settings)
    return ring.decrypt(evidence.data, key_id=evidence.key_id, aad=evidence_aad(evidence.pensioner_id, evidence.kind))
