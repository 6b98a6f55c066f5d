"""Biometric data at rest: key rotation, retention purge, deletion on death, audited staff reads."""

from __future__ import annotations

import base64
import os
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import LargeBinary, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

import models
from certification import passive
from cli import app as cli_app
from core.crypto import KeyRing, encrypt_encoding
from core.settings import Settings, get_settings
from faces import evidence as evidence_service
from faces import keys as key_service
from faces import liveness as liveness_service
from faces import pool as facepool
from faces import service as face_service
from models import (
    AuditEvent,
    Evidence,
    FaceTemplate,
    HomeVisit,
    IdempotencyRecord,
    LivenessChallenge,
    RateLimitHit,
    ReplaySignature,
    VerificationAttempt,
)
from scheduler import sweeps
from tests import factories as f
from tests.conftest import faces_dir
from tests.home_visit.helpers import IN_CITY, PDF, at, open_task, season
from verification.liveness import pack_signatures

K1 = base64.b64encode(os.urandom(32)).decode()
K2 = base64.b64encode(os.urandom(32)).decode()
FACES = faces_dir()
needs_faces = pytest.mark.skipif(FACES is None, reason="real face photos not found (../shared/faces)")


def _settings(url: str, key: str, kid: str, old: str = "") -> Settings:
    return Settings(database_url=url, template_key=key, template_key_id=kid, old_template_keys=old, face_workers=-1)


def _evidence(session: Session, settings: Settings, pensioner_id: int, data: bytes, **kw: object) -> Evidence:
    ring = KeyRing.from_settings(settings)
    blob, kid = ring.encrypt(data, aad=f"evidence:{pensioner_id}:form_scan".encode())
    row = Evidence(
        pensioner_id=pensioner_id, kind="form_scan", content_type="application/pdf", data=blob, key_id=kid, **kw
    )
    session.add(row)
    session.flush()
    return row


def test_only_encrypted_blobs_are_stored() -> None:
    """No image column exists: the only binary columns are the encrypted template, evidence and replay signatures."""
    binary = {
        f"{t.name}.{c.name}"
        for t in models.Base.metadata.sorted_tables
        for c in t.columns
        if isinstance(c.type, LargeBinary)
    }
    assert binary == {"face_template.encoding", "evidence.data", "replay_signature.signatures"}


@needs_faces
def test_rotate_from_k1_to_k2_then_k1_removed(
    session: Session, session_factory: sessionmaker[Session], database_url: str
) -> None:
    assert FACES is not None
    facepool.configure(-1)
    s1 = _settings(database_url, K1, "k1")
    s1.face_models = "dlib"  # one template per photo keeps the counts below readable
    f.seed_regions(session)
    p = f.pensioner(session)
    photo = (Path(FACES) / "identities/Colin_Powell/1.jpg").read_bytes()
    face_service.enrol(
        session=session,
        settings=s1,
        pensioner_id=p.id,
        photos=[photo],
        source="counter",
        consent_method="paper_form",
        staff_id=None,
        now=f.FIXED_NOW,
    )
    other = f.pensioner(session, phone="13800000009")
    blob, kid = encrypt_encoding(KeyRing.from_settings(s1), np.linspace(-0.2, 0.2, 128), pensioner_id=other.id)
    session.add(FaceTemplate(pensioner_id=other.id, kind="anchor", source="counter", encoding=blob, key_id=kid))
    scan = _evidence(session, s1, p.id, PDF)
    session.commit()

    s2 = _settings(database_url, K2, "k2", old=f"k1:{K1}")
    result = key_service.rotate_keys(session_factory=session_factory, settings=s2, batch_size=1)
    assert (result.templates.rotated, result.evidence.rotated) == (2, 1)
    assert result.complete and result.key_ids_in_use == {"k2": 3} and result.batches == 3
    again = key_service.rotate_keys(session_factory=session_factory, settings=s2)
    assert (again.templates.rotated, again.templates.already_current, again.evidence.already_current) == (0, 2, 1)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "keys.rotated")) == 1

    only_k2 = _settings(database_url, K2, "k2")  # the old key is gone from the settings
    assert evidence_service.decrypt_evidence(settings=only_k2, evidence=session.get(Evidence, scan.id)) == PDF
    outcome = face_service.verify_photo(
        session=session,
        settings=only_k2,
        pensioner_id=p.id,
        photo=(Path(FACES) / "identities/Colin_Powell/10.jpg").read_bytes(),
        channel="counter",
        staff_id=None,
        now=f.FIXED_NOW,
    )
    assert outcome.attempt.decision == "match"
    with pytest.raises(Exception):  # noqa: B017 - k1 really is needed no more, and no longer accepted
        face_service.templates_for(session=session, ring=KeyRing.from_settings(s1), pensioner_id=p.id)
    session.rollback()


