"""One face, one pension, on real photos: the same face on a second pensioner, a stranger's second anchor, spoofs."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import AuditEvent, BiometricConsent, FaceTemplate
from tests import factories as f
from tests.conftest import faces_dir

FACES = faces_dir()
pytestmark = pytest.mark.skipif(
    FACES is None, reason="real face photos not found (../shared/faces or PENSION_CERT_TEST_FACES)"
)
EAST = "east_asian/identities"


def photo(rel: str) -> bytes:
    assert FACES is not None
    return (Path(FACES) / rel).read_bytes()


def _enrol(client, hdr, pensioner_id: int, rel: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.put(
        f"/api/v1/pensioners/{pensioner_id}/face",
        files=[("photos", ("a.jpg", photo(rel), "image/jpeg"))],
        data={"consent_method": "paper_form", "source": "counter", **extra},
        headers=hdr,
    )


def _templates(session, pensioner_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(session.scalars(select(FaceTemplate.model).where(FaceTemplate.pensioner_id == pensioner_id)))


@pytest.fixture
def office(client, session, settings):  # type: ignore[no-untyped-def]
    """Three pensioners, a counter clerk and an admin of the city."""
    settings.face_min_inter_eye_px = 10  # the East-Asian photos are 250 px news crops; a counter camera is not
    f.seed_regions(session)
    people = [f.pensioner(session) for _ in range(3)]
    counter = f.staff(session, role="counter", region=f.WENDENG)
    admin = f.staff(session, role="admin", region=f.CITY)
    session.commit()
    return people, f.staff_token(client, counter), f.staff_token(client, admin)


def test_the_same_east_asian_face_on_a_second_pensioner_is_refused(client, session, office) -> None:
    (first, second, third), counter, _ = office
    assert _enrol(client, counter, first.id, f"{EAST}/Edward_Lu/Edward_Lu_0001.jpg").status_code == 200
    assert _templates(session, first.id) == ["dlib", "sface"]  # a template for every active model
    refused = _enrol(client, counter, second.id, f"{EAST}/Edward_Lu/Edward_Lu_0004.jpg")
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["code"] == "face_enrolled_elsewhere" and body["message"] and body["message_en"]
    assert [p["pensioner_id"] for p in body["detail"]["pensioners"]] == [first.id]
    assert _templates(session, second.id) == []  # nothing half-written: no template, no consent
    assert not session.scalar(select(func.count()).where(BiometricConsent.pensioner_id == second.id))
    # A different person enrols as usual.
    assert _enrol(client, counter, third.id, f"{EAST}/Chen_Shui-bian/Chen_Shui-bian_0002.jpg").status_code == 200


def test_only_an_admin_or_supervisor_overrides_with_a_reason(client, session, office) -> None:
    (first, second, _), counter, admin = office
    assert _enrol(client, counter, first.id, "identities/Colin_Powell/1.jpg").status_code == 200
    twin = "identities/Colin_Powell/10.jpg"
    clerk = _enrol(client, counter, second.id, twin, override_reason="同一人两个账户")
    assert clerk.status_code == 422 and clerk.json()["code"] == "override_not_allowed"
    done = _enrol(client, admin, second.id, twin, override_reason="双胞胎，已核对户口本")
    assert done.status_code == 200, done.text
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "face_uniqueness_overridden"))
    assert event is not None and event.target_id == str(second.id)
    assert event.detail["refusal"] == "face_enrolled_elsewhere" and event.detail["reason"] == "双胞胎，已核对户口本"


def test_a_supervisor_overrides_the_clerks_refusal(client, session, office) -> None:
    (first, second, _), counter, _ = office
    supervisor_user = f.staff(session, role="supervisor", region=f.CITY)
    session.commit()
    supervisor = f.staff_token(client, supervisor_user)
    assert _enrol(client, counter, first.id, f"{EAST}/Edward_Lu/Edward_Lu_0001.jpg").status_code == 200
    same = f"{EAST}/Edward_Lu/Edward_Lu_0004.jpg"
    assert _enrol(client, counter, second.id, same).json()["code"] == "face_enrolled_elsewhere"
    without_reason = _enrol(client, supervisor, second.id, same)
    assert without_reason.status_code == 409  # a supervisor is refused too until they give a reason
    done = _enrol(client, supervisor, second.id, same, override_reason="户口本核对：孪生兄弟")
    assert done.status_code == 200, done.text
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "face_uniqueness_overridden"))
    assert event is not None and event.target_id == str(second.id) and event.detail["reason"] == "户口本核对：孪生兄弟"


def test_a_strangers_photo_is_not_added_beside_an_anchor(client, session, office) -> None:
    (first, _, _), counter, _ = office
    assert _enrol(client, counter, first.id, f"{EAST}/Edward_Lu/Edward_Lu_0001.jpg").status_code == 200
    stranger = _enrol(client, counter, first.id, f"{EAST}/Chen_Shui-bian/Chen_Shui-bian_0002.jpg")
    assert stranger.status_code == 409 and stranger.json()["code"] == "face_mismatch_existing"
    same = _enrol(client, counter, first.id, f"{EAST}/Edward_Lu/Edward_Lu_0004.jpg")
    assert same.status_code == 200, same.text
    assert _templates(session, first.id) == ["dlib", "dlib", "sface", "sface"]


@pytest.mark.parametrize("spoof", ["spoof/print/silentface_image_F1.jpg", "spoof/replay/silentface_image_F2.jpg"])
def test_a_printed_or_screen_photo_is_a_presentation_attack(client, session, settings, office, spoof: str) -> None:
    (first, second, _), counter, _ = office
    settings.face_max_yaw_deg = 90  # the print sample is held at an angle: anti-spoofing, not pose, must catch it
    refused = _enrol(client, counter, second.id, spoof)
    assert refused.status_code == 422 and refused.json()["code"] == "presentation_attack"
    assert _enrol(client, counter, first.id, "spoof/real/silentface_image_T1.jpg").status_code == 200
    # A scanned ID photo is a print by nature: anti-spoofing does not judge it (the 1:N search still may refuse
    # it: the screen photo is close enough to the real one to be taken for the same face).
    scan = _enrol(client, counter, second.id, spoof, source="id_photo")
    assert scan.status_code == 200 or scan.json()["code"] == "face_enrolled_elsewhere", scan.text
    check = client.post(
        f"/api/v1/pensioners/{first.id}/face-verifications", files={"photo": ("s.jpg", photo(spoof))}, headers=counter
    )
    assert check.status_code == 200 and check.json()["decision"] == "presentation_attack", check.text
