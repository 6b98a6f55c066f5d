"""SMS texts, Simplified Chinese first with English beside it."""

from __future__ import annotations

from datetime import date

WAYS_ZH = "可通过：1.手机App刷脸认证；2.到任一社保经办窗口认证；3.卧床或行动不便的老人可申请工作人员上门认证。"
WAYS_EN = "Ways to certify: 1. face check in the app; 2. any social-insurance counter; 3. a home visit for the bedridden or frail."


# Stands for the masked name in a family copy's text until SQL puts each person's in (messaging.notices).
WHOSE = "\x00"


def mask_name(name: str) -> str:
    """张*明 (first and last character, one star between; 张* for two characters): whose message it is."""
    if len(name) <= 1:
        return name
    return f"{name[0]}*" if len(name) == 2 else f"{name[0]}*{name[-1]}"


def _zh_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _zh_month(day: date) -> str:
    return f"{day.year}年{day.month}月"


def reminder_text(deadline: date, *, family: bool, whose: str | None = None) -> tuple[str, str]:
    """Simplified Chinese and English SMS text; a family copy names whose certification it is when `whose` is given."""
    dl_zh = _zh_date(deadline)
    if family:
        who_zh, who_en = (
            (f"您的家人{whose}", f"Your family member {whose}") if whose else ("您的家人", "Your family member")
        )
        zh = f"【养老金认证】{who_zh}尚未完成本年度养老金领取资格认证，截止日期{dl_zh}，请协助其按时认证。{WAYS_ZH}"
        en = f"{who_en} has not yet certified for their pension; the deadline is {deadline:%Y-%m-%d}. Please help. {WAYS_EN}"
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


def suspension_notice_text(effective: date, *, whose: str | None = None) -> tuple[str, str]:
    """The notice of a suspension for a missed certification; a family copy (whose = masked name) names the person."""
    month_zh = _zh_month(effective)
    if whose is None:
        zh = (
            f"【养老金认证】您未在规定期限内完成本年度养老金领取资格认证，养老金自{month_zh}起暂停发放。"
            f"完成认证后即恢复发放，暂停期间的养老金将予补发。{WAYS_ZH}"
        )
        en = (
            f"You did not certify for your pension in time; payment is suspended from {effective:%Y-%m}. "
            f"Certify to have it resumed, with back pay for the months suspended. {WAYS_EN}"
        )
    else:
        zh = (
            f"【养老金认证】您的家人{whose}未在规定期限内完成本年度养老金领取资格认证，养老金自{month_zh}起暂停发放。"
            f"请协助其尽快认证，认证后即恢复发放并补发暂停期间的养老金。{WAYS_ZH}"
        )
        en = (
            f"Your family member {whose} did not certify for their pension in time; payment is suspended from "
            f"{effective:%Y-%m}. Please help them certify: payment then resumes, with back pay. {WAYS_EN}"
        )
    return zh, en


def back_pay_months(suspended_from: date, months: int) -> list[date]:
    """The first day of each back-paid month: from the suspension's month, `months` of them."""
    out = []
    for i in range(months):
        year, month0 = divmod(suspended_from.year * 12 + suspended_from.month - 1 + i, 12)
        out.append(date(year, month0 + 1, 1))
    return out


def reinstatement_notice_text(
    *, resumes: date, suspended_from: date, months: int, whose: str | None = None, certified: bool = True
) -> tuple[str, str]:
    """The notice of a reinstatement: payment resumes this month, with the back-paid months named."""
    paid = back_pay_months(suspended_from, months)
    if paid:
        span_zh = _zh_month(paid[0]) if len(paid) == 1 else f"{_zh_month(paid[0])}至{_zh_month(paid[-1])}"
        span_en = f"{paid[0]:%Y-%m}" if len(paid) == 1 else f"{paid[0]:%Y-%m} to {paid[-1]:%Y-%m}"
        back_zh = f"，并补发{span_zh}共{months}个月的养老金"
        back_en = f", with back pay for {span_en} ({months} month{'s' if months > 1 else ''})"
    else:
        back_zh = back_en = ""
    who_zh = f"您的家人{whose}" if whose else "您"
    if certified:
        lead_zh = f"{who_zh}已完成养老金领取资格认证，养老金"
        lead_en = (
            f"Your family member {whose} has certified; their pension" if whose else "You have certified; your pension"
        )
    else:  # lifted because the certification window was extended
        lead_zh = f"因认证期限延长，{who_zh}的养老金"
        lead_en = f"The certification window was extended: {f'the pension of {whose}' if whose else 'your pension'}"
    zh = f"【养老金认证】{lead_zh}自{_zh_month(resumes)}起恢复发放{back_zh}。"
    en = f"{lead_en} is paid again from {resumes:%Y-%m}{back_en}."
    if not certified:
        zh += "请在新的截止日期前完成认证。"
        en += " Please certify before the new deadline."
    return zh, en


def appointment_text(*, day: date, worker: str, whose: str | None = None) -> tuple[str, str]:
    """The home-visit appointment: the date and the field worker's name."""
    for_zh, for_en = (f"为您的家人{whose}", f"your family member {whose}") if whose else ("为您", "you")
    zh = (
        f"【养老金认证】社保工作人员{worker}将于{_zh_date(day)}上门{for_zh}办理养老金领取资格认证，"
        "请届时在家，并备好身份证。如需改期，请联系社区或社保经办窗口。"
    )
    en = (
        f"Social-insurance worker {worker} will visit {for_en} on {day:%Y-%m-%d} for the pension certification. "
        "Please be at home with the ID card; to change the date, call the community or a social-insurance counter."
    )
    return zh, en


def forwarded_text(body_zh: str, body_en: str, *, whose: str) -> tuple[str, str]:
    """A message that could not reach the pensioner, forwarded to the family phone with whose it is."""
    zh = f"【养老金认证】以下通知无法送达您的家人{whose}本人，特转发给您：{body_zh}"
    en = f"This notice could not reach your family member {whose}, so it is forwarded to you: {body_en}"
    return zh, en