def _certified_answer(session: Session, settings: Settings, pensioner_id: int, challenge_id: str, sig: bytes) -> bool:
    """A certified challenge and its stored replay signatures; True when they replayed an earlier answer."""
    session.add(
        LivenessChallenge(
            id=challenge_id, pensioner_id=pensioner_id, actions=["blink"], expires_at=f.FIXED_NOW, result="certified"
        )
    )
    session.flush()
    return liveness_service.remember_frames(
        session=session,
        settings=settings,
        pensioner_id=pensioner_id,
        season_year=2026,
        challenge_id=challenge_id,
        signatures=sig,
        now=f.FIXED_NOW,
    )


def test_rotation_re_encrypts_replay_signatures_and_the_replay_check_still_reads_them(
    session: Session, session_factory: sessionmaker[Session], database_url: str
) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    rng = np.random.default_rng(7)  # signatures of the storage path, not a face match: any unit vectors do
    vectors = [v / np.linalg.norm(v) for v in rng.normal(size=(12, 448))]
    sig = pack_signatures(vectors, list(range(0, 1200, 100)))
    s1 = _settings(database_url, K1, "k1")
    assert not _certified_answer(session, s1, p.id, "c-first", sig)
    session.commit()

    s2 = _settings(database_url, K2, "k2", old=f"k1:{K1}")
    result = key_service.rotate_keys(session_factory=session_factory, settings=s2, batch_size=1)
    assert result.replay_signatures.rotated == 1 and result.complete and result.key_ids_in_use == {"k2": 1}
    again = key_service.rotate_keys(session_factory=session_factory, settings=s2)
    assert (again.replay_signatures.rotated, again.replay_signatures.already_current) == (0, 1)
    session.expire_all()
    assert session.scalars(select(ReplaySignature.key_id)).all() == ["k2"]

    only_k2 = _settings(database_url, K2, "k2")  # k1 removed: the replay check reads the rotated row
    assert _certified_answer(session, only_k2, p.id, "c-replayed", sig)
    session.rollback()


def test_rotate_keys_cli_reports_missing_key(
    session: Session, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    blob, kid = encrypt_encoding(
        KeyRing.from_settings(_settings(database_url, K1, "k1")), np.zeros(128), pensioner_id=p.id
    )
    session.add(FaceTemplate(pensioner_id=p.id, kind="anchor", source="counter", encoding=blob, key_id=kid))
    session.commit()
    for name, value in {"DATABASE_URL": database_url, "TEMPLATE_KEY": K2, "TEMPLATE_KEY_ID": "k2"}.items():
        monkeypatch.setenv(f"PENSION_CERT_{name}", value)
    monkeypatch.delenv("PENSION_CERT_OLD_TEMPLATE_KEYS", raising=False)
    get_settings.cache_clear()
    try:
        missing = CliRunner().invoke(cli_app, ["rotate-keys"])
        assert missing.exit_code == 1 and "missing key 1 ['k1']" in missing.output
        monkeypatch.setenv("PENSION_CERT_OLD_TEMPLATE_KEYS", f"k1:{K1}")
        get_settings.cache_clear()
        done = CliRunner().invoke(cli_app, ["rotate-keys", "--batch-size", "10"])
        assert (
            done.exit_code == 0
            and "face_template: rotated 1" in done.output
            and "old keys can be removed" in done.output
        )
    finally:
        get_settings.cache_clear()
    session.expire_all()
    assert session.scalar(select(FaceTemplate.key_id)) == "k2"
    session.commit()


def test_purge_evidence_sweep(session: Session, session_factory: sessionmaker[Session], settings: Settings) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    now = f.FIXED_NOW
    old = _evidence(
        session, settings, p.id, PDF, created_at=now - timedelta(days=31), purge_after=now - timedelta(days=1)
    )
    keep = _evidence(session, settings, p.id, PDF, created_at=now, purge_after=now + timedelta(days=29))
    session.add_all(
        [
            RateLimitHit(bucket="otp:x", at=now - timedelta(days=8)),
            RateLimitHit(bucket="otp:x", at=now - timedelta(minutes=5)),
            IdempotencyRecord(scope="s", key="old", request_hash="h", created_at=now - timedelta(days=8)),
            IdempotencyRecord(scope="s", key="new", request_hash="h", created_at=now - timedelta(days=1)),
        ]
    )
    session.commit()
    old_id, keep_id = old.id, keep.id
    result = sweeps.run_sweeps(session_factory=session_factory, settings=settings, now=now, names=["purge_evidence"])
    assert result["evidence_purged"] == 1
    assert result["rate_limit_hits_purged"] == 1 and result["idempotency_records_purged"] == 1
    session.expire_all()
    assert set(session.scalars(select(Evidence.id))) == {keep_id} and old_id != keep_id
    assert session.scalar(select(IdempotencyRecord.key)) == "new"
    assert (
        session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "retention.purged"))["evidence_purged"] == 1
    )
    session.commit()
    again = sweeps.run_sweeps(session_factory=session_factory, settings=settings, now=now, names=["purge_evidence"])
    assert again["evidence_purged"] == 0


