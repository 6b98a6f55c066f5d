"""Roster import through the service, the CLI and the admin API."""

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from core.errors import InvalidInput, PayloadTooLarge
from core.national_id import make_national_id
from models import AuditEvent, Pensioner
from registry.roster import import_roster
from tests import factories as f

HEADER = "national_id,name,phone,region_code,bedridden,family_phone,paying_region_code\n"


def _wrong(nid: str) -> str:
    return nid[:-1] + ("1" if nid[-1] != "1" else "2")


def _nid(seq: int) -> str:
    return make_national_id("371002", date(1952, 6, 1), seq)


def test_good_rows_import_bad_rows_rejected_with_reasons(session) -> None:
    f.seed_regions(session)
    rows = [
        f"{_nid(1)},张三,13800000001,371002001001,0,,",
        f"{_wrong(_nid(1))},李四,13800000002,371002001001,0,,",  # wrong check digit
        f"{_nid(2)},王五,13800000003,999999999999,0,,",
        f"{_nid(3)},赵六,12345,371002001001,0,,",
        f"{_nid(1)},张三重复,13800000001,371002001001,0,,",
        f"{_nid(4)},,13800000004,371002001001,0,,",
        f"{_nid(5)},孙七,13800000005,371002001001,是,13900000005,371000",
    ]
    result = import_roster(session=session, data=(HEADER + "\n".join(rows)).encode())
    assert result.inserted == 2 and result.updated == 0
    assert result.rejected == [
        {"line": 3, "reason": "bad_national_id"},
        {"line": 4, "reason": "unknown_region"},
        {"line": 5, "reason": "bad_phone"},
        {"line": 6, "reason": "duplicate_in_file"},
        {"line": 7, "reason": "missing_field"},
    ]
    p = session.scalar(select(Pensioner).where(Pensioner.national_id == _nid(5)))
    assert p.bedridden and p.family_phone == "13900000005"
    assert p.district_code == "371002000000" and p.town_code == "371002001000" and p.city_code == "371000000000"
    assert p.paying_region_code == "371000000000"
    assert p.birth_date == date(1952, 6, 1)


def test_upsert_by_national_id_updates_existing(session) -> None:
    f.seed_regions(session)
    import_roster(session=session, data=(HEADER + f"{_nid(7)},周八,13800000007,371002001001,0,,").encode())
    result = import_roster(session=session, data=(HEADER + f"{_nid(7)},周八,13800000017,371003001001,1,,").encode())
    assert (result.inserted, result.updated) == (0, 1)
    p = session.scalar(select(Pensioner).where(Pensioner.national_id == _nid(7)))
    assert p.phone == "13800000017" and p.district_code == "371003000000" and p.bedridden


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_chinese_headers_in_gbk_bom_and_utf8(session, encoding: str) -> None:
    f.seed_regions(session)
    text = (
        "身份证号,姓名,手机号,居住地区划代码,是否卧床,亲属电话,参保地区划代码\n"
        + f"{_nid(9)},吴九妹,13800000009,371002001001,否,,\n"
    )
    result = import_roster(session=session, data=text.encode(encoding))
    assert result.inserted == 1, result.rejected
    assert session.scalar(select(Pensioner.name).where(Pensioner.national_id == _nid(9))) == "吴九妹"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"   \n", "empty_file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not_csv"),
        (b"foo,bar\n1,2\n", "bad_header"),
        (HEADER.encode() + b'"unterminated,x,y\n', "malformed_csv"),
        ("national_id,name\n".encode("utf-16"), "not_csv"),
        (HEADER.encode(), "empty_file"),
    ],
)
def test_malformed_files_refused_whole(session, data: bytes, code: str) -> None:
    f.seed_regions(session)
    with pytest.raises(InvalidInput) as exc:
        import_roster(session=session, data=data)
    assert exc.value.code == code
    assert session.scalar(select(func.count()).select_from(Pensioner)) == 0


def test_invalid_bytes_in_neither_utf8_nor_gbk(session) -> None:
    f.seed_regions(session)
    with pytest.raises(InvalidInput) as exc:
        import_roster(session=session, data=HEADER.encode() + b"\xff\xfe\xff\xfe\x81\x30\xff,x\n")
    assert exc.value.code in {"bad_encoding", "malformed_csv"} or exc.value.code == "not_csv"


