"""Recording a certification (any channel), reinstating suspended pensions, and a pensioner's status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certification import lifecycle, seasons
from certification.errors import (
    CertificationNotFound,
    CertificationWithdrawn,
    InvalidChannel,
    NoOpenSeason,
    PensionOnHold,
    PensionTerminated,
)
from core import audit
from core.settings import Settings, get_settings
from messaging import notices
from models import Certification, Pensioner, Region, StaffUser, Suspension
from models.enums import CertificationChannel, PensionStatus
from registry import regions as region_service
from registry.errors import PensionerNotFound

CHANNELS = {c.value for c in CertificationChannel}


def record_certification(
    *,
    session: Session,
    pensioner_id: int,
    channel: str,
    now: datetime,
    attempt_id: int | None = None,
    staff_id: int | None = None,
    home_visit_id: int | None = None,
    office_region_code: str | None = None,
    source: str | None = None,
    evidence: dict[str, Any] | None = None,
    settings: Settings | None = None,
) -> Certification:
    """Record that a pensioner is alive for the current season; idempotent per (pensioner, season).

    A second call for the same season returns the first certification unchanged. A new certification
    reinstates a suspended pension (with back-pay months), cancels the season's pending reminders and,
    unless the channel is home_visit (the home-visit service closes its own task), cancels open
    home-visit tasks with close_reason 'certified_other_channel'. Flushes; the caller commits.
    Raises NotFound (unknown pensioner), Conflict (terminated pension, no season), InvalidInput (channel).
    """
    settings = settings or get_settings()
    pensioner = _certifiable(session=session, pensioner_id=pensioner_id, channel=channel)
    today = seasons.local_date(now, settings.timezone)
    year = _season_year(session=session, settings=settings, pensioner=pensioner, today=today)
    existing = _find(session, pensioner_id, year)
    if existing is None and settings.season_policy == "rolling":
        existing = _still_valid(session, settings, pensioner, today)
    if existing is not None:
        return existing
    cert = Certification(
        pensioner_id=pensioner_id,
        season_year=year,
        certified_at=now,
        channel=channel,
        source=source,
        attempt_id=attempt_id,
        staff_id=staff_id,
        home_visit_id=home_visit_id,
        office_region_code=office_region_code,
        evidence=evidence,
    )
    first = _insert_once(session, cert)
    if first is not cert:
        return first
    actor: tuple[str, int | None] = ("staff", staff_id) if staff_id else ("system", None)
    audit.record(
        session=session,
        actor_type=actor[0],
        actor_id=actor[1],
        action="certification.recorded",
        target_type="pensioner",
        target_id=pensioner_id,
        detail={"season_year": year, "channel": channel, "source": source, "certification_id": cert.id},
    )
    _follow_up(session=session, settings=settings, pensioner=pensioner, cert=cert, now=now, today=today, actor=actor)
    session.flush()
    return cert


def _certifiable(*, session: Session, pensioner_id: int, channel: str) -> Pensioner:
    """The pensioner, locked for the certification; refuses an unknown channel, a terminated or held pension."""
    if channel not in CHANNELS:
        raise InvalidChannel()
    pensioner = session.get(Pensioner, pensioner_id, with_for_update=True)
    if pensioner is None:
        raise PensionerNotFound()
    if pensioner.pension_status == PensionStatus.TERMINATED.value:
        raise PensionTerminated()
    if pensioner.pension_status == PensionStatus.ON_HOLD.value:
        raise PensionOnHold()
    return pensioner


def _insert_once(session: Session, cert: Certification) -> Certification:
    """Insert the certification, or return the one another transaction recorded for the same season first."""
    try:
        with session.begin_nested():
            session.add(cert)
    except IntegrityError:
        found = _find(session, cert.pensioner_id, cert.season_year)
        if found is None:
            raise
        return found
    return cert


def _follow_up(
    *,
    session: Session,
    settings: Settings,
    pensioner: Pensioner,
    cert: Certification,
    now: datetime,
    today: date,
    actor: tuple[str, int | None],
) -> None:
    """Reinstate the pension, move a rolling due date, cancel the season's reminders and other channels' visits."""
    year = cert.season_year
    if lifecycle.reinstate(
        session=session, pensioner=pensioner, now=now, today=today, actor=actor, certification_id=cert.id
    ):
        notices.queue_reinstatement_notices(session=session, settings=settings, pensioner_ids=[pensioner.id], now=now)
    if settings.season_policy == "rolling":
        cert.replaced_due_date = pensioner.certification_due_date
        pensioner.certification_due_date = seasons.add_months(today, settings.rolling_validity_months)
    cancelled = lifecycle.cancel_pending_reminders(session=session, pensioner_id=pensioner.id, season_year=year)
    tasks = 0
    if cert.channel != CertificationChannel.HOME_VISIT.value:
        tasks = lifecycle.cancel_open_home_visits(
            session=session, pensioner_id=pensioner.id, now=now, reason="certified_other_channel", season_year=year
        )
    if cancelled or tasks:
        audit.record(
            session=session,
            actor_type="system",
            actor_id=None,
            action="certification.follow_ups_cancelled",
            target_type="pensioner",
            target_id=pensioner.id,
            detail={"season_year": year, "reminders": cancelled, "home_visit_tasks": tasks},
        )


def _find(session: Session, pensioner_id: int, year: int) -> Certification | None:
    return session.scalar(
        select(Certification)
        .where(
            Certification.pensioner_id == pensioner_id,
            Certification.season_year == year,
            Certification.withdrawn_at.is_(None),
        )
        .execution_options(populate_existing=True)
    )


def _season_year(*, session: Session, settings: Settings, pensioner: Pensioner, today: date) -> int:
    if settings.season_policy == "rolling":
        due = pensioner.certification_due_date
        return due.year if due else today.year
    season = seasons.current_season(session=session, today=today)
    if season is None:
        raise NoOpenSeason()
    return season.year


def _still_valid(session: Session, settings: Settings, pensioner: Pensioner, today: date) -> Certification | None:
    """Rolling policy: before the person's window opens, the latest certification still stands."""
    due = pensioner.certification_due_date
    if due is None or today >= seasons.rolling_window(settings, due).open_date:
        return None
    return session.scalar(
        select(Certification)
        .where(Certification.pensioner_id == pensioner.id, Certification.withdrawn_at.is_(None))
        .order_by(Certification.certified_at.desc())
        .limit(1)
    )


