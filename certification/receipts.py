"""The certification receipt (领取养老金资格认证回执): its verification code, the public check, and the PDF."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification import service as certification_service
from certification.errors import NoReceipt
from core.pdf_fonts import cjk_font_name
from core.settings import Settings
from models import Certification, Pensioner

TITLE = "领取养老金资格认证回执"
CHANNEL_ZH = {
    "app": "手机刷脸认证",
    "counter": "社保窗口认证",
    "home_visit": "上门认证",
    "self_service_terminal": "自助终端认证",
    "data_comparison": "数据比对认证",
}
VERIFY_PATH = "app/#/verify"


@dataclass(frozen=True)
class Receipt:
    """What the receipt shows."""

    certification_id: int
    season_year: int
    certified_at: datetime
    channel: str
    name: str
    national_id_masked: str
    verification_code: str
    verification_url: str


def mask_id(national_id: str) -> str:
    """The national ID with its middle hidden."""
    return national_id[:6] + "********" + national_id[-4:]


def mask_name(name: str) -> str:
    """王秀英 → 王*英; 王英 → 王*."""
    return name[:1] + "*" * max(1, len(name) - 2) + (name[-1] if len(name) > 2 else "")


def verification_code(settings: Settings, cert: Certification) -> str:
    """A keyed code bound to this certification (10 base32 characters, about 50 bits): XXXXX-XXXXX."""
    message = f"receipt:{cert.id}:{cert.pensioner_id}:{cert.season_year}:{cert.channel}".encode()
    digest = hmac.new(settings.secret_key.encode(), message, hashlib.sha256).digest()
    code = base64.b32encode(digest).decode()[:10]
    return f"{code[:5]}-{code[5:]}"


def _certification(session: Session, settings: Settings, pensioner: Pensioner, now: datetime) -> Certification:
    status = certification_service.certification_status(
        session=session, settings=settings, pensioner=pensioner, now=now
    )
    if status.status is not certification_service.CertificationState.CERTIFIED or status.season_year is None:
        raise NoReceipt()
    cert = session.scalar(
        select(Certification).where(
            Certification.pensioner_id == pensioner.id,
            Certification.season_year == status.season_year,
            Certification.withdrawn_at.is_(None),
        )
    )
    if cert is None:
        raise NoReceipt()
    return cert


def my_receipt(*, session: Session, settings: Settings, pensioner: Pensioner, now: datetime, base_url: str) -> Receipt:
    """The receipt of the pensioner's certification this season (NoReceipt when there is none)."""
    cert = _certification(session, settings, pensioner, now)
    code = verification_code(settings, cert)
    return Receipt(
        certification_id=cert.id,
        season_year=cert.season_year,
        certified_at=cert.certified_at,
        channel=cert.channel,
        name=pensioner.name,
        national_id_masked=mask_id(pensioner.national_id),
        verification_code=code,
        verification_url=f"{base_url.rstrip('/')}/{VERIFY_PATH}/{cert.id}/{code}",
    )


def check(*, session: Session, settings: Settings, certification_id: int, code: str) -> Certification | None:
    """The certification a receipt names, when its code is right and it was not withdrawn; None otherwise."""
    cert = session.get(Certification, certification_id)
    if cert is None:
        return None
    wanted = verification_code(settings, cert)
    given = code.strip().upper().replace(" ", "")
    if not hmac.compare_digest(wanted.encode(), given.encode()):
        return None
    return cert


def render_pdf(receipt: Receipt, *, timezone: str) -> bytes:
    """One A5 page: title, the certification, the verification code and URL."""
    font = cjk_font_name()
    width, height = A5
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A5, pageCompression=0, initialFontName=font)
    pdf.setTitle(f"{TITLE} {receipt.certification_id}")
    pdf.setAuthor("pension-cert")
    pdf.setFont(font, 18)
    pdf.drawCentredString(width / 2, height - 22 * mm, TITLE)
    local = receipt.certified_at.astimezone(ZoneInfo(timezone))
    rows = [
        ("姓名", receipt.name),
        ("身份证号", receipt.national_id_masked),
        ("认证年度", f"{receipt.season_year}年度"),
        ("认证时间", f"{local:%Y年%m月%d日 %H:%M}"),
        ("认证方式", CHANNEL_ZH.get(receipt.channel, receipt.channel)),
        ("回执编号", str(receipt.certification_id)),
        ("校验码", receipt.verification_code),
    ]
    y = height - 40 * mm
    for label, value in rows:
        pdf.setFont(font, 12)
        pdf.drawString(16 * mm, y, f"{label}：")
        pdf.drawString(45 * mm, y, value)
        y -= 10 * mm
    pdf.setFont(font, 10)
    pdf.drawString(16 * mm, y - 2 * mm, "工作人员可在以下网址核验本回执：")
    pdf.setFont("Helvetica", 8)
    pdf.drawString(16 * mm, y - 9 * mm, receipt.verification_url)
    pdf.setFont(font, 9)
    pdf.drawString(16 * mm, 14 * mm, "本回执由养老金领取资格认证服务生成，认证被撤销后核验将显示无效。")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()
