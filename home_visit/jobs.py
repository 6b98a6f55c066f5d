"""What the scheduler calls in the home-visit domain: the daily task sweep."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from core.jobs import SweepContext
from core.settings import Settings
from home_visit.assignment import assign_unassigned
from home_visit.tasks import create_due_tasks, escalate_overdue


@dataclass
class SweepResult:
    """Counters of one home-visit sweep."""

    created: Counter[str] = field(default_factory=Counter)
    assigned: int = 0
    escalated: int = 0

    def as_dict(self) -> dict[str, int]:
        """Flat counters for the sweep registry."""
        out = {"home_visit_tasks_created": sum(self.created.values())}
        out.update({f"home_visit_tasks_created_{k}": v for k, v in sorted(self.created.items())})
        out["home_visit_tasks_assigned"] = self.assigned
        out["home_visit_tasks_escalated"] = self.escalated
        return out


def sweep(*, session: Session, settings: Settings, now: datetime) -> SweepResult:
    """The daily home-visit sweep: create due tasks, assign them, escalate overdue ones."""
    result = SweepResult()
    result.created = create_due_tasks(session=session, settings=settings, now=now)
    result.assigned = assign_unassigned(session=session, settings=settings, now=now)
    result.escalated = escalate_overdue(session=session, settings=settings, now=now)
    session.flush()
    return result


def sweep_home_visits(ctx: SweepContext) -> dict[str, int]:
    """Create due tasks (set-based), assign them, escalate overdue ones; returns counters."""
    return sweep(session=ctx.session, settings=ctx.settings, now=ctx.now).as_dict()
