"""The assisted-certification form (异地居住离退休人员领取养老金资格协助认证表), prefilled, as a PDF."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FONT = "STSong-Light"  # reportlab's built-in CID font: no font file is shipped or downloaded
TITLE = "异地居住离退休人员领取养老金资格协助认证表"
_SEX = {"M": "男", "F": "女"}
PAGE_W, PAGE_H = A4
LEFT, RIGHT = 20 * mm, PAGE_W - 20 * mm


@dataclass(frozen=True)
class FormData:
    """What the form is prefilled with."""

    task_id: int
    season_year: int
    name: str
    national_id: str
    sex: str
    birth_date: date
    address: str
    phone: str | None
    family_phone: str | None
    paying_region: str | None
    reason: str
    due_date: date


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def render(data: FormData) -> bytes:
    """One A4 page: the pensioner's data, then blanks for the outcome and the signatures."""
    font = _font()
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, pageCompression=0)
    pdf.setTitle(f"{TITLE} {data.name}")
    pdf.setAuthor("pension-cert")
    y = _title(pdf, font, data, PAGE_H - 25 * mm)
    y = _data_table(pdf, font, data, y)
    _blanks(pdf, font, y)
    pdf.setFont(font, 8)
    pdf.drawString(LEFT, 15 * mm, f"Assisted pension certification form · task {data.task_id} · ID {data.national_id}")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def _title(pdf: canvas.Canvas, font: str, data: FormData, y: float) -> float:
    """The title and the season/task line; returns where the table starts."""
    pdf.setFont(font, 15)
    pdf.drawCentredString(PAGE_W / 2, y, TITLE)
    y -= 8 * mm
    pdf.setFont(font, 10)
    pdf.drawCentredString(PAGE_W / 2, y, f"认证年度：{data.season_year}    任务编号：{data.task_id}")
    return y - 10 * mm


def _data_table(pdf: canvas.Canvas, font: str, data: FormData, y: float) -> float:
    """The prefilled label/value rows; returns the y below the table."""
    rows = [
        ("姓名", data.name),
        ("性别", _SEX.get(data.sex, data.sex)),
        ("公民身份号码", data.national_id),
        ("出生日期", data.birth_date.isoformat()),
        ("居住地址", data.address),
        ("联系电话", data.phone or ""),
        ("家属电话", data.family_phone or ""),
        ("参保（发放）地", data.paying_region or ""),
        ("上门原因", data.reason),
        ("计划走访日期", data.due_date.isoformat()),
    ]
    row_h = 9 * mm
    label_w = 40 * mm
    pdf.setLineWidth(0.6)
    for label, value in rows:
        pdf.rect(LEFT, y - row_h, RIGHT - LEFT, row_h)
        pdf.line(LEFT + label_w, y, LEFT + label_w, y - row_h)
        pdf.setFont(font, 11)
        pdf.drawString(LEFT + 2 * mm, y - 6 * mm, label)
        pdf.drawString(LEFT + label_w + 3 * mm, y - 6 * mm, value)
        y -= row_h
    return y


def _blanks(pdf: canvas.Canvas, font: str, y: float) -> None:
    """The outcome boxes to tick, the declaration and the signature lines."""
    y -= 8 * mm
    pdf.setFont(font, 11)
    pdf.drawString(LEFT, y, "认证结果（请勾选）：")
    y -= 8 * mm
    for line in (
        "□ 本人健在，认证通过    □ 已死亡（死亡日期：________）",
        "□ 不在家    □ 住院    □ 已迁居（新住址：______________）    □ 拒绝认证",
    ):
        pdf.drawString(LEFT + 4 * mm, y, line)
        y -= 8 * mm
    y -= 4 * mm
    for line in (
        "本人声明：本人健在，以上信息真实有效；",
        "同意工作人员现场拍照，用于养老金领取资格认证及人脸比对（单独同意）。",
    ):
        pdf.drawString(LEFT, y, line)
        y -= 7 * mm
    y -= 7 * mm
    pdf.drawString(LEFT, y, "领取人（或代办人）签字：________________        日期：____年__月__日")
    y -= 12 * mm
    pdf.drawString(LEFT, y, "认证工作人员签字：________________        日期：____年__月__日")
    y -= 12 * mm
    pdf.drawString(LEFT, y, "经办机构（盖章）：")