def withdraw_certification(
    *,
    session: Session,
    settings: Settings,
    certification_id: int,
    region: Region,
    staff: StaffUser,
    reason: str,
    now: datetime,
) -> Certification:
    """A supervisor withdraws a certification: kept and marked; the suspensions it lifted reopen, reversed in payroll.

    Raises NotFound (no such certification in the jurisdiction), Conflict (already withdrawn, pension terminated).
    """
    cert = session.scalar(
        select(Certification)
        .join(Pensioner, Pensioner.id == Certification.pensioner_id)
        .where(Certification.id == certification_id, region_service.pensioner_scope(region))
        .with_for_update()
    )
    if cert is None:
        raise CertificationNotFound()
    if cert.withdrawn_at is not None:
        raise CertificationWithdrawn()
    pensioner = session.get(Pensioner, cert.pensioner_id, with_for_update=True)
    assert pensioner is not None
    if pensioner.pension_status == PensionStatus.TERMINATED.value:
        raise PensionTerminated()
    before = pensioner.pension_status
    cert.withdrawn_at, cert.withdrawn_by_staff_id, cert.withdrawal_reason = now, staff.id, reason
    session.flush()
    reversals = lifecycle.reverse_reinstatements(
        session=session, pensioner=pensioner, certification_id=cert.id, now=now, actor=("staff", staff.id)
    )
    if reversals:  # suspended again: an unsent reinstatement notice would now be wrong
        notices.cancel_pending_notices(
            session=session, pensioner_ids=[pensioner.id], kinds=[notices.REINSTATEMENT_NOTICE]
        )
    if settings.season_policy == "rolling":
        _restore_due_date(session=session, pensioner=pensioner, cert=cert)
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=staff.id,
        action="certification.withdrawn",
        target_type="certification",
        target_id=cert.id,
        detail={
            "pensioner_id": pensioner.id,
            "season_year": cert.season_year,
            "channel": cert.channel,
            "reason": reason,
            "certification": {"before": "certified", "after": "withdrawn"},
            "pension_status": {"before": before, "after": pensioner.pension_status},
            "reversal_entry_ids": [r.id for r in reversals],
        },
    )
    session.flush()
    return cert


def _restore_due_date(*, session: Session, pensioner: Pensioner, cert: Certification) -> None:
    """Rolling policy: the due date goes back to the one this certification replaced, unless a later one stands."""
    later = session.scalar(
        select(Certification.id)
        .where(
            Certification.pensioner_id == pensioner.id,
            Certification.withdrawn_at.is_(None),
            Certification.certified_at > cert.certified_at,
        )
        .limit(1)
    )
    if later is None and cert.replaced_due_date is not None:
        pensioner.certification_due_date = cert.replaced_due_date


