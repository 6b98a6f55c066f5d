"""Roster import: upsert pensioners by national ID, rejecting bad rows with reasons."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from core import audit
from core.csvfile import read_rows
from core.national_id import InvalidNationalId, parse_national_id
from models import Pensioner
from models.base import utcnow
from models.enums import PensionStatus
from registry.errors import EmptyImportFile
from registry.regions import ancestry_map, normalise_code

ALIASES = {
    "身份证号": "national_id",
    "姓名": "name",
    "手机号": "phone",
    "居住地区划代码": "region_code",
    "是否卧床": "bedridden",
    "亲属电话": "family_phone",
    "参保地区划代码": "paying_region_code",
}
REQUIRED = {"national_id", "name", "phone", "region_code"}
_PHONE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_TRUE = {"1", "true", "yes", "y", "是", "t"}
_FALSE = {"", "0", "false", "no", "n", "否", "f"}
_CHUNK = 900
# Columns an import may change; a row whose values all match is left untouched.
_COMPARED = (
    "name",
    "phone",
    "family_phone",
    "region_code",
    "town_code",
    "district_code",
    "city_code",
    "paying_region_code",
    "bedridden",
)


def normalise_phone(raw: str) -> str | None:
    """Mobile numbers without +86, landlines as written; None if invalid."""
    value = raw.replace(" ", "")
    m = _PHONE.match(value)
    if m:
        return m.group(1)
    if _LANDLINE.match(value):
        return value
    return None


@dataclass
class RosterImportResult:
    """What an import did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    encoding: str = "utf-8"

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `import-roster --json`."""
        return {"inserted": self.inserted, "updated": self.updated, "rejected": self.rejected}


def import_roster(
    *,
    session: Session,
    data: bytes,
    actor_id: int | None = None,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RosterImportResult:
    """Validate every row, import the good ones in the caller's transaction, report the bad ones."""
    rows, encoding = read_rows(data, ALIASES, REQUIRED)
    if not rows:
        raise EmptyImportFile()
    result = RosterImportResult(encoding=encoding)
    today = today or date.today()
    good = _good_rows(rows, ancestry_map(session), today, result)
    ids = list(good)
    total = len(ids)
    done = 0
    now = utcnow()
    for start in range(0, total, _CHUNK * 10):
        batch = ids[start : start + _CHUNK * 10]
        _write_batch(session, {n: good[n] for n in batch}, today=today, now=now, result=result)
        done += len(batch)
        if progress:
            progress(done, total)
    audit.record(
        session=session,
        actor_type="staff" if actor_id else "system",
        actor_id=actor_id,
        action="roster_imported",
        target_type="pensioner",
        target_id=None,
        detail={
            "inserted": result.inserted,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "rejected": len(result.rejected),
        },
    )
    session.flush()
    return result


def _good_rows(
    rows: list[tuple[int, dict[str, str]]], ancestry: dict[str, Any], today: date, result: RosterImportResult
) -> dict[str, dict[str, Any]]:
    """The valid rows by national ID, in file order; bad and repeated lines go to result.rejected."""
    good: dict[str, dict[str, Any]] = {}
    for line, row in rows:
        reason, values = _validate(row, ancestry, today)
        if reason is None and values["national_id"] in good:
            reason = "duplicate_in_file"
        if reason is not None:
            result.rejected.append({"line": line, "reason": reason})
            continue
        good[values["national_id"]] = values
    return good


def _existing(session: Session, ids: list[str]) -> dict[str, tuple[Any, ...]]:
    """(id, compared columns…) of the pensioners already registered under these national IDs."""
    existing: dict[str, tuple[Any, ...]] = {}
    for i in range(0, len(ids), _CHUNK):
        part = ids[i : i + _CHUNK]
        found = session.execute(
            select(Pensioner.national_id, Pensioner.id, *(getattr(Pensioner, c) for c in _COMPARED)).where(
                Pensioner.national_id.in_(part)
            )
        )
        existing.update({str(row[0]): tuple(row[1:]) for row in found})
    return existing


def _write_batch(
    session: Session, batch: dict[str, dict[str, Any]], *, today: date, now: datetime, result: RosterImportResult
) -> None:
    """Insert the new people of a batch and update the changed ones; count into result."""
    existing = _existing(session, list(batch))
    new_rows = [
        {
            **values,
            "pension_status": PensionStatus.ACTIVE.value,
            "status_since": today,
            "created_at": now,
            "updated_at": now,
        }
        for n, values in batch.items()
        if n not in existing
    ]
    # Only rows whose data changed are written: a monthly re-import of the same roster is mostly reads.
    upd_rows = [
        {**values, "id": existing[n][0], "updated_at": now}
        for n, values in batch.items()
        if n in existing and tuple(values[c] for c in _COMPARED) != existing[n][1:]
    ]
    result.unchanged += sum(1 for n in batch if n in existing) - len(upd_rows)
    if new_rows:
        session.execute(insert(Pensioner), new_rows)
    if upd_rows:
        session.execute(update(Pensioner), upd_rows)
    result.inserted += len(new_rows)
    result.updated += len(upd_rows)


def _validate(row: dict[str, str], ancestry: dict[str, Any], today: date) -> tuple[str | None, dict[str, Any]]:
    if "__extra__" in row:
        return "malformed_row", {}
    for name in ("national_id", "name", "phone", "region_code"):
        if not row.get(name):
            return "missing_field", {}
    try:
        nid = parse_national_id(row["national_id"], today=today)
    except InvalidNationalId:
        return "bad_national_id", {}
    phone = normalise_phone(row["phone"])
    if phone is None:
        return "bad_phone", {}
    family_phone = None
    if row.get("family_phone"):
        family_phone = normalise_phone(row["family_phone"])
        if family_phone is None:
            return "bad_phone", {}
    region_code = normalise_code(row["region_code"])
    anc = ancestry.get(region_code)
    if anc is None:
        return "unknown_region", {}
    bedridden_raw = row.get("bedridden", "").strip().lower()
    if bedridden_raw not in _TRUE | _FALSE:
        return "bad_flag", {}
    paying = normalise_code(row.get("paying_region_code", "")) or None
    if paying is not None and not re.fullmatch(r"\d{12}", paying):
        return "unknown_region", {}
    if len(row["name"]) > 100:
        return "bad_name", {}
    return None, {
        "national_id": nid.number,
        "name": row["name"],
        "birth_date": nid.birth_date,
        "sex": nid.sex,
        "phone": phone,
        "family_phone": family_phone,
        "region_code": region_code,
        "town_code": anc.town_code,
        "district_code": anc.district_code,
        "city_code": anc.city_code,
        "paying_region_code": paying or anc.city_code,
        "bedridden": bedridden_raw in _TRUE,
    }
