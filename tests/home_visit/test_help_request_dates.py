"""A help request never promises a contact date in the past (reported: 2026年06月23日前, asked in December)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from core.settings import Settings
from tests import factories
from tests.home_visit.helpers import at, open_task, season


def test_a_request_after_the_close_promises_a_date_ahead(session: Session, settings: Settings) -> None:
    factories.seed_regions(session)
    season(session, settings)
    p = factories.pensioner(session)
    june = open_task(session, settings, p, at(2026, 6, 16))
    assert june.due_date == date(2026, 6, 23)  # a week out, before the close
    again = open_task(session, settings, p, at(2026, 12, 2))  # nobody came; the family asks again
    assert again.id == june.id and again.due_date == date(2026, 12, 9)
    other = factories.pensioner(session)
    assert open_task(session, settings, other, at(2026, 12, 2)).due_date == date(2026, 12, 9)


def test_before_the_close_the_promise_stays_inside_the_window(session: Session, settings: Settings) -> None:
    factories.seed_regions(session)
    season(session, settings)
    task = open_task(session, settings, factories.pensioner(session), at(2026, 6, 27))
    assert task.due_date == date(2026, 6, 29)
