"""Imports and admin writes stay inside the caller's jurisdiction; phone changes are audited, notified, confirmed."""

from __future__ import annotations

import json
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.national_id import make_national_id
from core.settings import Settings
from models import AuditEvent, Notification, Pensioner, Region, Season, SeasonRegionWindow
from tests import factories as f

HEADER = "national_id,name,phone,region_code,bedridden,family_phone,paying_region_code\n"
YANTAI = "370600000000"
YANTAI_DISTRICT = "370602000000"
YANTAI_TOWN = "370602001000"
YANTAI_COMMUNITY = "370602001001"
WEIHAI_OLD_PHONE = "13800000001"


def _yantai(session: Session) -> None:
    """Another city's tree beside the demo city (Weihai)."""
    session.add(Region(code=YANTAI, name="烟台市", level="city", parent_code=None))
    session.add(Region(code=YANTAI_DISTRICT, name="芝罘区", level="district", parent_code=YANTAI))
    session.add(Region(code=YANTAI_TOWN, name="向阳街道", level="town", parent_code=YANTAI_DISTRICT))
    session.add(Region(code=YANTAI_COMMUNITY, name="向阳社区", level="community", parent_code=YANTAI_TOWN))
    session.flush()


def _nid(district6: str, seq: int) -> str:
    return make_national_id(district6, date(1952, 6, 1), seq)


def _row(nid: str, name: str, phone: str, region: str, family: str = "") -> str:
    return f"{nid},{name},{phone},{region},0,{family},\n"


@pytest.fixture
def two_cities(session: Session) -> dict[str, object]:
    """Weihai (the service's city) with one pensioner, Yantai beside it, and admins of each."""
    f.seed_regions(session)
    _yantai(session)
    weihai_person = f.pensioner(session, phone=WEIHAI_OLD_PHONE, family_phone=None)
    people = {
        "yantai": f.staff(session, role="admin", region=YANTAI),
        "weihai": f.staff(session, role="admin", region=f.CITY),
        "huancui": f.staff(session, role="admin", region=f.HUANCUI),
        "wendeng": f.staff(session, role="admin", region=f.WENDENG),
    }
    session.commit()
    return {"person": weihai_person, **people}


def _import(client: TestClient, hdr: dict[str, str], body: str, **params: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/admin/roster/import", files={"file": ("r.csv", body.encode())}, headers=hdr, params=params
    )


def test_another_citys_admin_cannot_change_a_weihai_pensioner(
    client: TestClient, session: Session, two_cities: dict[str, object]
) -> None:
    person = two_cities["person"]
    assert isinstance(person, Pensioner)
    hdr = f.staff_token(client, two_cities["yantai"])  # type: ignore[arg-type]
    body = (
        HEADER
        + _row(person.national_id, person.name, "13900009999", person.region_code)  # a new phone for a Weihai pensioner
        + _row(_nid("370602", 1), "烟台人", "13700000001", YANTAI_COMMUNITY)  # the admin's own city: imported
        + _row(person.national_id, "x", "13900009998", YANTAI_COMMUNITY)
    )
    resp = _import(client, hdr, body)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "inserted": 1,
        "updated": 0,
        "rejected": [
            {"line": 2, "reason": "outside_jurisdiction"},
            {"line": 4, "reason": "duplicate_in_file"},
        ],
    }
    # Moving the Weihai pensioner into Yantai is just as outside (the person lives outside the caller's city).
    resp = _import(client, hdr, HEADER + _row(person.national_id, person.name, "13900009998", YANTAI_COMMUNITY))
    assert resp.json()["rejected"] == [{"line": 2, "reason": "outside_jurisdiction"}]
    session.expire_all()
    kept = session.get(Pensioner, person.id)
    assert kept is not None and (kept.phone, kept.region_code) == (WEIHAI_OLD_PHONE, person.region_code)
    session.commit()
    # The next login code still goes to the number Weihai registered.
    assert client.post("/api/v1/auth/otp", json={"national_id": person.national_id}).status_code == 202
    otp_phone = session.scalar(select(Notification.phone).where(Notification.kind == "otp"))
    assert otp_phone == WEIHAI_OLD_PHONE
    # A district admin may change their own district's pensioners, not another district's.
    wendeng = f.staff_token(client, two_cities["wendeng"])  # type: ignore[arg-type]
    resp = _import(client, wendeng, HEADER + _row(person.national_id, person.name, "13900009997", person.region_code))
    assert resp.json()["rejected"] == [{"line": 2, "reason": "outside_jurisdiction"}]
    huancui = f.staff_token(client, two_cities["huancui"])  # type: ignore[arg-type]
    resp = _import(client, huancui, HEADER + _row(person.national_id, person.name, "13900009997", person.region_code))
    assert resp.json() == {"inserted": 0, "updated": 1, "rejected": []}
    session.commit()


