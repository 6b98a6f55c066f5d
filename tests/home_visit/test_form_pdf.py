"""The form PDF: an embedded CJK font (not a referenced CID font), the right title, the visit's date."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from core import pdf_fonts
from models import StaffUser
from tests import factories as f
from tests.home_visit.helpers import IN_CITY, at, open_task, season

needs_poppler = pytest.mark.skipif(
    shutil.which("pdffonts") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils is not installed (apt-get install -y poppler-utils)",
)


def _form(client, session, settings, clock, tmp_path: Path, **pensioner) -> tuple[Path, StaffUser, int]:  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    season(session, settings)
    clock.now = at(2026, 6, 10)
    worker = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    p = f.pensioner(session, name="欧阳翠花", **pensioner)
    task = open_task(session, settings, p, clock.now)
    session.commit()
    hdr = f.staff_token(client, worker)
    path = tmp_path / "form.pdf"
    path.write_bytes(client.get(f"/api/v1/home-visits/{task.id}/form.pdf", headers=hdr).content)
    return path, worker, task.id


def _text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@needs_poppler
def test_font_is_embedded_and_chinese_comes_back(client, session, settings, clock, tmp_path) -> None:
    path, _, _ = _form(client, session, settings, clock, tmp_path)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows, fonts
    # Every font of the page is embedded (before: STSong-Light, a CID font that was only referenced).
    assert all(r[-5] == "yes" for r in rows), fonts
    assert any("NotoSansSC-GB2312" in r[0] for r in rows) and "STSong" not in fonts
    text = _text(path)
    assert "离退休人员领取养老金资格协助认证表" in text and "欧阳翠花" in text and "长期卧床" not in text
    assert "本人声明：本人健在" in text and "□ 本人健在，认证通过" in text


@needs_poppler
def test_title_local_and_out_of_town(client, session, settings, clock, tmp_path) -> None:
    local, _, _ = _form(client, session, settings, clock, tmp_path)
    assert "异地居住" not in _text(local)  # paid by the city they live in
    other = tmp_path / "other"
    other.mkdir()
    session.rollback()
    jinan = f.pensioner(session, name="异地张", paying_region_code="370100000000")
    worker = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    task = open_task(session, settings, jinan, clock.now)
    session.commit()
    hdr = f.staff_token(client, worker)
    (other / "form.pdf").write_bytes(client.get(f"/api/v1/home-visits/{task.id}/form.pdf", headers=hdr).content)
    assert "异地居住离退休人员领取养老金资格协助认证表" in _text(other / "form.pdf")


@needs_poppler
def test_form_shows_the_visit_date_not_the_task_date(client, session, settings, clock, tmp_path) -> None:
    path, worker, task_id = _form(client, session, settings, clock, tmp_path)
    assert "走访日期" in _text(path) and "2026年06月12日" not in _text(path)
    clock.now = at(2026, 6, 12, 15)
    hdr = f.staff_token(client, worker)  # a fresh token at the new time
    resp = client.post(
        f"/api/v1/home-visits/{task_id}/visits",
        data={"outcome": "not_at_home", "visited_at": "2026-06-12T14:30:00", **IN_CITY},
        headers={**hdr, "Idempotency-Key": "form-date-1"},
    )
    assert resp.status_code == 201, resp.text
    path.write_bytes(client.get(f"/api/v1/home-visits/{task_id}/form.pdf", headers=hdr).content)
    text = _text(path)
    assert "2026年06月12日" in text  # the visit's date (the task was created on 10 June)
    assert "2026-06-10" not in text


def test_font_file_checked_at_load(tmp_path, monkeypatch) -> None:
    data = pdf_fonts.FONT_FILE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == pdf_fonts.FONT_SHA256
    assert (pdf_fonts.FONT_FILE.parent / "OFL.txt").read_text().count("SIL OPEN FONT LICENSE Version 1.1") == 1
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    monkeypatch.setattr(pdf_fonts, "FONT_FILE", broken)
    monkeypatch.setattr(pdf_fonts, "FONT_NAME", "NotoSansSC-GB2312-broken-test")
    with pytest.raises(pdf_fonts.FontFileMismatch):
        pdf_fonts.cjk_font_name()