def _template(session: Session, settings: Settings, pensioner_id: int) -> None:
    blob, kid = encrypt_encoding(KeyRing.from_settings(settings), np.zeros(128), pensioner_id=pensioner_id)
    session.add(FaceTemplate(pensioner_id=pensioner_id, kind="anchor", source="counter", encoding=blob, key_id=kid))
    session.flush()


def _templates(session: Session, pensioner_id: int) -> int:
    session.expire_all()
    n = session.scalar(select(func.count()).select_from(FaceTemplate).where(FaceTemplate.pensioner_id == pensioner_id))
    session.commit()
    return int(n or 0)


def test_deaths_import_deletes_templates(session: Session, settings: Settings) -> None:
    f.seed_regions(session)
    season(session, settings)
    p = f.pensioner(session)
    alive = f.pensioner(session, phone="13800000005")
    _template(session, settings, p.id)
    _template(session, settings, alive.id)
    session.commit()
    data = f"national_id,death_date\n{p.national_id},2026-03-15\n".encode()
    passive.import_deaths(session=session, settings=settings, data=data, now=at(2026, 6, 10))
    session.commit()
    assert _templates(session, p.id) == 0 and _templates(session, alive.id) == 1
    assert session.scalar(select(func.count()).where(AuditEvent.action == "face_templates_deleted")) == 1
    session.commit()


def test_deceased_visit_deletes_templates_and_evidence_reads_are_audited(client, session, settings, clock) -> None:  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    season(session, settings)
    clock.now = at(2026, 6, 10)
    worker = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    supervisor = f.staff(session, role="supervisor", region=f.HUANCUI)
    elsewhere = f.staff(session, role="supervisor", region=f.WENDENG)
    p = f.pensioner(session, bedridden=True)
    task = open_task(session, settings, p, clock.now)
    _template(session, settings, p.id)
    session.add(VerificationAttempt(pensioner_id=p.id, channel="counter", decision="match", distance=0.3, reasons=[]))
    session.commit()
    resp = client.post(
        f"/api/v1/home-visits/{task.id}/visits",
        data={"outcome": "deceased", "death_date": "2026-06-02", **IN_CITY},
        files={
            "form_scan": ("scan.pdf", PDF, "application/pdf"),
            "death_certificate": ("certificate.pdf", PDF, "application/pdf"),
        },
        headers=f.staff_token(client, worker) | {"Idempotency-Key": "dead-1"},
    )
    assert resp.status_code == 201, resp.text
    # A reported death holds the pension; the templates go only when a supervisor approves the report.
    assert _templates(session, p.id) == 1
    hdr = f.staff_token(client, supervisor)
    session.commit()
    approved = client.post(
        f"/api/v1/home-visits/{resp.json()['id']}/review", json={"decision": "accepted"}, headers=hdr
    )
    assert approved.status_code == 200, approved.text
    assert _templates(session, p.id) == 0

    listed = client.get(f"/api/v1/pensioners/{p.id}/evidence", headers=hdr)
    assert listed.status_code == 200, listed.text
    by_kind = {e["kind"]: e for e in listed.json()}
    assert set(by_kind) == {"visit_form_scan", "death_certificate"}
    item = by_kind["visit_form_scan"]
    assert item["purge_after"] is not None
    session.expire_all()
    assert session.scalar(select(HomeVisit.form_scan_evidence_id)) == item["id"]
    session.commit()
    scan = client.get(f"/api/v1/pensioners/{p.id}/evidence/{item['id']}", headers=hdr)
    assert scan.status_code == 200 and scan.content == PDF and scan.headers["cache-control"] == "no-store"
    results = client.get(f"/api/v1/pensioners/{p.id}/face-verifications", headers=hdr)
    assert results.status_code == 200 and results.json()[0]["decision"] == "match"
    assert (
        client.get(
            f"/api/v1/pensioners/{p.id}/evidence/{item['id']}", headers=f.staff_token(client, worker)
        ).status_code
        == 403
    )
    assert (
        client.get(
            f"/api/v1/pensioners/{p.id}/evidence/{item['id']}", headers=f.staff_token(client, elsewhere)
        ).status_code
        == 404
    )
    session.commit()
    reads = session.execute(
        select(AuditEvent.action, AuditEvent.actor_id).where(
            AuditEvent.action.in_(("evidence.read", "face_verifications.read"))
        )
    ).all()
    session.commit()
    assert sorted(reads) == [("evidence.read", str(supervisor.id)), ("face_verifications.read", str(supervisor.id))]
