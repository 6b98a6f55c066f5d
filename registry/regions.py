"""Region hierarchy: import, ancestors and jurisdiction scoping."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from core import audit
from core.csvfile import read_rows
from models import Pensioner, Region
from models.engine import dialect_insert
from models.enums import RegionLevel
from registry.errors import EmptyImportFile, InvalidRegionFile, RegionNotFound

_CODE = re.compile(r"^\d{12}$")
_LEVEL_ORDER = [RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.TOWN, RegionLevel.COMMUNITY]
_ALIASES = {
    "代码": "code",
    "区划代码": "code",
    "名称": "name",
    "上级代码": "parent_code",
    "级别": "level",
    "纬度": "latitude",
    "经度": "longitude",
}


def _coordinates(row: dict[str, str]) -> tuple[float | None, float | None] | None:
    """Optional latitude/longitude columns; None when present but invalid."""
    lat_raw, lon_raw = row.get("latitude", "").strip(), row.get("longitude", "").strip()
    if not lat_raw and not lon_raw:
        return (None, None)
    try:
        lat, lon = float(lat_raw), float(lon_raw)
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return (lat, lon)


def normalise_code(raw: str) -> str:
    """A 6-digit county code becomes the 12-digit form (371003 → 371003000000)."""
    code = raw.strip()
    if re.fullmatch(r"\d{6}", code):
        return code + "000000"
    if re.fullmatch(r"\d{9}", code):
        return code + "000"
    return code


_Parsed = dict[str, dict[str, str | float | None]]


@dataclass
class RegionImportResult:
    """Counts of an import, and the rows refused as outside the caller's jurisdiction."""

    inserted: int
    updated: int
    rejected: list[dict[str, object]] = field(default_factory=list)


def import_regions(
    *, session: Session, data: bytes, actor_id: int | str | None = None, jurisdiction: Region | None = None
) -> RegionImportResult:
    """Upsert regions from CSV; the whole file is refused if any row is bad (the tree must stay whole).

    Rows outside `jurisdiction` (None: the operator's CLI, everywhere) are refused one by one as
    `outside_jurisdiction` and the rest is imported: see `_outside`. An int actor_id is a staff id.
    """
    rows, _ = read_rows(data, _ALIASES, {"code", "name", "parent_code", "level"})
    if not rows:
        raise EmptyImportFile()
    parsed, errors = _parse_regions(rows)
    line_of = {normalise_code(r["code"]): ln for ln, r in rows}
    existing = {
        r.code: (r.level, r.parent_code) for r in session.execute(select(Region.code, Region.level, Region.parent_code))
    }
    refused: list[dict[str, object]] = []
    if jurisdiction is not None and not errors:
        for code in _outside(parsed, existing, jurisdiction.code):
            refused.append({"line": line_of[code], "reason": "outside_jurisdiction"})
            del parsed[code]
    errors += _parent_errors(parsed, {c: lv for c, (lv, _) in existing.items()}, line_of)
    if errors:
        raise InvalidRegionFile(detail={"rejected": sorted(errors + refused, key=lambda e: int(str(e["line"])))})
    values = list(parsed.values())
    inserted = sum(1 for c in parsed if c not in existing)
    _upsert_regions(session, values)
    actor_type = "staff" if isinstance(actor_id, int) else "system"
    audit.record(
        session=session,
        actor_type=actor_type,
        actor_id=actor_id,
        action="regions_imported",
        target_type="region",
        target_id=None,
        detail={
            "inserted": inserted,
            "updated": len(values) - inserted,
            "outside_jurisdiction": len(refused),
            "jurisdiction": jurisdiction.code if jurisdiction is not None else None,
        },
    )
    session.flush()
    refused.sort(key=lambda e: int(str(e["line"])))
    return RegionImportResult(inserted=inserted, updated=len(values) - inserted, rejected=refused)


