"""Risk summary and at-risk list: figures equal direct SQL counts, scoping, filters, exports."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import text

from models import Certification
from tests import factories
from tests.supervisor.conftest import City, app_certification

SQL_PENDING = """
SELECT count(*) FROM pensioner p
WHERE p.district_code = :d AND p.pension_status <> 'terminated'
  AND NOT EXISTS (SELECT 1 FROM certification c WHERE c.pensioner_id = p.id AND c.season_year = 2026)
"""
SQL_CERTIFIED = """
SELECT count(*) FROM certification c JOIN pensioner p ON p.id = c.pensioner_id
WHERE c.season_year = 2026 AND p.district_code = :d
"""


def _supervisor(client, session, region: str = factories.CITY) -> dict[str, str]:  # type: ignore[no-untyped-def]
    user = factories.staff(session, role="supervisor", region=region)
    session.commit()
    return factories.staff_token(client, user)


def test_summary_equals_direct_sql(client, session, city: City) -> None:
    headers = _supervisor(client, session)
    resp = client.get("/api/v1/risk/summary", params={"season": 2026}, headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["region"] == factories.CITY
    assert [c["region"] for c in body["children"]][:2] == [factories.HUANCUI, factories.WENDENG]
    children = {c["region"]: c for c in body["children"]}
    for code in (factories.HUANCUI, factories.WENDENG):
        pending = session.scalar(text(SQL_PENDING), {"d": code})
        certified = session.scalar(text(SQL_CERTIFIED), {"d": code})
        assert children[code]["pending"] == pending
        assert children[code]["certified"] == certified
        assert children[code]["pensioners"] == pending + certified
    huancui, wendeng = children[factories.HUANCUI], children[factories.WENDENG]
    assert huancui["at_risk"] == huancui["pending"] == 5  # 10 days left
    assert wendeng["at_risk"] == 0 and wendeng["days_left"] == 41  # extended to 31 July
    assert huancui["certified_by_channel"] == {
        "app": 2,
        "home_visit": 0,
        "counter": 1,
        "self_service_terminal": 0,
        "data_comparison": 0,
    }
    assert huancui["pending_bedridden"] == 1
    assert huancui["pending_80plus"] == 2
    assert huancui["failed_attempts"] == 2
    assert huancui["home_visits_open"] == huancui["home_visits_overdue"] == 1
    assert huancui["suspended"] == 1
    assert body["pensioners"] == sum(c["pensioners"] for c in body["children"]) == 10
    assert body["at_risk"] == 5
    assert [(t["day"], t["certified"]) for t in huancui["trend"]] == [
        ("2026-06-01", 1),
        ("2026-06-15", 1),
        ("2026-06-19", 1),
    ]
    assert 0 <= huancui["projected_suspensions"] <= huancui["pending"]


def test_drill_down_to_town_and_community(client, session, city: City) -> None:
    headers = _supervisor(client, session)
    town = client.get("/api/v1/risk/summary", params={"region": "371002001000"}, headers=headers).json()
    assert town["level"] == "town" and town["pending"] == 4
    assert sum(c["pending"] for c in town["children"]) == 4
    community = client.get("/api/v1/risk/summary", params={"region": factories.HUANCUI_COMMUNITY}, headers=headers)
    assert community.json()["children"] == [] and community.json()["at_risk"] == 4


def test_district_supervisor_is_scoped(client, session, city: City) -> None:
    headers = _supervisor(client, session, factories.HUANCUI)
    own = client.get("/api/v1/risk/summary", headers=headers)
    assert own.status_code == 200 and own.json()["region"] == factories.HUANCUI
    for path in ("/api/v1/risk/summary", "/api/v1/risk/pensioners", "/api/v1/risk/pensioners.csv"):
        resp = client.get(path, params={"region": factories.WENDENG}, headers=headers)
        assert resp.status_code == 404, path
        assert resp.json()["code"] == "region_not_found"
    assert client.get("/api/v1/risk/summary", params={"region": factories.CITY}, headers=headers).status_code == 404


def test_counter_staff_are_refused(client, session, city: City) -> None:
    user = factories.staff(session, role="counter")
    session.commit()
    resp = client.get("/api/v1/risk/summary", headers=factories.staff_token(client, user))
    assert resp.status_code == 403


def test_at_risk_list_reasons_and_under_way(client, session, city: City) -> None:
    headers = _supervisor(client, session)
    resp = client.get("/api/v1/risk/pensioners", headers=headers)
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert [i["id"] for i in items] == [city.bedridden, city.old_failed, city.suspended, city.other_town, city.plain]
    by_id = {i["id"]: i for i in items}
    old = by_id[city.old_failed]
    codes = [r["code"] for r in old["reasons"]]
    assert codes == ["deadline_near", "age_80", "failed_attempts", "visit_overdue", "no_phone"]
    assert old["reasons"][0]["message"] == "距截止日期仅剩10天" and old["reasons"][0]["message_en"] == "10 days left"
    assert [u["code"] for u in old["under_way"]] == ["home_visit_open"]
    assert [u["code"] for u in by_id[city.plain]["under_way"]] == ["reminders_sent"]
    assert "bedridden" in [r["code"] for r in by_id[city.bedridden]["reasons"]]
    assert "suspended" in [r["code"] for r in by_id[city.suspended]["reasons"]]
    assert by_id[city.plain]["history_url"] == f"/staff/counter/?pensioner={city.plain}"


def test_at_risk_filters_sorting_paging(client, session, city: City) -> None:
    headers = _supervisor(client, session)

    def ids(**params: object) -> list[int]:
        resp = client.get("/api/v1/risk/pensioners", params=params, headers=headers)
        assert resp.status_code == 200, resp.text
        return [i["id"] for i in resp.json()["items"]]

    assert ids(bedridden=True) == [city.bedridden]
    assert ids(min_attempts=2) == [city.old_failed]
    assert ids(visit="overdue") == [city.old_failed]
    assert city.old_failed not in ids(visit="none")
    assert ids(min_age=80) == [city.bedridden, city.old_failed]
    assert ids(max_age=71) == [city.other_town, city.plain]
    assert ids(max_age=70) == [city.plain]
    assert ids(region="371002002000") == [city.other_town]
    assert ids(days_left=5) == []
    assert city.wendeng_pending in ids(days_left=60)
    assert ids(sort="attempts")[0] == city.old_failed
    assert ids(sort="-age")[0] == city.plain
    first = client.get("/api/v1/risk/pensioners", params={"limit": 2}, headers=headers).json()
    assert first["has_more"] is True and len(first["items"]) == 2
    last = client.get("/api/v1/risk/pensioners", params={"limit": 2, "offset": 4}, headers=headers).json()
    assert last["has_more"] is False and len(last["items"]) == 1


def test_csv_export_has_bom_and_chinese_headers(client, session, city: City) -> None:
    headers = _supervisor(client, session)
    resp = client.get("/api/v1/risk/pensioners.csv", headers=headers)
    assert resp.status_code == 200
    assert resp.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["序号", "姓名", "身份证号"]
    assert len(rows) == 6
    assert rows[1][1] == "李卧床" and "卧床" in rows[1][13]


def test_excel_export(client, session, city: City) -> None:
    headers = _supervisor(client, session)
    resp = client.get("/api/v1/risk/pensioners.xlsx", params={"bedridden": "false"}, headers=headers)
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][1] == "姓名" and rows[0][7] == "认证截止日期"
    assert [r[1] for r in rows[1:]] == ["张高龄", "孙暂停", "赵二镇", "王普通"]


def test_refresh_picks_up_new_certifications(client, session, city: City) -> None:
    from datetime import UTC, datetime

    headers = _supervisor(client, session)
    before = client.get("/api/v1/risk/summary", headers=headers).json()
    session.add(
        Certification(
            pensioner_id=city.plain, season_year=2026, channel="app", certified_at=datetime(2026, 6, 20, 1, tzinfo=UTC)
        )
    )
    session.commit()
    assert client.post("/api/v1/risk/refresh", headers=headers).status_code == 204
    after = client.get("/api/v1/risk/summary", headers=headers).json()
    assert after["certified"] == before["certified"] + 1
    assert after["at_risk"] == before["at_risk"] - 1


def test_supervisors_see_how_many_certified_with_an_accessibility_challenge(client, session, city: City) -> None:
    app_certification(session, ["open_mouth", "turn_left", "turn_right"])
    app_certification(session, [])
    session.commit()
    body = client.get("/api/v1/risk/summary", params={"season": 2026}, headers=_supervisor(client, session)).json()
    children = {c["region"]: c for c in body["children"]}
    assert body["certified_with_exemption"] == 1
    assert children[factories.HUANCUI]["certified_with_exemption"] == 1
    assert children[factories.WENDENG]["certified_with_exemption"] == 0
