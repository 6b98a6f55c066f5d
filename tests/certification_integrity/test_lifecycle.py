"""The pension state machine: one table of allowed transitions, each change audited with before and after."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from certification import lifecycle, passive
from certification.errors import TransitionNotAllowed
from models import AuditEvent, Pensioner, PensionHold
from models.enums import PensionStatus
from tests import factories as f
from tests.certification_integrity.helpers import at
from tests.home_visit.helpers import season

Via = lifecycle.Via


def test_the_table_allows_only_the_drawn_transitions() -> None:
    allowed = {(a, b, v) for (a, b), vias in lifecycle.TRANSITIONS.items() for v in vias}
    # A death report only holds; only a supervisor's confirmation or the registry's deaths file terminates.
    assert ("active", "terminated", Via.DEATH_REPORT) not in allowed
    assert ("on_hold", "terminated", Via.DEATH_CONFIRMED) in allowed
    assert {v for a, b, v in allowed if b == "terminated"} == {Via.DEATH_CONFIRMED, Via.DEATHS_IMPORT}
    # Nothing leaves "terminated"; nothing but a supervisor's decision leaves "on hold".
    assert not [t for t in allowed if t[0] == "terminated"]
    assert {v for a, b, v in allowed if a == "on_hold"} == {Via.REPORT_REJECTED, Via.DEATH_CONFIRMED, Via.DEATHS_IMPORT}
    for before in PensionStatus:
        for after in PensionStatus:
            for via in Via:
                if (before, after, via) in allowed:
                    lifecycle.check_transition(before, after, via)
                else:
                    with pytest.raises(TransitionNotAllowed):
                        lifecycle.check_transition(before, after, via)


def test_a_held_pension_cannot_be_terminated_by_a_second_report_but_the_deaths_file_ends_it(session, settings) -> None:
    f.seed_regions(session)
    season(session, settings)
    worker = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    p = f.pensioner(session)
    hold = lifecycle.hold_on_reported_death(
        session=session,
        settings=settings,
        pensioner=p,
        death_date=date(2026, 6, 2),
        now=at(2026, 6, 10),
        staff_id=worker.id,
        home_visit_id=None,
    )
    with pytest.raises(TransitionNotAllowed):
        lifecycle.hold_on_reported_death(
            session=session,
            settings=settings,
            pensioner=p,
            death_date=date(2026, 6, 2),
            now=at(2026, 6, 11),
            staff_id=worker.id,
            home_visit_id=None,
        )
    data = f"national_id,death_date\n{p.national_id},2026-06-02\n".encode()
    result = passive.import_deaths(session=session, settings=settings, data=data, now=at(2026, 9, 10))
    # Payment stopped with the hold (from July): nothing paid after the death to recover.
    assert result.terminated == 1 and result.recoveries == []
    assert session.get(Pensioner, p.id).pension_status == "terminated"  # type: ignore[union-attr]
    assert session.get(PensionHold, hold.id).decision == "terminated"  # type: ignore[union-attr]
    changes = [
        (e.action, e.detail["before"], e.detail["after"], e.detail["via"])
        for e in session.scalars(
            select(AuditEvent).where(AuditEvent.target_type == "pensioner").order_by(AuditEvent.id)
        )
        if e.detail and "via" in e.detail
    ]
    assert changes == [
        ("pension.held", "active", "on_hold", "death_reported"),
        ("pension.terminated", "on_hold", "terminated", "deaths_import"),
    ]
    session.rollback()