def test_region_import_refuses_rows_outside_the_jurisdiction_row_by_row(
    client: TestClient, session: Session, two_cities: dict[str, object]
) -> None:
    hdr = f.staff_token(client, two_cities["yantai"])  # type: ignore[arg-type]
    body = (
        "code,name,parent_code,level\n"
        f"{f.HUANCUI},改名区,{f.CITY},district\n"  # renaming a Weihai district
        f"370603000000,福山区,{YANTAI},district\n"  # the admin's own city
        "371002001099,插入社区,371002001000,community\n"  # a new community under a Weihai town
        f"370603001000,新街道,370603000000,town\n"  # under the new Yantai district: inside
        f"{YANTAI_DISTRICT},芝罘区,{f.CITY},district\n"  # moving a Yantai district under Weihai
    )
    resp = client.post("/api/v1/admin/regions/import", files={"file": ("r.csv", body.encode())}, headers=hdr)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "inserted": 2,
        "updated": 0,
        "rejected": [
            {"line": 2, "reason": "outside_jurisdiction"},
            {"line": 4, "reason": "outside_jurisdiction"},
            {"line": 6, "reason": "outside_jurisdiction"},
        ],
    }
    session.expire_all()
    assert session.get(Region, f.HUANCUI).name == "环翠区"  # type: ignore[union-attr]
    assert session.get(Region, "371002001099") is None
    assert session.get(Region, YANTAI_DISTRICT).parent_code == YANTAI  # type: ignore[union-attr]
    session.commit()
    # The city itself may be renamed by its own admin, not re-parented or re-levelled.
    resp = client.post(
        "/api/v1/admin/regions/import",
        files={"file": ("r.csv", f"code,name,parent_code,level\n{YANTAI},烟台,,city\n".encode())},
        headers=hdr,
    )
    assert resp.json() == {"inserted": 0, "updated": 1, "rejected": []}
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "regions_imported")).all()
    assert [e.detail["outside_jurisdiction"] for e in events] == [3, 0]  # type: ignore[index]
    session.commit()


def test_seasons_belong_to_the_service_city_and_windows_to_the_callers_region(
    client: TestClient, session: Session, two_cities: dict[str, object]
) -> None:
    yantai = f.staff_token(client, two_cities["yantai"])  # type: ignore[arg-type]
    huancui = f.staff_token(client, two_cities["huancui"])  # type: ignore[arg-type]
    weihai = f.staff_token(client, two_cities["weihai"])  # type: ignore[arg-type]
    for hdr in (yantai, huancui):  # another city's admin; a district admin of the city (a season is city-wide)
        resp = client.post("/api/v1/admin/seasons", json={"year": 2026}, headers=hdr)
        assert resp.status_code == 403 and resp.json()["code"] == "outside_jurisdiction", resp.text
        assert resp.json()["message"] and resp.json()["message_en"]
    assert session.scalar(select(func.count()).select_from(Season)) == 0
    session.commit()
    assert client.post("/api/v1/admin/seasons", json={"year": 2026}, headers=weihai).status_code == 201
    window = {"region_code": f.HUANCUI, "close_date": "2026-07-31"}
    resp = client.put("/api/v1/admin/seasons/2026/windows", json=window, headers=yantai)
    assert resp.status_code == 404 and resp.json()["code"] == "region_not_found"  # not theirs: like a missing one
    resp = client.put(
        "/api/v1/admin/seasons/2026/windows", json={**window, "region_code": YANTAI_DISTRICT}, headers=yantai
    )
    assert resp.status_code == 403 and resp.json()["code"] == "outside_jurisdiction"  # their region, Weihai's season
    assert client.put("/api/v1/admin/seasons/2026/windows", json=window, headers=huancui).status_code == 200
    assert session.scalar(select(func.count()).select_from(SeasonRegionWindow)) == 1
    session.commit()


def test_every_phone_change_is_audited_per_row_and_the_old_number_told(
    client: TestClient, session: Session, two_cities: dict[str, object]
) -> None:
    person = two_cities["person"]
    assert isinstance(person, Pensioner)
    hdr = f.staff_token(client, two_cities["weihai"])  # type: ignore[arg-type]
    body = HEADER + _row(person.national_id, person.name, "13900009999", person.region_code, family="13600000002")
    resp = _import(client, hdr, body)
    assert resp.json() == {"inserted": 0, "updated": 1, "rejected": []}
    session.expire_all()
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "pensioner.phone_changed").order_by(AuditEvent.id)
    ).all()
    assert [(e.actor_type, e.actor_id, e.target_id, e.detail) for e in events] == [
        (
            "staff",
            str(two_cities["weihai"].id),  # type: ignore[attr-defined]
            str(person.id),
            {"field": "phone", "old": "138****0001", "new": "139****9999", "line": 2, "source": "roster_import"},
        ),
        (
            "staff",
            str(two_cities["weihai"].id),  # type: ignore[attr-defined]
            str(person.id),
            {"field": "family_phone", "old": None, "new": "136****0002", "line": 2, "source": "roster_import"},
        ),
    ]
    notices = session.scalars(select(Notification).where(Notification.kind == "phone_changed")).all()
    assert [(n.phone, n.pensioner_id, n.status) for n in notices] == [(WEIHAI_OLD_PHONE, person.id, "pending")]
    assert "139****9999" in (notices[0].body_zh or "") and "变更" in (notices[0].body_zh or "")
    assert "139****9999" in (notices[0].body_en or "") and "changed" in (notices[0].body_en or "")
    summary = session.scalar(select(AuditEvent).where(AuditEvent.action == "roster_imported"))
    assert summary is not None and summary.detail["phone_changes"] == 2  # type: ignore[index]
    session.commit()