class CertificationState(StrEnum):
    """Where the pensioner stands for the current season."""

    CERTIFIED = "certified"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"
    NO_SEASON = "no_season"


@dataclass(frozen=True)
class CertificationStatus:
    """What the pensioner's app shows."""

    status: CertificationState
    message_zh: str
    message_en: str
    season_year: int | None = None
    deadline: date | None = None
    days_left: int | None = None
    channel: str | None = None
    certified_at: datetime | None = None
    suspended_from: date | None = None
    back_pay_months: int | None = None  # what a certification today pays back (the reinstatement's rule)


def _open_suspension(session: Session, pensioner_id: int) -> Suspension | None:
    """The pensioner's suspension not yet reinstated (the newest), if any."""
    return session.scalar(
        select(Suspension)
        .where(Suspension.pensioner_id == pensioner_id, Suspension.reinstated_at.is_(None))
        .order_by(Suspension.effective_date.desc())
        .limit(1)
    )


def certification_status(
    *, session: Session, settings: Settings, pensioner: Pensioner, now: datetime
) -> CertificationStatus:
    """The pensioner's state for the current season, with a bilingual message."""
    today = seasons.local_date(now, settings.timezone)
    window, deadline = seasons.deadline_for(session=session, settings=settings, pensioner=pensioner, today=today)
    year = window.season_year if window else None
    cert = _find(session, pensioner.id, year) if year is not None else None
    if cert is None and settings.season_policy == "rolling" and window is not None:
        cert = _still_valid(session, settings, pensioner, today)
    days_left = (deadline - today).days if deadline else None
    if pensioner.pension_status == PensionStatus.TERMINATED.value:
        return CertificationStatus(
            CertificationState.TERMINATED, "养老金已终止发放。", "The pension has been terminated.", season_year=year
        )
    if pensioner.pension_status == PensionStatus.ON_HOLD.value:
        return CertificationStatus(
            CertificationState.ON_HOLD,
            "收到您的死亡报告，养老金暂停发放，正在核实。如有误，请联系社区或社保经办机构，核实后补发。",
            "A death was reported for you; the pension is on hold while it is checked. If this is wrong, contact"
            " your community or the social-insurance office; held months are paid back.",
            season_year=year,
        )
    if cert is not None:
        local = cert.certified_at.astimezone(seasons.ZoneInfo(settings.timezone))
        return CertificationStatus(
            CertificationState.CERTIFIED,
            f"您已于{local:%Y年%m月%d日}完成本年度认证，无需重复认证。",
            f"You certified on {local:%Y-%m-%d}; nothing more to do this year.",
            season_year=year,
            deadline=deadline,
            days_left=days_left,
            channel=cert.channel,
            certified_at=cert.certified_at,
        )
    if pensioner.pension_status == PensionStatus.SUSPENDED.value:
        open_suspension = _open_suspension(session, pensioner.id)
        return CertificationStatus(
            CertificationState.SUSPENDED,
            "因未按期认证，养老金已暂停发放。完成认证后将恢复发放并补发暂停期间的养老金。",
            "Your pension is suspended for a missed certification. Certify to have it reinstated with back pay.",
            season_year=year,
            deadline=deadline,
            days_left=days_left,
            suspended_from=open_suspension.effective_date if open_suspension else None,
            back_pay_months=seasons.months_between(open_suspension.effective_date, today) if open_suspension else None,
        )
    if deadline is None or days_left is None:
        return CertificationStatus(CertificationState.NO_SEASON, "当前没有认证期。", "No certification season is open.")
    return _pending(year=year, deadline=deadline, days_left=days_left)


def _pending(*, year: int | None, deadline: date, days_left: int) -> CertificationStatus:
    """Not yet certified: the deadline ahead, or passed."""
    if days_left >= 0:
        zh = f"请于{deadline:%Y年%m月%d日}前完成认证，还剩{days_left}天。可使用手机App刷脸、到社保窗口办理，卧床老人可申请上门认证。"
        en = f"Please certify by {deadline:%Y-%m-%d} ({days_left} days left): in the app, at a counter, or ask for a home visit if bedridden."
    else:
        zh = f"认证截止日期{deadline:%Y年%m月%d日}已过，请尽快认证，以免养老金暂停发放。"
        en = f"The deadline {deadline:%Y-%m-%d} has passed; certify now to avoid suspension."
    return CertificationStatus(
        CertificationState.PENDING, zh, en, season_year=year, deadline=deadline, days_left=days_left
    )
