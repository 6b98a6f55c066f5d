"""Supervisor risk API: region summary, the at-risk list and its CSV / Excel exports."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse

from core import audit
from core.clock import NowDep
from core.deps import Offset, SessionDep, SettingsDep, SupervisorStaff
from models import Region
from registry.deps import staff_region
from risk import at_risk as at_risk_service
from risk import exports
from risk import failures as failure_service
from risk import rollup as rollup_service
from risk import scope as risk_scope
from risk import summary as summary_service
from risk.schemas import (
    AtRiskOut,
    AtRiskPageOut,
    FailureCell,
    FailureRegionOut,
    FailuresOut,
    FailureWeekOut,
    ReasonOut,
    RegionRiskOut,
    RiskSummaryOut,
    TrendPoint,
)

router = APIRouter(prefix="/risk", tags=["risk"])
StaffRegion = Annotated[Region, Depends(staff_region)]
RegionQuery = Annotated[str | None, Query(description="12-digit region code (default: your jurisdiction)")]
SeasonQuery = Annotated[int | None, Query(ge=2000, le=2100, description="Season year (default: the current season)")]


class RiskQuery:
    """Filters, sorting and paging shared by the list and its exports."""

    def __init__(
        self,
        region: RegionQuery = None,
        season: SeasonQuery = None,
        min_age: Annotated[int | None, Query(ge=0, le=130)] = None,
        max_age: Annotated[int | None, Query(ge=0, le=130)] = None,
        bedridden: bool | None = None,
        days_left: Annotated[int | None, Query(ge=-400, le=400, description="At most this many days left")] = None,
        min_attempts: Annotated[int | None, Query(ge=1, le=100, description="Failed app attempts")] = None,
        visit: Annotated[str | None, Query(pattern="^(none|open|overdue|closed)$")] = None,
        sort: Annotated[str, Query(pattern="^(age|-age|days_left|attempts|name)$")] = "age",
    ) -> None:
        self.region = region
        self.season = season
        self.sort: at_risk_service.SortKey = sort  # type: ignore[assignment]
        self.filters = at_risk_service.RiskFilter(
            min_age=min_age,
            max_age=max_age,
            bedridden=bedridden,
            max_days_left=days_left,
            min_attempts=min_attempts,
            visit=visit,  # type: ignore[arg-type]
        )


RiskQueryDep = Annotated[RiskQuery, Depends()]


def region_out(fig: summary_service.RegionFigures) -> dict[str, Any]:
    """The JSON shape of one region's figures."""
    return {
        "region": fig.code,
        "name": fig.name,
        "level": fig.level,
        "pensioners": fig.pensioners,
        "certified": fig.certified,
        "certified_by_channel": fig.certified_by_channel,
        "pending": fig.pending,
        "at_risk": fig.at_risk,
        "pending_bedridden": fig.pending_bedridden,
        "pending_80plus": fig.pending_80plus,
        "pending_failed_attempts": fig.pending_failed_attempts,
        "failed_attempts": fig.failed_attempts,
        "home_visits_open": fig.visits_open,
        "home_visits_overdue": fig.visits_overdue,
        "suspended": fig.suspended,
        "certified_with_exemption": fig.certified_with_exemption,
        "projected_suspensions": fig.projected_suspensions,
        "undeliverable": fig.undeliverable,
        "deadline": fig.deadline,
        "days_left": fig.days_left,
        "trend": [TrendPoint(day=d, certified=n) for d, n in fig.trend],
        "children": [RegionRiskOut(**region_out(c)) for c in fig.children],
    }


def row_out(row: at_risk_service.RiskRow) -> AtRiskOut:
    """The JSON shape of one at-risk row."""
    return AtRiskOut(
        id=row.id,
        name=row.name,
        national_id=row.national_id,
        region_code=row.region_code,
        region_name=row.region_name,
        age=row.age,
        bedridden=row.bedridden,
        pension_status=row.pension_status,
        deadline=row.deadline,
        days_left=row.days_left,
        failed_attempts=row.failed_attempts,
        last_attempt_at=row.last_attempt_at,
        home_visit_status=row.visit_status,
        home_visit_due_date=row.visit_due_date,
        reminders_sent=row.reminders_sent,
        last_reminder_at=row.last_reminder_at,
        reasons=[ReasonOut(code=r.code, message=r.zh, message_en=r.en) for r in row.reasons],
        under_way=[ReasonOut(code=r.code, message=r.zh, message_en=r.en) for r in at_risk_service.under_way(row)],
        history_url=f"/staff/counter/?pensioner={row.id}",
    )


@router.get("/summary", response_model=RiskSummaryOut)
def risk_summary(
    staff: SupervisorStaff,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    scope: StaffRegion,
    region: RegionQuery = None,
    season: SeasonQuery = None,
) -> RiskSummaryOut:
    """Counts for a region and each child region: certified by channel, pending, at risk, visits, trend."""
    target = risk_scope.scoped_region(session=session, staff_region=scope, code=region)
    season_row = risk_scope.resolve_season(session=session, settings=settings, year=season, now=now)
    result = summary_service.summary(session=session, settings=settings, region=target, season=season_row, now=now)
    return RiskSummaryOut(
        season=season_row.year,
        today=result.today,
        computed_at=result.computed_at,
        risk_days_left=result.risk_days,
        **region_out(result.region),
    )


@router.post("/refresh", status_code=204)
def refresh(
    staff: SupervisorStaff, session: SessionDep, settings: SettingsDep, now: NowDep, season: SeasonQuery = None
) -> None:
    """Recompute the season's roll-up now (the scheduler does this every few minutes)."""
    season_row = risk_scope.resolve_season(session=session, settings=settings, year=season, now=now)
    rollup_service.refresh_rollup(session=session, settings=settings, season_year=season_row.year, now=now)


