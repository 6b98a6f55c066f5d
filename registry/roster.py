"""Roster import: upsert pensioners by national ID inside the caller's jurisdiction, rejecting bad rows with reasons."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from core import audit
from core.csvfile import read_rows
from core.national_id import InvalidNationalId, parse_national_id
from core.settings import Settings, get_settings
from messaging import outbox
from messaging.texts import mask_phone, phone_changed_text
from models import Pensioner, Region
from models.base import utcnow
from models.enums import Channel, PensionStatus
from registry.errors import EmptyImportFile, PhoneChangesNeedConfirmation
from registry.regions import ancestry_map, normalise_code

ALIASES = {
    "身份证号": "national_id",
    "姓名": "name",
    "手机号": "phone",
    "居住地区划代码": "region_code",
    "是否卧床": "bedridden",
    "亲属电话": "family_phone",
    "参保地区划代码": "paying_region_code",
    "上次认证日期": "last_certified_on",
    # Optional address columns (files without them import as before and keep what is stored).
    "街路巷": "address_street",
    "门牌号": "address_house",
    "标志物": "address_landmark",
    "住址纬度": "address_latitude",
    "住址经度": "address_longitude",
    # Optional: how messages reach the person (SMS stays the fallback); an empty cell keeps what is stored.
    "首选渠道": "preferred_channel",
}
CHANNELS = {
    "sms": Channel.SMS.value,
    "短信": Channel.SMS.value,
    "push": Channel.PUSH.value,
    "app_push": Channel.PUSH.value,
    "app": Channel.PUSH.value,
    "app推送": Channel.PUSH.value,
    "推送": Channel.PUSH.value,
    "wechat": Channel.WECHAT.value,
    "微信": Channel.WECHAT.value,
}
ADDRESS = ("address_street", "address_house", "address_landmark", "address_latitude", "address_longitude")
_ADDRESS_LIMITS = {"address_street": 200, "address_house": 100, "address_landmark": 200}
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
    "certification_due_date",
)
_RESIDENCE = ("region_code", "town_code", "district_code", "city_code")
_PHONES = ("phone", "family_phone")
_OPTIONAL = (*ADDRESS, "preferred_channel")  # compared only when the file has the column
_DATE_FORMATS = (r"(\d{4})-(\d{1,2})-(\d{1,2})", r"(\d{4})/(\d{1,2})/(\d{1,2})", r"(\d{4})(\d{2})(\d{2})")


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
    phone_changes: int = 0
    outside_jurisdiction: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `import-roster --json`."""
        return {"inserted": self.inserted, "updated": self.updated, "rejected": self.rejected}


def import_roster(
    *,
    session: Session,
    data: bytes,
    actor_id: int | str | None = None,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
    jurisdiction: Region | None = None,
    settings: Settings | None = None,
    confirm_phone_changes: bool = False,
    now: datetime | None = None,
) -> RosterImportResult:
    """Validate every row, import the good ones in the caller's transaction, report the bad ones.

    Rows about people living (now or after the row) outside `jurisdiction` are refused as
    `outside_jurisdiction` (None: the operator's CLI, the whole roster). More phone-number changes than
    `roster_max_phone_changes` raise PhoneChangesNeedConfirmation, nothing written, unless confirmed;
    every change is audited per row and the replaced number gets a notice. An int actor_id is a staff id.
    """
    settings = settings or get_settings()
    rows, encoding = read_rows(data, ALIASES, REQUIRED)
    if not rows:
        raise EmptyImportFile()
    result = RosterImportResult(encoding=encoding)
    today = today or date.today()
    now = now or utcnow()
    good, lines = _good_rows(rows, ancestry_map(session), today, result)
    plan = _plan(session, good, lines, jurisdiction=jurisdiction, settings=settings, today=today, result=result)
    if len(plan.phone_changes) > settings.roster_max_phone_changes and not confirm_phone_changes:
        raise PhoneChangesNeedConfirmation(changes=len(plan.phone_changes), limit=settings.roster_max_phone_changes)
    _write(session, plan, today=today, now=now, progress=progress)
    result.inserted, result.updated = len(plan.new_rows), len(plan.upd_rows)
    result.phone_changes = len(plan.phone_changes)
    actor_type = "staff" if isinstance(actor_id, int) else "system"
    _record_phone_changes(session, plan.phone_changes, actor=(actor_type, actor_id), now=now)
    result.rejected.sort(key=lambda r: int(r["line"]))
    audit.record(
        session=session,
        actor_type=actor_type,
        actor_id=actor_id,
        action="roster_imported",
        target_type="pensioner",
        target_id=None,
        detail={
            "inserted": result.inserted,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "rejected": len(result.rejected),
            "outside_jurisdiction": result.outside_jurisdiction,
            "phone_changes": result.phone_changes,
            "jurisdiction": jurisdiction.code if jurisdiction is not None else None,
        },
    )
    session.flush()
    return result


