"""The row-by-row life-evidence and deaths imports as they were before issue 16 (kept only to test equivalence)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification import lifecycle, seasons
from certification import service as certification
from certification.errors import ImportRejected
from core.csvfile import read_rows
from core.settings import Settings
from models import LifeEvidence, Pensioner
from models.engine import dialect_insert
from models.enums import CertificationChannel, PensionStatus

# Data a city may compare against; anything else in a file is a mistake or an attack, refused per row.
KNOWN_SOURCES = frozenset({"medical_insurance", "hospital", "bank_counter", "self_service_terminal"})
EVIDENCE_ALIASES = {"身份证号": "national_id", "证据日期": "evidence_date", "来源": "source"}
DEATH_ALIASES = {"身份证号": "national_id", "死亡日期": "death_date"}
MAX_ERRORS = 200


class RowRefusal(StrEnum):
    """Why an import row is refused (each refusal rejects the whole file)."""

    UNKNOWN_NATIONAL_ID = "unknown_national_id"
    INVALID_DATE = "invalid_date"
    FUTURE_DATE = "future_date"
    INVALID_SOURCE = "invalid_source"
    DEATH_BEFORE_BIRTH = "death_before_birth"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"


def _person_date_error(people: dict[str, Pensioner], nid: str, day: date | None, today: date) -> RowRefusal | None:
    """The reason a row's person or date is refused (unknown, unreadable, in the future), or None."""
    if nid not in people:
        return RowRefusal.UNKNOWN_NATIONAL_ID
    if day is None:
        return RowRefusal.INVALID_DATE
    if day > today:
        return RowRefusal.FUTURE_DATE
    return None


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.replace("/", "-"))
    except ValueError:
        return None


def _lookup(session: Session, ids: set[str]) -> dict[str, Pensioner]:
    found: dict[str, Pensioner] = {}
    chunk = sorted(ids)
    for i in range(0, len(chunk), 500):
        for p in session.scalars(select(Pensioner).where(Pensioner.national_id.in_(chunk[i : i + 500]))):
            found[p.national_id] = p
    return found


@dataclass
class LifeEvidenceResult:
    """What a life-evidence import did."""

    rows: int = 0  # = stored + duplicates
    stored: int = 0
    duplicates: int = 0  # rows already imported before (same person, date and source)
    people: int = 0  # = certified + already_certified + not_counted + skipped_not_active
    certified: int = 0
    already_certified: int = 0
    not_counted: int = 0  # people whose newest evidence is from a source not accepted, too old, or before the window
    skipped_not_active: int = 0

    def as_dict(self) -> dict[str, int]:
        """JSON-able counters."""
        return dict(self.__dict__)