@router.get("/pensioners", response_model=AtRiskPageOut)
def at_risk(
    staff: SupervisorStaff,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    scope: StaffRegion,
    q: RiskQueryDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> AtRiskPageOut:
    """Pending pensioners close to (or past) their deadline, with reasons and what is under way."""
    target = risk_scope.scoped_region(session=session, staff_region=scope, code=q.region)
    season_row = risk_scope.resolve_season(session=session, settings=settings, year=q.season, now=now)
    page = at_risk_service.at_risk_page(
        session=session,
        settings=settings,
        region=target,
        season=season_row,
        now=now,
        filters=q.filters,
        sort=q.sort,
        limit=limit,
        offset=offset,
    )
    return AtRiskPageOut(
        season=page.season_year,
        today=page.today,
        limit=page.limit,
        offset=page.offset,
        has_more=page.has_more,
        items=[row_out(r) for r in page.items],
    )


def _rows(
    session: Any, settings: Any, scope: Region, q: RiskQuery, now: datetime
) -> tuple[Region, int, Iterator[at_risk_service.RiskRow]]:
    """The export's region, season year and rows (bad filters fail here, before any file is written)."""
    target = risk_scope.scoped_region(session=session, staff_region=scope, code=q.region)
    season_row = risk_scope.resolve_season(session=session, settings=settings, year=q.season, now=now)
    rows = at_risk_service.iter_at_risk(
        session=session,
        settings=settings,
        region=target,
        season=season_row,
        now=now,
        filters=q.filters,
        sort=q.sort,
        max_rows=settings.risk_export_max_rows,
    )
    return target, season_row.year, rows


def _audit_export(session: Any, staff: Any, region: Region, season: int, q: RiskQuery, fmt: str, rows: int) -> None:
    """Who exported which filter and how many rows (the files carry full national IDs)."""
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=staff.id,
        action="risk.exported",
        target_type="region",
        target_id=region.code,
        detail={
            "format": fmt,
            "season": season,
            "filters": dataclasses.asdict(q.filters),
            "sort": q.sort,
            "rows": rows,
            "full_national_ids": True,
        },
    )


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _file(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI description of a file answer (no JSON body, so no response model)."""
    schema = {"type": "string", "format": "binary"}
    return {200: {"description": description, "content": {media_type: {"schema": schema}}}}


_CSV_FILE = _file("text/csv", "The at-risk list as CSV")
_XLSX_FILE = _file(_XLSX, "The at-risk list as an Excel workbook")


def _filename(now: datetime, ext: str) -> str:
    return f"attachment; filename=at_risk_{now:%Y%m%d}.{ext}; filename*=UTF-8''%E9%A3%8E%E9%99%A9%E5%90%8D%E5%8D%95_{now:%Y%m%d}.{ext}"


@router.get("/pensioners.csv", response_class=StreamingResponse, responses=_CSV_FILE)
def at_risk_csv(
    staff: SupervisorStaff, session: SessionDep, settings: SettingsDep, now: NowDep, scope: StaffRegion, q: RiskQueryDep
) -> Response:
    """The at-risk list as CSV (UTF-8 with BOM, so Excel shows Chinese); audited with the filter and row count."""
    region, season, rows = _rows(session, settings, scope, q, now)
    data, n = exports.csv_bytes(rows)
    _audit_export(session, staff, region, season, q, "csv", n)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": _filename(now, "csv")},
    )


@router.get("/pensioners.xlsx", response_class=StreamingResponse, responses=_XLSX_FILE)
def at_risk_xlsx(
    staff: SupervisorStaff, session: SessionDep, settings: SettingsDep, now: NowDep, scope: StaffRegion, q: RiskQueryDep
) -> Response:
    """The at-risk list as an Excel workbook with Chinese headers; audited with the filter and row count."""
    region, season, rows = _rows(session, settings, scope, q, now)
    data, n = exports.xlsx_bytes(list(rows))  # a bad filter fails before the workbook exists
    _audit_export(session, staff, region, season, q, "xlsx", n)
    return Response(
        data,
        media_type=_XLSX,
        headers={"Content-Disposition": _filename(now, "xlsx")},
    )


def failures_out(report: failure_service.FailureReport, region: Region) -> FailuresOut:
    """The JSON shape of the failure analysis."""
    return FailuresOut(
        season=report.season,
        region=region.code,
        name=region.name,
        today=report.today,
        total=report.total,
        bands=list(failure_service.BANDS),
        reasons=list(failure_service.REASONS),
        cells=[FailureCell(band=b, reason=r, attempts=n) for (b, r), n in sorted(report.cells.items())],
        regions=[
            FailureRegionOut(region=code, name=report.region_names.get(code, code), total=sum(v.values()), by_reason=v)
            for code, v in sorted(report.by_region.items())
        ],
        weeks=[FailureWeekOut(week_start=d, total=sum(v.values()), by_reason=v) for d, v in report.by_week.items()],
    )


@router.get("/failures", response_model=FailuresOut)
def failures(
    staff: SupervisorStaff,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    scope: StaffRegion,
    region: RegionQuery = None,
    season: SeasonQuery = None,
) -> FailuresOut:
    """Why people fail: the season's failed app attempts by age band and reason, by child region, and per week."""
    target = risk_scope.scoped_region(session=session, staff_region=scope, code=region)
    season_row = risk_scope.resolve_season(session=session, settings=settings, year=season, now=now)
    report = failure_service.failures(session=session, settings=settings, region=target, season=season_row, now=now)
    return failures_out(report, target)
