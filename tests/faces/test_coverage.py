"""`pension-cert faces coverage`: enrolled pensioners without an SFace template, by district."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli import app
from models import FaceTemplate
from tests import factories


def _template(session: Session, pensioner_id: int, model: str) -> None:
    session.add(
        FaceTemplate(
            pensioner_id=pensioner_id, kind="anchor", source="counter", model=model, encoding=b"x", key_id="k1"
        )
    )


def test_coverage_counts_pensioners_still_decided_by_dlib(session: Session, settings, monkeypatch) -> None:
    factories.seed_regions(session)
    old, both, new = (factories.pensioner(session) for _ in range(3))
    factories.pensioner(session)  # not enrolled at all: not counted
    other = factories.pensioner(session, region=factories.WENDENG_COMMUNITY)
    for pid, models in ((old.id, ["dlib"]), (both.id, ["dlib", "sface"]), (new.id, ["sface"]), (other.id, ["dlib"])):
        for model in models:
            _template(session, pid, model)
    session.commit()
    monkeypatch.setenv("PENSION_CERT_DATABASE_URL", settings.database_url)
    from core.settings import get_settings

    get_settings.cache_clear()
    out = CliRunner().invoke(app, ["faces", "coverage", "--json"])
    get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    rows = {r["region_code"]: r for r in json.loads(out.output)}
    assert rows[factories.HUANCUI]["enrolled"] == 3 and rows[factories.HUANCUI]["lacking"] == 1
    assert rows[factories.WENDENG]["enrolled"] == 1 and rows[factories.WENDENG]["lacking"] == 1