def _outside(parsed: _Parsed, existing: dict[str, tuple[str, str | None]], jurisdiction: str) -> list[str]:
    """Codes of the file the caller may not write: the jurisdiction region itself and what lies below it only.

    A new region must hang below the jurisdiction; an existing one must lie below it now and after the row
    (its new parent below it too). The jurisdiction's own row may rename it, never move or re-level it.
    Chains are walked on the registered tree, with the file's parents for new codes only, so a refused
    move can never carry another row inside.
    """
    parents = {c: p for c, (_, p) in existing.items()}
    parents.update({c: _str_or_none(v["parent_code"]) for c, v in parsed.items() if c not in existing})

    def below(code: str | None) -> bool:
        for _ in range(8):
            if code is None:
                return False
            if code == jurisdiction:
                return True
            code = parents.get(code)
        return False

    out = []
    for code, reg in parsed.items():
        parent = _str_or_none(reg["parent_code"])
        if code == jurisdiction:
            ok = (str(reg["level"]), parent) == existing[code]
        else:
            ok = below(parent) and (code not in existing or below(code))
        if not ok:
            out.append(code)
    return out


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _parse_regions(rows: list[tuple[int, dict[str, str]]]) -> tuple[_Parsed, list[dict[str, object]]]:
    """Each good row by its normalised code, and the lines refused with their reason."""
    errors: list[dict[str, object]] = []
    parsed: _Parsed = {}
    for line, row in rows:
        code = normalise_code(row["code"])
        parent = normalise_code(row["parent_code"]) or None
        level = row["level"].strip().lower()
        if not _CODE.match(code):
            errors.append({"line": line, "reason": "bad_code"})
        elif level not in {lv.value for lv in RegionLevel}:
            errors.append({"line": line, "reason": "bad_level"})
        elif not row["name"]:
            errors.append({"line": line, "reason": "missing_field"})
        elif len(row["name"]) > 100:  # the column's length: PostgreSQL would refuse it, SQLite would keep it
            errors.append({"line": line, "reason": "bad_name"})
        elif code in parsed:
            errors.append({"line": line, "reason": "duplicate_in_file"})
        elif (coords := _coordinates(row)) is None:
            errors.append({"line": line, "reason": "bad_coordinates"})
        else:
            parsed[code] = {
                "code": code,
                "name": row["name"],
                "parent_code": parent,
                "level": level,
                "latitude": coords[0],
                "longitude": coords[1],
            }
    return parsed, errors


def _parent_errors(parsed: _Parsed, existing: dict[str, str], line_of: dict[str, int]) -> list[dict[str, object]]:
    """Rows below city level whose parent is unknown (in the file and the database) or not a level above."""
    levels = {**existing, **{c: str(v["level"]) for c, v in parsed.items()}}
    errors: list[dict[str, object]] = []
    for code, reg in parsed.items():
        parent_code = reg["parent_code"]
        parent = None if parent_code is None else str(parent_code)
        if reg["level"] == RegionLevel.CITY:
            continue
        if parent is None or parent not in levels:
            errors.append({"line": line_of[code], "reason": "unknown_parent"})
        elif _LEVEL_ORDER.index(RegionLevel(levels[parent])) >= _LEVEL_ORDER.index(RegionLevel(str(reg["level"]))):
            errors.append({"line": line_of[code], "reason": "bad_parent_level"})
    return errors


def _upsert_regions(session: Session, values: list[dict[str, str | float | None]]) -> None:
    """INSERT … ON CONFLICT (code) DO UPDATE, 500 rows a statement."""
    ins = dialect_insert(session, Region)
    stmt = ins.on_conflict_do_update(
        index_elements=["code"],
        set_={
            "name": ins.excluded.name,
            "parent_code": ins.excluded.parent_code,
            "level": ins.excluded.level,
            "latitude": ins.excluded.latitude,
            "longitude": ins.excluded.longitude,
        },
    )
    for i in range(0, len(values), 500):
        session.execute(stmt, values[i : i + 500])


@dataclass(frozen=True)
class Ancestry:
    """The chain of a community up to its city."""

    town_code: str | None
    district_code: str | None
    city_code: str | None


def ancestry_map(session: Session) -> dict[str, Ancestry]:
    """For every region, its town/district/city ancestors (including itself where it is one)."""
    regions = {
        r.code: (r.level, r.parent_code) for r in session.execute(select(Region.code, Region.level, Region.parent_code))
    }
    out: dict[str, Ancestry] = {}
    for code in regions:
        found: dict[str, str] = {}
        cur: str | None = code
        for _ in range(8):
            if cur is None or cur not in regions:
                break
            level, parent = regions[cur]
            found.setdefault(level, cur)
            cur = parent
        out[code] = Ancestry(found.get("town"), found.get("district"), found.get("city"))
    return out


def get_region(*, session: Session, code: str) -> Region:
    """A region by code, or NotFound."""
    region = session.get(Region, normalise_code(code))
    if region is None:
        raise RegionNotFound()
    return region


def pensioner_scope(region: Region) -> ColumnElement[bool]:
    """SQL condition: the pensioner lives in this region or below it."""
    column = {
        RegionLevel.CITY: Pensioner.city_code,
        RegionLevel.DISTRICT: Pensioner.district_code,
        RegionLevel.TOWN: Pensioner.town_code,
        RegionLevel.COMMUNITY: Pensioner.region_code,
    }[RegionLevel(region.level)]
    return column == region.code


def region_within(*, session: Session, inner_code: str, outer: Region) -> bool:
    """Whether inner_code is outer or one of its descendants."""
    cur: str | None = inner_code
    for _ in range(8):
        if cur is None:
            return False
        if cur == outer.code:
            return True
        cur = session.scalar(select(Region.parent_code).where(Region.code == cur))
    return False


def children(*, session: Session, code: str) -> list[Region]:
    """Direct children of a region, by code."""
    return list(session.scalars(select(Region).where(Region.parent_code == code).order_by(Region.code)))
