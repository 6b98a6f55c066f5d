"""A small city for the risk tests: season 2026, Wendeng extended, certified and pending people."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from certification import seasons
from models import Certification, HomeVisitTask, LivenessChallenge, Notification, VerificationAttempt
from tests import factories
from tests.browser.cdp import Browser, chromium_path
from tests.browser.server import serve
from tests.staff.browser_helpers import login, wait_js

HUANCUI_TOWN2 = "371002002001"
TODAY = datetime(2026, 6, 20, 2, 0, tzinfo=UTC)  # 10:00 Beijing, 20 June: Huancui has 10 days left


@dataclass
class City:
    """Ids of the people the tests look for."""

    bedridden: int
    old_failed: int
    plain: int
    other_town: int
    wendeng_pending: int
    suspended: int


def _cert(session: Session, pid: int, channel: str, day: int) -> None:
    session.add(
        Certification(
            pensioner_id=pid, season_year=2026, channel=channel, certified_at=datetime(2026, 6, day, 3, tzinfo=UTC)
        )
    )


@pytest.fixture
def city(session: Session, settings, clock) -> City:  # type: ignore[no-untyped-def]
    """Arrange the city and move the clock to 20 June 2026."""
    clock.now = TODAY
    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    seasons.extend_window(session=session, year=2026, region_code=factories.WENDENG, close_date=date(2026, 7, 31))
    p = factories.pensioner
    for channel, day in (("app", 1), ("counter", 15), ("app", 19)):
        _cert(session, p(session).id, channel, day)
    bedridden = p(session, bedridden=True, birth=date(1940, 1, 1), name="李卧床").id
    old = p(session, birth=date(1941, 2, 2), name="张高龄", phone=None, family_phone=None).id
    for i in range(2):
        session.add(
            VerificationAttempt(
                pensioner_id=old,
                at=datetime(2026, 6, 10 + i, tzinfo=UTC),
                channel="app",
                season_year=2026,
                decision="no_match",
            )
        )
    session.add(
        HomeVisitTask(pensioner_id=old, season_year=2026, reason="age_80", status="open", due_date=date(2026, 6, 18))
    )
    plain = p(session, birth=date(1960, 5, 5), name="王普通").id
    session.add(
        Notification(
            pensioner_id=plain,
            phone="13800000001",
            kind="reminder_14",
            season_year=2026,
            body_zh="提醒",
            body_en="reminder",
            status="sent",
            sent_at=datetime(2026, 6, 16, 2, tzinfo=UTC),
        )
    )
    other_town = p(session, region=HUANCUI_TOWN2, birth=date(1955, 1, 1), name="赵二镇").id
    held = p(session, birth=date(1950, 1, 1), name="孙暂停")
    held.pension_status = "suspended"
    p(session, name="周终止").pension_status = "terminated"
    suspended = held.id
    _cert(session, p(session, region=factories.WENDENG_COMMUNITY).id, "home_visit", 18)
    wendeng_pending = p(session, region=factories.WENDENG_COMMUNITY, name="文登待认证").id
    session.commit()
    return City(bedridden, old, plain, other_town, wendeng_pending, suspended)


def app_certification(session: Session, exempted: list[str]) -> None:
    """An app certification of a new Huancui pensioner whose challenge left out `exempted` actions."""
    pid = factories.pensioner(session).id
    challenge = LivenessChallenge(
        id=f"c-{pid}", pensioner_id=pid, actions=["blink"], exempted=exempted, expires_at=TODAY
    )
    attempt = VerificationAttempt(
        pensioner_id=pid, at=TODAY, channel="app", season_year=2026, decision="match", challenge_id=challenge.id
    )
    session.add_all([challenge, attempt])
    session.flush()
    session.add(Certification(pensioner_id=pid, season_year=2026, channel="app", attempt_id=attempt.id))


@contextmanager
def dashboard(app, username: str) -> Iterator[Browser]:  # type: ignore[no-untyped-def]
    """A browser logged in as that supervisor, on the loaded dashboard."""
    with serve(app) as base:
        browser = Browser(chromium_path() or "", window=(1280, 900))
        try:
            assert login(browser, base, username).endswith("/staff/supervisor/")
            wait_js(browser, "document.body.dataset.loaded === 'true'")
            yield browser
        finally:
            browser.close()
