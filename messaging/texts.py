"""SMS texts, Simplified Chinese first with English beside it."""

from __future__ import annotations

from datetime import date

WAYS_ZH = "可通过：1.手机App刷脸认证；2.到任一社保经办窗口认证；3.卧床或行动不便的老人可申请工作人员上门认证。"
WAYS_EN = "Ways to certify: 1. face check in the app; 2. any social-insurance counter; 3. a home visit for the bedridden or frail."


def reminder_text(deadline: date, *, family: bool) -> tuple[str, str]:
    """Simplified Chinese and English SMS text."""
    dl_zh = f"{deadline.year}年{deadline.month}月{deadline.day}日"
    if family:
        zh = f"【养老金认证】您的家人尚未完成本年度养老金领取资格认证，截止日期{dl_zh}，请协助其按时认证。{WAYS_ZH}"
        en = f"Your family member has not yet certified for their pension; the deadline is {deadline:%Y-%m-%d}. Please help. {WAYS_EN}"
    else:
        zh = f"【养老金认证】您尚未完成本年度养老金领取资格认证，请于{dl_zh}前完成，逾期将暂停发放。{WAYS_ZH}"
        en = f"You have not yet certified for your pension this year. Please certify by {deadline:%Y-%m-%d} or payment will be suspended. {WAYS_EN}"
    return zh, en


def mask_phone(phone: str | None) -> str | None:
    """138****5678 (None stays None)."""
    if phone is None:
        return None
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def phone_changed_text(*, field: str, new_masked: str | None) -> tuple[str, str]:
    """The notice to the number being replaced: Simplified Chinese and English."""
    who_zh, who_en = (
        ("家属联系电话", "family contact number") if field == "family_phone" else ("手机号", "mobile number")
    )
    new_zh = f"变更为{new_masked}" if new_masked else "删除"
    new_en = f"changed to {new_masked}" if new_masked else "removed"
    zh = (
        f"【养老金认证】您在社保经办机构登记的养老金认证{who_zh}已{new_zh}，此后的登录验证码和通知将不再发送到本号码。"
        "如非本人或家属申请，请尽快致电或到社保经办窗口核实。"
    )
    en = (
        f"The {who_en} registered for your pension certification has been {new_en}; login codes and notices will "
        "no longer come to this number. If you did not ask for this, call or visit a social-insurance counter now."
    )
    return zh, en