@dataclass(frozen=True)
class _PhoneChange:
    """One phone column of one person changed by one line."""

    pensioner_id: int
    field: str
    old: str | None
    new: str | None
    line: int


@dataclass
class _Plan:
    """What the import will write, decided before anything is written."""

    new_rows: list[dict[str, Any]] = field(default_factory=list)
    upd_rows: list[dict[str, Any]] = field(default_factory=list)
    phone_changes: list[_PhoneChange] = field(default_factory=list)


def _good_rows(
    rows: list[tuple[int, dict[str, str]]], ancestry: dict[str, Any], today: date, result: RosterImportResult
) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """The valid rows by national ID in file order, and their lines; bad and repeated lines go to result.rejected."""
    good: dict[str, dict[str, Any]] = {}
    lines: dict[str, int] = {}
    for line, row in rows:
        reason, values = _validate(row, ancestry, today)
        if reason is None and values["national_id"] in good:
            reason = "duplicate_in_file"
        if reason is not None:
            result.rejected.append({"line": line, "reason": reason})
            continue
        good[values["national_id"]] = values
        lines[values["national_id"]] = line
    return good, lines


def _existing(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    """id and compared columns of the pensioners already registered under these national IDs."""
    existing: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), _CHUNK):
        part = ids[i : i + _CHUNK]
        found = session.execute(
            select(Pensioner.national_id, Pensioner.id, *(getattr(Pensioner, c) for c in _COMPARED + _OPTIONAL)).where(
                Pensioner.national_id.in_(part)
            )
        )
        existing.update({str(row[0]): dict(row._mapping) for row in found})
    return existing


def _inside(jurisdiction: Region | None, residence: dict[str, Any]) -> bool:
    """Whether a residence (a row's, or a registered person's) lies in the jurisdiction (None: everywhere)."""
    return jurisdiction is None or jurisdiction.code in {residence[c] for c in _RESIDENCE}


def _plan(
    session: Session,
    good: dict[str, dict[str, Any]],
    lines: dict[str, int],
    *,
    jurisdiction: Region | None,
    settings: Settings,
    today: date,
    result: RosterImportResult,
) -> _Plan:
    """Sort the good rows into new, changed and unchanged people; rows outside the jurisdiction are refused."""
    plan = _Plan()
    ids = list(good)
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        existing = _existing(session, part)
        for nid in part:
            values, old = good[nid], existing.get(nid)
            last = values.pop("last_certified_on")
            if "preferred_channel" in values and values["preferred_channel"] is None:  # empty cell: keep it
                values["preferred_channel"] = Channel.SMS.value if old is None else old["preferred_channel"]
            if not _inside(jurisdiction, values) or (old is not None and not _inside(jurisdiction, old)):
                result.rejected.append({"line": lines[nid], "reason": "outside_jurisdiction"})
                result.outside_jurisdiction += 1
                continue
            values["certification_due_date"] = _due_date(
                last, None if old is None else old["certification_due_date"], settings=settings, today=today
            )
            if old is None:
                plan.new_rows.append(values)
            elif any(values[c] != old[c] for c in _COMPARED + _OPTIONAL if c in values):
                plan.upd_rows.append({**values, "id": old["id"]})
                plan.phone_changes += [
                    _PhoneChange(old["id"], c, old[c], values[c], lines[nid]) for c in _PHONES if values[c] != old[c]
                ]
            else:
                result.unchanged += 1
    return plan


