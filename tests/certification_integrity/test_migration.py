"""Migrations on an existing database: reinstatements so far enter the ledger, certifications keep their ids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from models.engine import make_engine
from models.migrate import upgrade

NOW = "2026-11-03 01:00:00.000000"


def _seed_person(conn: Any) -> None:
    """A city and one pensioner (id 1), in raw SQL: the models may be newer than the schema."""
    conn.execute(
        text(f"INSERT INTO region (code, name, level, created_at) VALUES ('371000000000', 'c', 'city', '{NOW}')")
    )
    conn.execute(
        text(
            "INSERT INTO pensioner (national_id, name, birth_date, sex, region_code, bedridden, limited_mobility,"
            f" pension_status, created_at, updated_at) VALUES ('x', 'n', '1950-01-01', 'F', '371000000000', 0, 0,"
            f" 'active', '{NOW}', '{NOW}')"
        )
    )


def test_existing_reinstatements_enter_the_ledger(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'before.sqlite3'}"
    upgrade(url, "0008_action_exemptions")
    eng = make_engine(url)
    with eng.begin() as conn:
        _seed_person(conn)
        conn.execute(
            text(
                "INSERT INTO certification (id, pensioner_id, season_year, certified_at, channel)"
                f" VALUES (7, 1, 2026, '{NOW}', 'counter')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO suspension (pensioner_id, season_year, effective_date, suspended_at, reinstated_at,"
                f" reinstated_effective_date, back_pay_months) VALUES (1, 2026, '2026-08-01', '{NOW}', '{NOW}',"
                " '2026-11-01', 3)"
            )
        )
    eng.dispose()
    upgrade(url)
    eng = make_engine(url)
    with eng.begin() as conn:
        ledger = conn.execute(
            text("SELECT kind, certification_id, suspended_from, effective_date, back_pay_months FROM reinstatement")
        ).all()
        assert ledger == [("reinstatement", 7, "2026-08-01", "2026-11-01", 3)]
        # The old certification is standing (not withdrawn) and its id is never given again.
        conn.execute(text("DELETE FROM certification WHERE id = 7"))
        conn.execute(
            text(
                f"INSERT INTO certification (pensioner_id, season_year, certified_at, channel) VALUES (1, 2026, '{NOW}', 'app')"
            )
        )
        assert conn.execute(text("SELECT id FROM certification")).scalar() == 8
    eng.dispose()


def _seed_0021(url: str, ids: list[int]) -> None:
    """A database at 0021 with one pensioner and certifications of the given ids, in seasons 2020…"""
    upgrade(url, "0021_life_evidence_bulk")
    eng = make_engine(url)
    with eng.begin() as conn:
        _seed_person(conn)
        for n, cid in enumerate(ids):
            conn.execute(
                text(
                    "INSERT INTO certification (id, pensioner_id, season_year, certified_at, channel)"
                    f" VALUES ({cid}, 1, {2020 + n}, '{NOW}', 'counter')"
                )
            )
        conn.execute(text(f"DELETE FROM certification WHERE id = {max(ids)}"))
    eng.dispose()


def _next_certification_id(url: str) -> int:
    eng = make_engine(url)
    with eng.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO certification (pensioner_id, season_year, certified_at, channel) VALUES (1, 2030, '{NOW}', 'app')"
            )
        )
        cid = int(conn.execute(text("SELECT max(id) FROM certification")).scalar() or 0)
    eng.dispose()
    return cid


def test_dropping_the_pensioner_key_never_gives_a_deleted_id_again(tmp_path) -> None:
    for name, ids in (("kept", [1, 2, 9]), ("emptied", [5])):
        url = f"sqlite:///{tmp_path / name}.sqlite3"
        _seed_0021(url, ids)
        upgrade(url)  # 0022 rebuilds certification on SQLite
        eng = make_engine(url)
        with eng.begin() as conn:
            kept = [r[0] for r in conn.execute(text("SELECT id FROM certification ORDER BY id"))]
        eng.dispose()
        assert kept == ids[:-1]
        assert _next_certification_id(url) == max(ids) + 1
