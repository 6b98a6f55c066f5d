"""Supervisor dashboard: server-rendered Chinese HTML with server-drawn SVG (no CDN, works offline)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth import service as auth_service
from core.clock import NowDep
from core.deps import Offset, RowId, SessionDep, SettingsDep, current_staff
from core.errors import DomainError, NotFound
from models import Certification, HomeVisitTask, Notification, Region, StaffUser, VerificationAttempt
from models.enums import StaffRole
from registry import deps as registry_deps
from risk import at_risk as at_risk_service
from risk import rollup as rollup_service
from risk import scope as risk_scope
from risk import summary as summary_service

router = APIRouter(prefix="/dashboard", include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
STYLESHEET = (Path(__file__).resolve().parent.parent / "static" / "dashboard.css").read_bytes()
# Nothing but the service itself: no scripts at all, the stylesheet below, images drawn inline as SVG.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
]
COOKIE = "pc_dashboard"
_ALLOWED = {StaffRole.ADMIN.value, StaffRole.SUPERVISOR.value}
LEVEL_ZH = {"city": "市", "district": "区/县", "town": "街道/镇", "community": "社区/村"}


def dashboard_staff(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep) -> StaffUser | None:
    """The staff member whose access token is in the HttpOnly cookie, or None."""
    try:
        return current_staff(session, settings, request.cookies.get(COOKIE), now)
    except DomainError:
        return None


DashboardStaff = Annotated[StaffUser | None, Depends(dashboard_staff)]


def _to_login(request: Request) -> RedirectResponse:
    return RedirectResponse("/dashboard/login", status_code=303)


class SecurityHeaders:
    """Every /dashboard answer: a strict CSP, no framing, no referrer; pages with personal data are not cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to a dashboard answer."""
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not (path == "/dashboard" or path.startswith("/dashboard/")):
            await self.app(scope, receive, send)
            return
        static = path.startswith("/dashboard/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dict(_HEADERS)]
                headers += _HEADERS
                if not static:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


@router.get("/static/dashboard.css")
def stylesheet() -> Response:
    """The dashboard's stylesheet (a file, not inline: the CSP allows styles from the service only)."""
    return Response(STYLESHEET, media_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=3600"})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    """The login form."""
    return templates.TemplateResponse(request, "dashboard/login.html", {"error": None})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
) -> Response:
    """Staff password login (same rules and rate limits as /api/v1/auth/staff-token); sets the cookie."""
    try:
        pair = auth_service.staff_login(
            session=session,
            settings=settings,
            username=username,
            password=password,
            address=request.client.host if request.client else "unknown",
            now=now,
        )
    except DomainError as exc:
        if exc.keep_changes:
            session.commit()
        return templates.TemplateResponse(
            request, "dashboard/login.html", {"error": exc.message_zh}, status_code=exc.status_code, headers=exc.headers
        )
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(
        COOKIE,
        pair.access_token,
        max_age=pair.expires_in,
        httponly=True,
        samesite="strict",
        secure=settings.environment == "production",
        path="/dashboard",
    )
    return response


@router.post("/logout")
def logout() -> Response:
    """Forget the cookie."""
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


def _forbidden(request: Request, message: str, status: int) -> Response:
    return templates.TemplateResponse(request, "dashboard/error.html", {"message": message}, status_code=status)


@router.get("", response_class=HTMLResponse)
def dashboard(
    request: Request,
    staff: DashboardStaff,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    region: str | None = None,
    season: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    offset: Offset = 0,
    sort: Annotated[str, Query(pattern="^(age|-age|days_left|attempts|name)$")] = "age",
) -> Response:
    """Region drill-down, funnel, trend, and the at-risk table."""
    if staff is None:
        return _to_login(request)
    if staff.role not in _ALLOWED:
        return _forbidden(request, "仅督导人员和管理员可以查看此页面。", 403)
    try:
        scope = registry_deps.staff_region(session, staff)
        target = risk_scope.scoped_region(session=session, staff_region=scope, code=region)
        season_row = risk_scope.resolve_season(session=session, settings=settings, year=season, now=now)
    except NotFound as exc:
        return _forbidden(request, exc.message_zh, 404)
    result = summary_service.summary(session=session, settings=settings, region=target, season=season_row, now=now)
    page = at_risk_service.at_risk_page(
        session=session,
        settings=settings,
        region=target,
        season=season_row,
        now=now,
        filters=at_risk_service.RiskFilter(),
        sort=sort,  # type: ignore[arg-type]
        limit=50,
        offset=offset,
    )
    fig = result.region
    context: dict[str, Any] = {
        "staff": staff,
        "summary": result,
        "fig": fig,
        "page": page,
        "sort": sort,
        "breadcrumbs": _breadcrumbs(session, target, scope),
        "level_zh": LEVEL_ZH,
        "channel_zh": rollup_service.CHANNEL_ZH,
        "funnel": funnel(fig),
        "trend": trend_chart(fig, season_row.open_date, result.today, result.risk_days),
        "under_way": at_risk_service.under_way,
        "query": {"region": target.code, "season": season_row.year},
    }
    return templates.TemplateResponse(request, "dashboard/index.html", context)


@router.get("/pensioners/{pensioner_id}", response_class=HTMLResponse)
def pensioner_history(
    request: Request, pensioner_id: RowId, staff: DashboardStaff, session: SessionDep, settings: SettingsDep
) -> Response:
    """One pensioner's certifications, face attempts, home visits and reminders."""
    if staff is None:
        return _to_login(request)
    if staff.role not in _ALLOWED:
        return _forbidden(request, "仅督导人员和管理员可以查看此页面。", 403)
    try:
        p = registry_deps.pensioner_in_scope(pensioner_id, session, staff)
    except NotFound as exc:
        return _forbidden(request, exc.message_zh, 404)
    context = {
        "staff": staff,
        "p": p,
        "region": session.get(Region, p.region_code),
        "certifications": session.scalars(
            select(Certification).where(Certification.pensioner_id == p.id).order_by(Certification.season_year.desc())
        ).all(),
        "attempts": session.scalars(
            select(VerificationAttempt)
            .where(VerificationAttempt.pensioner_id == p.id)
            .order_by(VerificationAttempt.at.desc())
            .limit(30)
        ).all(),
        "tasks": session.scalars(
            select(HomeVisitTask).where(HomeVisitTask.pensioner_id == p.id).order_by(HomeVisitTask.season_year.desc())
        ).all(),
        "notifications": session.scalars(
            select(Notification)
            .where(Notification.pensioner_id == p.id)
            .order_by(Notification.created_at.desc())
            .limit(30)
        ).all(),
        "channel_zh": rollup_service.CHANNEL_ZH,
        "tz": settings.timezone,
    }
    return templates.TemplateResponse(request, "dashboard/pensioner.html", context)


def _breadcrumbs(session: SessionDep, region: Region, scope: Region) -> list[Region]:
    chain = [region]
    while chain[-1].code != scope.code and chain[-1].parent_code:
        parent = session.get(Region, chain[-1].parent_code)
        if parent is None:
            break
        chain.append(parent)
    return list(reversed(chain))


def funnel(fig: summary_service.RegionFigures) -> list[dict[str, Any]]:
    """Bars of the funnel enrolled → certified → pending → at risk, widths in SVG units."""
    steps = [
        ("pensioners", "参保人数", fig.pensioners, "#3b6ea5"),
        ("certified", "已认证", fig.certified, "#2e8b57"),
        ("pending", "待认证", fig.pending, "#d9a400"),
        ("at_risk", "高风险", fig.at_risk, "#c0392b"),
    ]
    top = max(fig.pensioners, 1)
    full = 560
    return [
        {
            "key": key,
            "label": label,
            "value": value,
            "color": color,
            "width": max(2.0, full * value / top),
            "x": (full - max(2.0, full * value / top)) / 2 + 120,
            "y": 10 + i * 44,
            "pct": 100 * value / top,
        }
        for i, (key, label, value, color) in enumerate(steps)
    ]


def trend_chart(fig: summary_service.RegionFigures, open_date: date, today: date, risk_days: int) -> dict[str, Any]:
    """Daily certifications (bars) and the cumulative share (line) from opening to the deadline."""
    deadline = fig.deadline or today
    end = max(deadline, today)
    span = max((end - open_date).days + 1, 1)
    width, height, left, top, bottom = 720.0, 220.0, 50.0, 15.0, 180.0
    step = (width - left - 20) / span
    daily = dict(fig.trend)
    peak = max(daily.values(), default=1) or 1
    bars, points = [], []
    cumulative = 0
    for i in range(span):
        d = open_date + timedelta(days=i)
        n = daily.get(d, 0)
        cumulative += n
        x = left + i * step
        if n:
            h = (bottom - top) * n / peak
            bars.append({"x": x, "y": bottom - h, "w": max(step - 1, 1), "h": h, "day": d.isoformat(), "n": n})
        if d <= today:
            share = cumulative / fig.pensioners if fig.pensioners else 0
            points.append(f"{x + step / 2:.1f},{bottom - (bottom - top) * share:.1f}")
    ticks = []
    for days_left in (90, 60, 30, 14, 7, 0):
        d = deadline - timedelta(days=days_left)
        if open_date <= d <= end:
            x = left + (d - open_date).days * step + step / 2
            ticks.append(
                {"x": x, "label": "截止" if days_left == 0 else f"剩{days_left}天", "risk": days_left == risk_days}
            )
    risk_start = deadline - timedelta(days=risk_days)
    return {
        "width": width,
        "height": height,
        "left": left,
        "top": top,
        "bottom": bottom,
        "bars": bars,
        "line": " ".join(points),
        "ticks": ticks,
        "peak": peak,
        "today_x": left + (min(today, end) - open_date).days * step + step / 2,
        "risk_x": left + max((risk_start - open_date).days, 0) * step,
        "risk_w": max((deadline - max(risk_start, open_date)).days + 1, 0) * step,
    }