def test_cli_json_output_and_progressless_pipe(session, session_factory, database_url, monkeypatch, tmp_path) -> None:
    from cli import app
    from core.settings import get_settings

    f.seed_regions(session)
    session.commit()
    monkeypatch.setenv("PENSION_CERT_DATABASE_URL", database_url)
    get_settings.cache_clear()
    csv_file = tmp_path / "roster.csv"
    csv_file.write_bytes((HEADER + f"{_nid(11)},郑十,13800000011,371002001001,0,,\nbad,x,1,2,0,,\n").encode("gbk"))
    res = CliRunner().invoke(app, ["import-roster", str(csv_file), "--json"])
    get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == {
        "inserted": 1,
        "updated": 0,
        "rejected": [{"line": 3, "reason": "bad_national_id"}],
    }
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "roster_imported")) == 1


def test_cli_refuses_oversized_file_before_reading(database_url, monkeypatch, tmp_path) -> None:
    from cli import app
    from core.settings import get_settings

    big = tmp_path / "huge.csv"
    with big.open("wb") as fh:  # a sparse 2 GB file: nothing is read
        fh.truncate(2 * 1024**3)
    monkeypatch.setenv("PENSION_CERT_DATABASE_URL", database_url)
    get_settings.cache_clear()
    res = CliRunner().invoke(app, ["import-roster", str(big), "--json"])
    get_settings.cache_clear()
    assert res.exit_code == 1
    assert "payload_too_large" in res.output


def test_admin_api_import_and_limits(client, session, settings) -> None:
    f.seed_regions(session)
    admin = f.staff(session, role="admin")
    counter = f.staff(session, role="counter")
    session.commit()
    body = (HEADER + f"{_nid(21)},钱二一,13800000021,371002001001,0,,\n").encode()
    assert client.post("/api/v1/admin/roster/import", files={"file": ("r.csv", body)}).status_code == 401
    resp = client.post(
        "/api/v1/admin/roster/import", files={"file": ("r.csv", body)}, headers=f.staff_token(client, counter)
    )
    assert resp.status_code == 403 and resp.json()["code"] == "forbidden"
    hdr = f.staff_token(client, admin)
    resp = client.post("/api/v1/admin/roster/import", files={"file": ("r.csv", body)}, headers=hdr)
    assert resp.status_code == 200 and resp.json() == {"inserted": 1, "updated": 0, "rejected": []}
    settings.max_import_bytes = 100
    resp = client.post("/api/v1/admin/roster/import", files={"file": ("r.csv", body * 5)}, headers=hdr)
    assert resp.status_code == 413 and resp.json()["code"] == "payload_too_large"
    assert resp.json()["message"] and resp.json()["message_en"]


def test_payload_too_large_is_domain_error() -> None:
    assert PayloadTooLarge.status_code == 413