def import_life_evidence(*, session: Session, settings: Settings, data: bytes, now: datetime) -> LifeEvidenceResult:
    """Store evidence (national_id,evidence_date,source) and certify people with recent-enough accepted evidence."""
    rows, _ = read_rows(data, EVIDENCE_ALIASES, {"national_id", "evidence_date", "source"})
    today = seasons.local_date(now, settings.timezone)
    people = _lookup(session, {r["national_id"].upper() for _, r in rows})
    errors: list[dict[str, Any]] = []
    parsed: list[tuple[Pensioner, date, str]] = []
    for line, r in rows:
        nid, day, source = r["national_id"].upper(), _date(r["evidence_date"]), r["source"].strip().lower()
        reason = _person_date_error(people, nid, day, today)
        if reason is None and source not in KNOWN_SOURCES:
            reason = RowRefusal.INVALID_SOURCE
        if reason is not None:
            errors.append({"line": line, "national_id": nid, "reason": reason.value})
        elif day is not None:  # always, once there is no reason
            parsed.append((people[nid], day, source))
    if errors:
        raise ImportRejected(errors, shown=MAX_ERRORS)
    result = LifeEvidenceResult(rows=len(parsed))
    if parsed:
        stmt = dialect_insert(session, LifeEvidence).on_conflict_do_nothing(
            index_elements=["pensioner_id", "evidence_date", "source"]
        )
        values = [{"pensioner_id": p.id, "evidence_date": d, "source": s, "imported_at": now} for p, d, s in parsed]
        for v in values:
            res: Any = session.execute(stmt.values(**v), execution_options={"preserve_rowcount": True})
            result.stored += int(res.rowcount or 0)
        result.duplicates = result.rows - result.stored
        result.people = len({p.id for p, _, _ in parsed})
    # The newest accepted evidence per person decides.
    best: dict[int, tuple[Pensioner, date, str]] = {}
    for p, d, s in parsed:
        if settings.life_evidence_source_counts(s) and (p.id not in best or d > best[p.id][1]):
            best[p.id] = (p, d, s)
    result.not_counted = len({p.id for p, _, _ in parsed} - set(best))
    oldest = today - timedelta(days=settings.life_evidence_max_age_days)
    for p, d, s in best.values():
        if p.pension_status in (PensionStatus.TERMINATED.value, PensionStatus.ON_HOLD.value):
            result.skipped_not_active += 1
            continue
        window, _ = seasons.deadline_for(session=session, settings=settings, pensioner=p, today=today)
        if window is None or d < oldest or d < window.open_date:
            result.not_counted += 1
            continue
        before = certification._find(session, p.id, window.season_year)
        cert = certification.record_certification(
            session=session,
            pensioner_id=p.id,
            channel=CertificationChannel.DATA_COMPARISON.value,
            now=now,
            source=s,
            evidence={"evidence_date": d.isoformat(), "source": s},
            settings=settings,
        )
        if before is not None and before.id == cert.id:
            result.already_certified += 1
        else:
            result.certified += 1
    session.flush()
    return result


@dataclass
class DeathImportResult:
    """What a deaths import did, and the payments to recover."""

    terminated: int = 0
    already_terminated: int = 0
    recoveries: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able result."""
        return {
            "terminated": self.terminated,
            "already_terminated": self.already_terminated,
            "recoveries": self.recoveries,
        }


def import_deaths(
    *, session: Session, settings: Settings, data: bytes, now: datetime, actor_id: int | None = None
) -> DeathImportResult:
    """Terminate pensions (national_id,death_date), cancel reminders and home visits, list overpaid months."""
    rows, _ = read_rows(data, DEATH_ALIASES, {"national_id", "death_date"})
    today = seasons.local_date(now, settings.timezone)
    people = _lookup(session, {r["national_id"].upper() for _, r in rows})
    errors: list[dict[str, Any]] = []
    parsed: dict[str, tuple[Pensioner, date]] = {}
    for line, r in rows:
        nid, day = r["national_id"].upper(), _date(r["death_date"])
        reason = _person_date_error(people, nid, day, today)
        if reason is None and day is not None:  # day is set whenever there is no reason
            if day < people[nid].birth_date:
                reason = RowRefusal.DEATH_BEFORE_BIRTH
            elif nid in parsed and parsed[nid][1] != day:
                reason = RowRefusal.CONFLICTING_DUPLICATE
            else:
                parsed[nid] = (people[nid], day)
        if reason is not None:
            errors.append({"line": line, "national_id": nid, "reason": reason.value})
    if errors:
        raise ImportRejected(errors, shown=MAX_ERRORS)
    result = DeathImportResult()
    for nid, (p, day) in parsed.items():
        if p.pension_status == PensionStatus.TERMINATED.value:
            result.already_terminated += 1
            continue
        detail = lifecycle.terminate_on_death(
            session=session,
            settings=settings,
            pensioner=p,
            death_date=day,
            now=now,
            actor_id=actor_id,
            source="deaths_import",
        )
        months = detail["overpaid_months"]
        result.terminated += 1
        if months:
            result.recoveries.append(
                {
                    "national_id": nid,
                    "name": p.name,
                    "region_code": p.region_code,
                    "death_date": day.isoformat(),
                    "months": months,
                    "month_count": len(months),
                }
            )
    session.flush()
    return result
