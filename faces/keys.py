"""Key rotation: re-encrypt face templates, evidence and replay signatures under the current key, in batches."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.crypto import KeyRing, evidence_aad, replay_signature_aad, template_aad
from core.settings import Settings
from models import Evidence, FaceTemplate, ReplaySignature
from models.engine import session_scope

PLAIN = "plain"  # the column default: an unencrypted 128 x float64 encoding (never written by this service)
_PLAIN_BYTES = 128 * 8

Encrypted = FaceTemplate | Evidence | ReplaySignature
EncryptedModel = type[FaceTemplate] | type[Evidence] | type[ReplaySignature]
_BLOB_COLUMN = {FaceTemplate: "encoding", Evidence: "data", ReplaySignature: "signatures"}


@dataclass
class TableCounts:
    """What rotation did to one table."""

    rotated: int = 0
    already_current: int = 0
    missing_key: int = 0
    failed: int = 0
    missing_key_ids: list[str] = field(default_factory=list)


@dataclass
class RotationResult:
    """Counts per table and the key ids still in use afterwards."""

    current_key_id: str
    templates: TableCounts
    evidence: TableCounts
    replay_signatures: TableCounts = field(default_factory=TableCounts)
    batches: int = 0
    key_ids_in_use: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every row is under the current key: older keys can be removed from the settings."""
        return set(self.key_ids_in_use) <= {self.current_key_id}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return asdict(self) | {"complete": self.complete}


def _reencrypt(ring: KeyRing, blob: bytes, key_id: str, aad: bytes) -> bytes:
    if key_id == PLAIN and not ring.has(PLAIN):
        if len(blob) != _PLAIN_BYTES:
            raise ValueError("not a plain encoding")
        plain = blob
    else:
        plain = ring.decrypt(blob, key_id=key_id, aad=aad)
    new_blob, _ = ring.encrypt(plain, aad=aad)
    return new_blob


def _aad(row: Encrypted) -> bytes:
    """The AAD each table binds its blobs with (the same rules as when they were written)."""
    if isinstance(row, FaceTemplate):
        return template_aad(row.pensioner_id)
    if isinstance(row, Evidence):
        return evidence_aad(row.pensioner_id, row.kind)
    return replay_signature_aad(row.pensioner_id, row.challenge_id)


def _rotate_table(
    *,
    factory: sessionmaker[Session],
    ring: KeyRing,
    model: EncryptedModel,
    batch_size: int,
    counts: TableCounts,
    dry_run: bool,
) -> int:
    """Walk rows not on the current key by id, one transaction per batch; returns the number of batches."""
    batches, last_id = 0, 0
    while True:
        with session_scope(factory) as session:
            rows = cast(
                list[Encrypted],
                session.scalars(
                    select(model)
                    .where(model.key_id != ring.current_id, model.id > last_id)
                    .order_by(model.id)
                    .limit(batch_size)
                ).all(),
            )
            if not rows:
                return batches
            batches += 1
            for row in rows:
                last_id = row.id
                aad = _aad(row)
                old_key = row.key_id
                if old_key != PLAIN and not ring.has(old_key):
                    counts.missing_key += 1
                    if old_key not in counts.missing_key_ids:
                        counts.missing_key_ids.append(old_key)
                    continue
                column = _BLOB_COLUMN[model]
                blob = getattr(row, column)
                try:
                    new_blob = _reencrypt(ring, blob, old_key, aad)
                except Exception:  # tampered, or bound to another owner: leave it, report it
                    counts.failed += 1
                    continue
                if dry_run:
                    counts.rotated += 1
                    continue
                # Conditional on the old key id: a row rotated or replaced meanwhile is left alone.
                result = session.execute(
                    update(model)
                    .where(model.id == row.id, model.key_id == old_key)
                    .values({column: new_blob, "key_id": ring.current_id})
                    .execution_options(synchronize_session=False)
                )
                if getattr(result, "rowcount", 0):
                    counts.rotated += 1
            if dry_run:
                session.rollback()


def key_ids_in_use(*, session: Session) -> dict[str, int]:
    """Rows per key id across templates, evidence and replay signatures."""
    usage: dict[str, int] = {}
    for model in (FaceTemplate, Evidence, ReplaySignature):
        for kid, n in session.execute(select(model.key_id, func.count()).group_by(model.key_id)).all():
            usage[kid] = usage.get(kid, 0) + int(n)
    return usage


def rotate_keys(
    *, session_factory: sessionmaker[Session], settings: Settings, batch_size: int = 500, dry_run: bool = False
) -> RotationResult:
    """Re-encrypt every template, evidence and replay-signature row not on the current key; idempotent, resumable."""
    ring = KeyRing.from_settings(settings)
    result = RotationResult(current_key_id=ring.current_id, templates=TableCounts(), evidence=TableCounts())
    with session_scope(session_factory) as session:
        before = key_ids_in_use(session=session)
    result.templates.already_current = _count_current(session_factory, FaceTemplate, ring.current_id)
    result.evidence.already_current = _count_current(session_factory, Evidence, ring.current_id)
    result.replay_signatures.already_current = _count_current(session_factory, ReplaySignature, ring.current_id)
    tables: list[tuple[EncryptedModel, TableCounts]] = [
        (FaceTemplate, result.templates),
        (Evidence, result.evidence),
        (ReplaySignature, result.replay_signatures),
    ]
    for model, counts in tables:
        result.batches += _rotate_table(
            factory=session_factory, ring=ring, model=model, batch_size=batch_size, counts=counts, dry_run=dry_run
        )
    with session_scope(session_factory) as session:
        result.key_ids_in_use = key_ids_in_use(session=session)
        if not dry_run and (result.templates.rotated or result.evidence.rotated or result.replay_signatures.rotated):
            audit.record(
                session=session,
                actor_type="system",
                actor_id=None,
                action="keys.rotated",
                target_type="system",
                target_id=None,
                detail={"before": before} | result.to_dict(),
            )
    return result


def _count_current(factory: sessionmaker[Session], model: EncryptedModel, kid: str) -> int:
    with session_scope(factory) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(model.key_id == kid)) or 0)