def test_demo_city_walks_a_season(session_factory, settings) -> None:
    from datetime import date

    from cli.demo import build_demo, walk_season
    from models import Certification, HomeVisitTask, Notification, Suspension
    from models.engine import session_scope

    with session_scope(session_factory) as s:
        summary = build_demo(session=s, pensioners=600, seed=3, today=date(2026, 3, 1))
    assert summary["pensioners_added"] == 600
    walk = walk_season(session_factory=session_factory, settings=settings, year=2026, as_of=date(2026, 7, 2))
    with session_factory() as s:
        certified = s.scalar(select(func.count()).select_from(Certification))
        suspended = s.scalar(select(func.count()).select_from(Suspension))
        assert certified == walk["certified"] and 0.6 * 600 < certified < 0.95 * 600
        assert suspended == walk["suspended"] == 600 - certified  # everyone else is suspended after the close
        reminders = select(func.count()).select_from(Notification).where(Notification.kind.startswith("reminder"))
        assert s.scalar(reminders) == walk["reminders_queued"] > 0
        assert s.scalar(select(func.count()).select_from(HomeVisitTask)) == walk["home_visit_tasks_created"] > 0
        ages = [(date(2026, 3, 1) - b).days // 365 for b in s.scalars(select(Pensioner.birth_date))]
        assert min(ages) >= 60 and max(ages) <= 100 and sorted(ages)[len(ages) // 2] < 75


def test_reimporting_the_same_roster_writes_nothing(session) -> None:
    f.seed_regions(session)
    data = (
        HEADER + f"{_nid(31)},冯三一,13800000031,371002001001,0,,\n{_nid(32)},冯三二,13800000032,371002001001,1,,\n"
    ).encode()
    import_roster(session=session, data=data)
    before = session.scalar(select(Pensioner.updated_at).where(Pensioner.national_id == _nid(31)))
    again = import_roster(session=session, data=data)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert session.scalar(select(Pensioner.updated_at).where(Pensioner.national_id == _nid(31))) == before
    changed = import_roster(session=session, data=data.replace(b"13800000032", b"13800000099"))
    assert (changed.updated, changed.unchanged) == (1, 1)


def test_optional_address_columns_with_chinese_headers_and_old_files_keep_them(session) -> None:
    f.seed_regions(session)
    header = "身份证号,姓名,手机号,居住地区划代码,街路巷,门牌号,标志物,住址纬度,住址经度\n"
    rows = [
        f"{_nid(21)},吴九,13800000021,371002001001,东山路,88号3单元201室,东山邮局对面,37.43,122.11",
        f"{_nid(22)},郑十,13800000022,371002001001,东山路,1号,,37.43,",  # a latitude without longitude
        f"{_nid(23)},钱一,13800000023,371002001001,东山路,2号,,,",
    ]
    result = import_roster(session=session, data=(header + "\n".join(rows)).encode())
    assert result.inserted == 2 and result.rejected == [{"line": 3, "reason": "bad_position"}]
    p = session.scalar(select(Pensioner).where(Pensioner.national_id == _nid(21)))
    assert (p.address_street, p.address_house, p.address_landmark) == ("东山路", "88号3单元201室", "东山邮局对面")
    assert (p.address_latitude, p.address_longitude) == (37.43, 122.11)
    # An old file without the columns imports as before and leaves the stored address alone.
    again = import_roster(session=session, data=(HEADER + f"{_nid(21)},吴九,13800000031,371002001001,0,,").encode())
    assert again.updated == 1 and again.rejected == []
    session.refresh(p)
    assert p.phone == "13800000031" and p.address_house == "88号3单元201室" and p.address_latitude == 37.43


def test_preferred_channel_column_in_chinese_or_english_and_bad_values_refused(session) -> None:
    f.seed_regions(session)
    header = "身份证号,姓名,手机号,居住地区划代码,首选渠道\n"
    rows = [
        f"{_nid(41)},吴一,13800000041,371002001001,微信",
        f"{_nid(42)},吴二,13800000042,371002001001,app_push",
        f"{_nid(43)},吴三,13800000043,371002001001,",  # empty: SMS for a new person
        f"{_nid(44)},吴四,13800000044,371002001001,fax",
    ]
    result = import_roster(session=session, data=(header + "\n".join(rows)).encode())
    assert result.inserted == 3 and result.rejected == [{"line": 5, "reason": "bad_channel"}]

    def channels() -> dict[str, str]:
        return dict(session.execute(select(Pensioner.national_id, Pensioner.preferred_channel)).all())

    assert channels() == {_nid(41): "wechat", _nid(42): "push", _nid(43): "sms"}
    english = "national_id,name,phone,region_code,preferred_channel\n"
    again = import_roster(
        session=session,
        data=(
            english + f"{_nid(41)},吴一,13800000041,371002001001,\n{_nid(43)},吴三,13800000043,371002001001,SMS"
        ).encode(),
    )
    assert (again.updated, again.unchanged) == (0, 2)  # an empty cell keeps the stored channel
    moved = import_roster(session=session, data=(english + f"{_nid(43)},吴三,13800000043,371002001001,短信").encode())
    assert moved.unchanged == 1
    pushed = import_roster(session=session, data=(english + f"{_nid(43)},吴三,13800000043,371002001001,推送").encode())
    assert pushed.updated == 1 and channels()[_nid(43)] == "push"
    old_file = import_roster(session=session, data=(HEADER + f"{_nid(41)},吴一,13800000041,371002001001,0,,").encode())
    assert old_file.unchanged == 1 and channels()[_nid(41)] == "wechat"  # a file without the column keeps it