def test_many_phone_changes_need_an_explicit_confirmation(
    client: TestClient, session: Session, settings: Settings, two_cities: dict[str, object]
) -> None:
    settings.roster_max_phone_changes = 1
    others = [f.pensioner(session, phone=f"1380000010{i}", family_phone=None) for i in range(2)]
    session.commit()
    hdr = f.staff_token(client, two_cities["weihai"])  # type: ignore[arg-type]
    body = HEADER + "".join(_row(p.national_id, p.name, f"1390000010{i}", p.region_code) for i, p in enumerate(others))
    body += _row(_nid("371002", 77), "新人", "13700000077", f.HUANCUI_COMMUNITY)
    resp = _import(client, hdr, body)
    assert resp.status_code == 409, resp.text
    assert resp.json()["code"] == "phone_changes_need_confirmation" and resp.json()["message_en"]
    assert resp.json()["detail"] == {"phone_changes": 2, "limit": 1}
    session.expire_all()
    assert [session.get(Pensioner, p.id).phone for p in others] == ["13800000100", "13800000101"]  # type: ignore[union-attr]
    assert session.scalar(select(func.count()).select_from(Pensioner)) == 3  # the new row was not written either
    assert session.scalar(select(func.count()).select_from(Notification)) == 0
    session.commit()
    resp = _import(client, hdr, body, confirm_phone_changes="true")
    assert resp.json() == {"inserted": 1, "updated": 2, "rejected": []}
    assert session.scalar(select(func.count()).where(AuditEvent.action == "pensioner.phone_changed")) == 2
    session.commit()


def _cli(database_url: str, monkeypatch: pytest.MonkeyPatch, *args: str, **env: str):  # type: ignore[no-untyped-def]
    from cli import app
    from core.settings import get_settings

    monkeypatch.setenv("PENSION_CERT_DATABASE_URL", database_url)
    for key, value in env.items():
        monkeypatch.setenv(f"PENSION_CERT_{key.upper()}", value)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()


def test_cli_imports_and_seasons_keep_the_same_rules(
    session: Session, two_cities: dict[str, object], database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    person = two_cities["person"]
    assert isinstance(person, Pensioner)
    yantai = two_cities["yantai"].username  # type: ignore[attr-defined]
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + _row(person.national_id, person.name, "13900009999", person.region_code))
    res = _cli(database_url, monkeypatch, "import-roster", str(roster), "--json", "--staff", yantai)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["rejected"] == [{"line": 2, "reason": "outside_jurisdiction"}]
    regions = tmp_path / "regions.csv"
    regions.write_text(f"code,name,parent_code,level\n{f.HUANCUI},改名区,{f.CITY},district\n")
    res = _cli(database_url, monkeypatch, "import-regions", str(regions), "--staff", yantai)
    assert res.exit_code == 0 and "outside_jurisdiction" in res.output, res.output
    res = _cli(database_url, monkeypatch, "season", "create", "--year", "2026", "--staff", yantai)
    assert res.exit_code == 1 and "outside_jurisdiction" in res.output
    res = _cli(database_url, monkeypatch, "season", "create", "--year", "2026", "--staff", "nobody")
    assert res.exit_code == 1 and "staff_not_found" in res.output
    wendeng = two_cities["wendeng"].username  # type: ignore[attr-defined]
    assert _cli(database_url, monkeypatch, "season", "create", "--year", "2026").exit_code == 0  # the operator
    args = ("season", "extend", "--year", "2026", "--region", f.HUANCUI, "--close", "2026-07-31", "--staff", wendeng)
    res = _cli(database_url, monkeypatch, *args)
    assert res.exit_code == 1 and "region_not_found" in res.output
    # Phone changes over the limit need --confirm-phone-changes, from the operator too.
    res = _cli(database_url, monkeypatch, "import-roster", str(roster), "--json", roster_max_phone_changes="0")
    assert res.exit_code == 1 and json.loads(res.stdout)["code"] == "phone_changes_need_confirmation"
    res = _cli(
        database_url,
        monkeypatch,
        *("import-roster", str(roster), "--json", "--confirm-phone-changes"),
        roster_max_phone_changes="0",
    )
    assert res.exit_code == 0 and json.loads(res.stdout)["updated"] == 1
    session.expire_all()
    assert session.get(Region, f.HUANCUI).name == "环翠区"  # type: ignore[union-attr]
    assert session.get(Pensioner, person.id).phone == "13900009999"  # type: ignore[union-attr]
    actor = session.scalar(select(AuditEvent.actor_id).where(AuditEvent.action == "pensioner.phone_changed"))
    assert actor == "cli"
    session.commit()
