"""The assisted-certification form (离退休人员领取养老金资格协助认证表), prefilled, as a PDF with an embedded font."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification import seasons
from core.pdf_fonts import cjk_font_name
from core.settings import Settings
from home_visit import addresses, labels
from models import HomeVisit, HomeVisitTask, Pensioner

# 异地 (out of town) only when the pension is paid by another region than the one the person lives in.
TITLE_LOCAL = "离退休人员领取养老金资格协助认证表"
TITLE_OUT_OF_TOWN = "异地居住离退休人员领取养老金资格协助认证表"
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
    out_of_town: bool = False
    visit_date: date | None = None  # the (latest) visit's local date; blank on the form until a visit is recorded

    @property
    def title(self) -> str:
        """The form's title: 异地居住… only for someone living outside the paying region."""
        return TITLE_OUT_OF_TOWN if self.out_of_town else TITLE_LOCAL


def form_data(*, session: Session, settings: Settings, task: HomeVisitTask) -> FormData:
    """What the form of a task shows: the pensioner, the paying region, the reason and the visit's date."""
    p = session.get(Pensioner, task.pensioner_id)
    assert p is not None
    last_visit = session.scalar(
        select(HomeVisit.visited_at).where(HomeVisit.task_id == task.id).order_by(HomeVisit.visited_at.desc()).limit(1)
    )
    return FormData(
        task_id=task.id,
        season_year=task.season_year,
        name=p.name,
        national_id=p.national_id,
        sex=p.sex,
        birth_date=p.birth_date,
        address=addresses.full_address(session=session, pensioner=p),
        phone=p.phone,
        family_phone=p.family_phone,
        paying_region=addresses.region_name(session=session, code=p.paying_region_code),
        reason=labels.reason_label(task.reason)[0],
        due_date=task.due_date,
        out_of_town=p.paying_region_code is not None and p.paying_region_code not in addresses.region_chain(p),
        visit_date=seasons.local_date(last_visit, settings.timezone) if last_visit else None,
    )


def render(data: FormData) -> bytes:
    """One A4 page: the pensioner's data, then blanks for the outcome and the signatures."""
    font = cjk_font_name()
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, pageCompression=0, initialFontName=font)
    pdf.setTitle(f"{data.title} {data.name}")
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
    pdf.drawCentredString(PAGE_W / 2, y, data.title)
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
        ("走访日期", f"{data.visit_date:%Y年%m月%d日}" if data.visit_date else "____年__月__日"),
    ]
    row_h = 9 * mm
    label_w = 40 * mm
    pdf.setLineWidth(0.6)
    for label, value in rows:
        pdf.rect(LEFT, y - row_h, RIGHT - LEFT, row_h)
        pdf.line(LEFT + label_w, y, LEFT + label_w, y - row_h)
        pdf.setFont(font, 11)
        pdf.drawString(LEFT + 2 * mm, y - 6 * mm, label)
        pdf.setFont(font, _fitting_size(font, value, RIGHT - LEFT - label_w - 5 * mm))
        pdf.drawString(LEFT + label_w + 3 * mm, y - 6 * mm, value)
        y -= row_h
    return y


def _fitting_size(font: str, text: str, width: float) -> float:
    """The largest size from 11 pt down to 7 pt at which `text` fits in `width` (a long address shrinks)."""
    size = 11.0
    while size > 7 and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


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