def _due_date(last: date | None, current: date | None, *, settings: Settings, today: date) -> date | None:
    """Rolling policy: the person's deadline after this row (never earlier than one already set); else unchanged.

    The legacy last certification plus the validity; without one, or when that is already past for someone
    not yet due here, `rolling_first_due_days` after the import (a window of their own, never a backdated
    suspension).
    """
    if settings.season_policy != "rolling":
        return current
    from_last = None if last is None else _months_later(last, settings.rolling_validity_months)
    if current is not None:
        return current if from_last is None else max(current, from_last)
    if from_last is None or from_last < today:
        return today + timedelta(days=settings.rolling_first_due_days)
    return from_last


def _months_later(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def _write(
    session: Session, plan: _Plan, *, today: date, now: datetime, progress: Callable[[int, int], None] | None
) -> None:
    """Insert the new people and update the changed ones, in batches; only changed rows are written."""
    total = len(plan.new_rows) + len(plan.upd_rows)
    done = 0
    joined = {
        "pension_status": PensionStatus.ACTIVE.value,
        "status_since": today,
        "added_on": today,
        "created_at": now,
        "updated_at": now,
    }
    step = _CHUNK * 10
    for start in range(0, len(plan.new_rows), step):
        batch = [{**values, **joined} for values in plan.new_rows[start : start + step]]
        session.execute(insert(Pensioner), batch)
        done += len(batch)
        if progress:
            progress(done, total)
    for start in range(0, len(plan.upd_rows), step):
        batch = [{**values, "updated_at": now} for values in plan.upd_rows[start : start + step]]
        session.execute(update(Pensioner), batch)
        done += len(batch)
        if progress:
            progress(done, total)


def _record_phone_changes(
    session: Session, changes: list[_PhoneChange], *, actor: tuple[str, int | str | None], now: datetime
) -> None:
    """One audit event per changed number (masked), and a notice to every replaced mobile number."""
    notices: list[outbox.Message] = []
    for ch in changes:
        audit.record(
            session=session,
            actor_type=actor[0],
            actor_id=actor[1],
            action="pensioner.phone_changed",
            target_type="pensioner",
            target_id=ch.pensioner_id,
            detail={
                "field": ch.field,
                "old": mask_phone(ch.old),
                "new": mask_phone(ch.new),
                "line": ch.line,
                "source": "roster_import",
            },
        )
        if ch.old is not None and _PHONE.match(ch.old):  # a landline cannot take an SMS
            zh, en = phone_changed_text(field=ch.field, new_masked=mask_phone(ch.new))
            notices.append(outbox.Message(ch.old, "phone_changed", zh, en, pensioner_id=ch.pensioner_id))
    outbox.enqueue_many(session=session, messages=notices, now=now)


def _last_certified(raw: str, birth: date, today: date) -> tuple[bool, date | None]:
    """(valid, date) of the optional last-certification column: YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD."""
    if not raw:
        return True, None
    for pattern in _DATE_FORMATS:
        m = re.fullmatch(pattern, raw)
        if m:
            try:
                day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return False, None
            return birth <= day <= today, day
    return False, None


def _address(row: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    """The optional address columns the file has (absent columns are left out); a bad value names the reason."""
    values: dict[str, Any] = {}
    for name, limit in _ADDRESS_LIMITS.items():
        if name in row:
            text = row[name].strip()
            if len(text) > limit:
                return {}, "bad_address"
            values[name] = text or None
    if "address_latitude" not in row and "address_longitude" not in row:
        return values, None
    raw_lat, raw_lon = row.get("address_latitude", "").strip(), row.get("address_longitude", "").strip()
    if not raw_lat and not raw_lon:
        return {**values, "address_latitude": None, "address_longitude": None}, None
    try:
        lat, lon = float(raw_lat), float(raw_lon)
    except ValueError:
        return {}, "bad_position"
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return {}, "bad_position"
    return {**values, "address_latitude": lat, "address_longitude": lon}, None


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
    valid_date, last = _last_certified(row.get("last_certified_on", ""), nid.birth_date, today)
    if not valid_date:
        return "bad_date", {}
    address, reason = _address(row)
    if reason is not None:
        return reason, {}
    if "preferred_channel" in row:
        raw = row["preferred_channel"].strip().lower()
        if raw and raw not in CHANNELS:
            return "bad_channel", {}
        address["preferred_channel"] = CHANNELS.get(raw)  # None: keep the stored one (sms for a new person)
    return None, {
        **address,
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
        "last_certified_on": last,
    }
