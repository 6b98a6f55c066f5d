"""Access rules for every route: 401 without a valid token, 403 for a role not allowed, 404 outside one's scope.

ROUTES holds one expectation per route of the app (the OpenAPI schema and the hidden staff pages); a new route
without an entry fails `test_every_route_has_an_expectation`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from core.settings import DEV_SMS_RECEIPT_SECRET
from models import VerificationAttempt
from tests import factories as f
from tests.security.conftest import OTHER_CITY, ROLES, Target, World, token

Req = tuple[str, str, dict[str, Any]]
JPEG = b"\xff\xd8\xff\xe0 definitely not a photo"


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


@dataclass(frozen=True)
class Route:
    """Who may call a route, how it is scoped, and how to call it for a target."""

    who: str  # public | staff | pensioner
    call: Callable[[Target], Req]
    roles: tuple[str, ...] = ROLES
    # jurisdiction: staff outside the caller's region get 404 (same answer as for a missing id/region)
    # city: any office in the city may act (another district's staff succeed, another city's get 404)
    # own: a pensioner's own objects only (another pensioner's get 404)
    # list: results filtered to the jurisdiction (checked in test_lists_are_filtered_to_the_jurisdiction)
    # city_level: the whole city's (seasons): only staff whose jurisdiction is the city itself; a district's
    #   staff get 403 outside_jurisdiction (checked in tests/api/test_import_jurisdiction.py)
    # None: no per-object scope
    scope: str | None = None


def _get(path: str, **kw: Any) -> Callable[[Target], Req]:
    return lambda t: ("GET", path.format(t=t), kw)


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/healthz"): Route("public", _get("/healthz")),
    # The provider's delivery reports: its shared secret, not a user's token (tests/messaging/test_receipts.py).
    ("POST", "/api/v1/messaging/delivery-reports"): Route(
        "public",
        lambda t: (
            "POST",
            "/api/v1/messaging/delivery-reports",
            {
                "json": {"reports": [{"message_id": "1", "status": "delivered"}]},
                "headers": {"Authorization": f"Bearer {DEV_SMS_RECEIPT_SECRET}"},
            },
        ),
    ),
    ("GET", "/readyz"): Route("public", _get("/readyz")),
    # Prometheus scrape: public by design (bind it to the internal network), nothing personal in it.
    ("GET", "/metrics"): Route("public", _get("/metrics")),
    ("POST", "/api/v1/auth/staff-token"): Route(
        "public", lambda t: ("POST", "/api/v1/auth/staff-token", {"data": {"username": "x", "password": "y"}})
    ),
    ("POST", "/api/v1/auth/otp"): Route(
        "public", lambda t: ("POST", "/api/v1/auth/otp", {"json": {"national_id": t.national_id}})
    ),
    ("POST", "/api/v1/auth/pensioner-token"): Route(
        "public",
        lambda t: ("POST", "/api/v1/auth/pensioner-token", {"json": {"national_id": t.national_id, "code": "0000"}}),
    ),
    ("POST", "/api/v1/auth/refresh"): Route(
        "public", lambda t: ("POST", "/api/v1/auth/refresh", {"json": {"refresh_token": "x"}})
    ),
    ("POST", "/api/v1/auth/pensioners/{pensioner_id}/login-unlock"): Route(
        "staff",
        lambda t: (
            "POST",
            f"/api/v1/auth/pensioners/{t.pensioner_id}/login-unlock",
            {"json": {"verified_by": "counter_id_card"}},
        ),
        roles=("admin", "counter", "supervisor"),
        scope="city",
    ),
    ("POST", "/api/v1/admin/regions/import"): Route(
        "staff",
        lambda t: (
            "POST",
            "/api/v1/admin/regions/import",
            {"files": {"file": ("r.csv", b"code,name,parent_code,level\n")}},
        ),
        roles=("admin",),
    ),
    ("POST", "/api/v1/admin/roster/import"): Route(
        "staff",
        lambda t: ("POST", "/api/v1/admin/roster/import", {"files": {"file": ("p.csv", b"national_id,name\n")}}),
        roles=("admin",),
    ),
    ("GET", "/api/v1/regions"): Route("staff", _get("/api/v1/regions?parent={t.region}"), scope="list"),
    ("GET", "/api/v1/pensioners"): Route("staff", _get("/api/v1/pensioners?q={t.national_id}"), scope="list"),
    ("GET", "/api/v1/pensioners/{pensioner_id}"): Route(
        "staff", _get("/api/v1/pensioners/{t.pensioner_id}"), scope="jurisdiction"
    ),
    # Counter clerks of any district of the city too (tests/staff/test_staff_api.py), as on the card.
    ("PUT", "/api/v1/pensioners/{pensioner_id}/preferred-channel"): Route(
        "staff",
        lambda t: ("PUT", f"/api/v1/pensioners/{t.pensioner_id}/preferred-channel", {"json": {"channel": "sms"}}),
        roles=("admin", "counter", "supervisor"),
        scope="jurisdiction",
    ),
    ("PUT", "/api/v1/pensioners/{pensioner_id}/face"): Route(
        "staff",
        lambda t: (
            "PUT",
            f"/api/v1/pensioners/{t.pensioner_id}/face",
            {"files": [("photos", ("a.jpg", JPEG, "image/jpeg"))], "data": {"consent_method": "paper_form"}},
        ),
        roles=("admin", "counter", "supervisor"),
        scope="city",
    ),
    ("PUT", "/api/v1/pensioners/{pensioner_id}/action-exemptions"): Route(
        "staff",
        lambda t: (
            "PUT",
            f"/api/v1/pensioners/{t.pensioner_id}/action-exemptions",
            {"json": {"actions": ["turn_left"], "reason": "颈椎病，无法转头"}},
        ),
        ("admin", "counter"),
        "city",
    ),
    ("DELETE", "/api/v1/pensioners/{pensioner_id}/face"): Route(
        "staff", lambda t: ("DELETE", f"/api/v1/pensioners/{t.pensioner_id}/face", {}), ("admin", "counter"), "city"
    ),
    ("POST", "/api/v1/pensioners/{pensioner_id}/face-verifications"): Route(
        "staff",
        lambda t: (
            "POST",
            f"/api/v1/pensioners/{t.pensioner_id}/face-verifications",
            {"files": {"photo": ("p.jpg", JPEG, "image/jpeg")}},
        ),
        roles=("admin", "counter"),
        scope="city",
    ),
    ("GET", "/api/v1/me"): Route("pensioner", _get("/api/v1/me")),
    ("GET", "/api/v1/me/preferred-channel"): Route("pensioner", _get("/api/v1/me/preferred-channel")),
    ("PUT", "/api/v1/me/preferred-channel"): Route(
        "pensioner", lambda t: ("PUT", "/api/v1/me/preferred-channel", {"json": {"channel": "sms"}})
    ),
    ("POST", "/api/v1/me/liveness-challenges"): Route(
        "pensioner", lambda t: ("POST", "/api/v1/me/liveness-challenges", {})
    ),
    ("POST", "/api/v1/me/certifications"): Route(
        "pensioner",
        lambda t: (
            "POST",
            "/api/v1/me/certifications",
            {
                "data": {"challenge_id": t.challenge_id, "timestamps_ms": "0"},
                "files": [("frames", ("0.jpg", JPEG, "image/jpeg"))],
                "headers": _key(),
            },
        ),
        scope="own",
    ),
    ("GET", "/api/v1/admin/seasons"): Route("staff", _get("/api/v1/admin/seasons"), roles=("admin",)),
    ("POST", "/api/v1/admin/seasons"): Route(
        "staff",
        lambda t: ("POST", "/api/v1/admin/seasons", {"json": {"year": 2027}}),
        roles=("admin",),
        scope="city_level",
    ),
    # Seasons are city-wide; a region's own window may only be set inside the admin's jurisdiction.
    ("PUT", "/api/v1/admin/seasons/{year}/windows"): Route(
        "staff",
        lambda t: (
            "PUT",
            "/api/v1/admin/seasons/2026/windows",
            {"json": {"region_code": t.region, "close_date": "2026-07-10"}},
        ),
        roles=("admin",),
        scope="jurisdiction",
    ),
    ("POST", "/api/v1/certifications/counter"): Route(
        "staff",
        lambda t: (
            "POST",
            "/api/v1/certifications/counter",
            {"json": {"national_id": t.national_id, "attempt_id": t.attempt_id}, "headers": _key()},
        ),
        roles=("admin", "counter"),
        scope="city",
    ),
    ("GET", "/api/v1/me/certification"): Route("pensioner", _get("/api/v1/me/certification"), scope="own"),
    ("GET", "/api/v1/pensioners/{pensioner_id}/evidence"): Route(
        "staff", _get("/api/v1/pensioners/{t.pensioner_id}/evidence"), ("admin", "supervisor"), "jurisdiction"
    ),
    ("GET", "/api/v1/pensioners/{pensioner_id}/evidence/{evidence_id}"): Route(
        "staff",
        _get("/api/v1/pensioners/{t.pensioner_id}/evidence/{t.evidence_id}"),
        ("admin", "supervisor"),
        "jurisdiction",
    ),
    ("GET", "/api/v1/pensioners/{pensioner_id}/face-verifications"): Route(
        "staff",
        _get("/api/v1/pensioners/{t.pensioner_id}/face-verifications"),
        ("admin", "supervisor", "counter"),  # counter clerks: city-wide, their own checks only
        "jurisdiction",
    ),
    ("GET", "/api/v1/home-visits"): Route(
        "staff", _get("/api/v1/home-visits?mine=false"), roles=("admin", "field", "supervisor"), scope="list"
    ),
    ("GET", "/api/v1/home-visits/review"): Route(
        "staff", _get("/api/v1/home-visits/review"), roles=("admin", "supervisor"), scope="list"
    ),
    ("GET", "/api/v1/home-visits/outcomes"): Route(
        "staff", _get("/api/v1/home-visits/outcomes"), roles=("admin", "field", "supervisor")
    ),
    ("GET", "/api/v1/home-visits/{task_id}/form.pdf"): Route(
        "staff", _get("/api/v1/home-visits/{t.task_id}/form.pdf"), ("admin", "field", "supervisor"), "jurisdiction"
    ),
    ("POST", "/api/v1/home-visits/{task_id}/visits"): Route(
        "staff",
        lambda t: (
            "POST",
            f"/api/v1/home-visits/{t.task_id}/visits",
            {"data": {"outcome": "no_such_outcome"}, "headers": _key()},
        ),
        roles=("admin", "field", "supervisor"),
        scope="jurisdiction",
    ),
    ("POST", "/api/v1/home-visits/{task_id}/assign"): Route(
        "staff",
        lambda t: ("POST", f"/api/v1/home-visits/{t.task_id}/assign", {"json": {"staff_id": 1}}),
        roles=("admin", "supervisor"),
        scope="jurisdiction",
    ),
    ("POST", "/api/v1/home-visits/{task_id}/take"): Route(
        "staff",
        lambda t: ("POST", f"/api/v1/home-visits/{t.task_id}/take", {}),
        roles=("admin", "field", "supervisor"),
        scope="jurisdiction",
    ),
    # Scoped to the supervisor's jurisdiction (tests/certification_integrity); the target has no certification.
    ("POST", "/api/v1/certifications/{certification_id}/withdraw"): Route(
        "staff",
        lambda t: ("POST", "/api/v1/certifications/2147483647/withdraw", {"json": {"reason": "核实为冒名顶替"}}),
        roles=("admin", "supervisor"),
    ),
    ("POST", "/api/v1/home-visits/{visit_id}/review"): Route(
        "staff",
        lambda t: ("POST", f"/api/v1/home-visits/{t.visit_id}/review", {"json": {"decision": "accepted"}}),
        roles=("admin", "supervisor"),
        scope="jurisdiction",
    ),
    ("GET", "/api/v1/me/home-visit-request"): Route("pensioner", _get("/api/v1/me/home-visit-request")),
    ("GET", "/api/v1/me/certification/receipt"): Route("pensioner", _get("/api/v1/me/certification/receipt")),
    ("GET", "/api/v1/me/certification/receipt.pdf"): Route("pensioner", _get("/api/v1/me/certification/receipt.pdf")),
    # A receipt's check: public by design (staff open the URL printed on it); the keyed code is the secret.
    ("GET", "/api/v1/receipts/{certification_id}"): Route("public", _get("/api/v1/receipts/1?code=AAAAA-AAAAA")),
    ("POST", "/api/v1/me/home-visit-request"): Route(
        "pensioner", lambda t: ("POST", "/api/v1/me/home-visit-request", {"json": {"note": "腿脚不便"}})
    ),
    ("POST", "/api/v1/pensioners/{pensioner_id}/home-visit-request"): Route(
        "staff",
        lambda t: ("POST", f"/api/v1/pensioners/{t.pensioner_id}/home-visit-request", {"json": {}}),
        scope="jurisdiction",
    ),
    ("GET", "/api/v1/risk/summary"): Route(
        "staff", _get("/api/v1/risk/summary?region={t.region}"), ("admin", "supervisor"), "jurisdiction"
    ),
    ("POST", "/api/v1/risk/refresh"): Route(
        "staff", lambda t: ("POST", "/api/v1/risk/refresh", {}), roles=("admin", "supervisor")
    ),
    ("GET", "/api/v1/risk/pensioners"): Route(
        "staff", _get("/api/v1/risk/pensioners?region={t.region}"), ("admin", "supervisor"), "jurisdiction"
    ),
    ("GET", "/api/v1/risk/pensioners.csv"): Route(
        "staff", _get("/api/v1/risk/pensioners.csv?region={t.region}"), ("admin", "supervisor"), "jurisdiction"
    ),
    ("GET", "/api/v1/risk/pensioners.xlsx"): Route(
        "staff", _get("/api/v1/risk/pensioners.xlsx?region={t.region}"), ("admin", "supervisor"), "jurisdiction"
    ),
    ("GET", "/api/v1/risk/failures"): Route(
        "staff", _get("/api/v1/risk/failures?region={t.region}"), ("admin", "supervisor"), "jurisdiction"
    ),
    ("GET", "/app"): Route("public", _get("/app")),
    ("GET", "/app/"): Route("public", _get("/app/")),
    ("GET", "/app/{name:path}"): Route("public", _get("/app/main.js")),
    ("GET", "/docs"): Route("public", _get("/docs")),
    ("GET", "/docs/static/{name}"): Route("public", _get("/docs/static/init.js")),
    ("GET", "/staff/field"): Route("public", _get("/staff/field")),
    ("GET", "/staff/field/"): Route("public", _get("/staff/field/")),
    ("GET", "/staff/field/sw.js"): Route("public", _get("/staff/field/sw.js")),
    ("GET", "/staff/field/{name}"): Route("public", _get("/staff/field/app.js")),
    ("GET", "/api/v1/pensioners/{pensioner_id}/card"): Route(
        "staff", _get("/api/v1/pensioners/{t.pensioner_id}/card"), scope="jurisdiction"
    ),
    ("GET", "/api/v1/staff/me"): Route("staff", _get("/api/v1/staff/me")),
    ("GET", "/api/v1/staff"): Route("staff", _get("/api/v1/staff?role=field"), scope="list"),
    # The staff pages (not in the schema): static files; each page asks the API with its bearer token.
    ("GET", "/staff"): Route("public", _get("/staff")),
    ("GET", "/staff/"): Route("public", _get("/staff/")),
    ("GET", "/staff/counter/"): Route("public", _get("/staff/counter/")),
    ("GET", "/staff/supervisor/"): Route("public", _get("/staff/supervisor/")),
    ("GET", "/staff/static/{name}"): Route("public", _get("/staff/static/session.js")),
    ("GET", "/dashboard"): Route("public", _get("/dashboard")),
    ("GET", "/dashboard/{rest:path}"): Route("public", _get("/dashboard/pensioners/1")),
}


def _send(client: TestClient, req: Req, headers: dict[str, str] | None = None, **extra: Any):  # type: ignore[no-untyped-def]
    method, url, kw = req
    kw = dict(kw)
    kw["headers"] = {**kw.get("headers", {}), **(headers or {})}
    if "cookies" in extra:
        client.cookies.clear()
        for k, v in extra["cookies"].items():
            client.cookies.set(k, v)
    try:
        return client.request(method, url, follow_redirects=False, **kw)
    finally:
        client.cookies.clear()


def _auth(w: World, district: str, role: str, who: str) -> dict[str, Any]:
    """Credentials for a staff member, as a bearer header."""
    return {"headers": w.headers[(district, role)]}


def _call(client: TestClient, req: Req, auth: dict[str, Any]):  # type: ignore[no-untyped-def]
    return _send(client, req, auth.get("headers"), **({"cookies": auth["cookies"]} if "cookies" in auth else {}))


def _is_error(resp, status: int) -> bool:  # type: ignore[no-untyped-def]
    if resp.status_code != status:
        return False
    if resp.headers.get("content-type", "").startswith("text/html"):
        return True
    body = resp.json()
    return isinstance(body.get("code"), str) and bool(body.get("message")) and bool(body.get("message_en"))


def _walk(routes: Any, prefix: str = "") -> list[tuple[str, set[str]]]:
    """(path, methods) of every API route, also inside included routers (FastAPI ≥ 0.16x keeps them nested)."""
    out: list[tuple[str, set[str]]] = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append((prefix + r.path, set(r.methods)))
        elif hasattr(r, "original_router"):
            out += _walk(r.original_router.routes, prefix + r.include_context.prefix)
    return out


def test_every_route_has_an_expectation(app) -> None:  # type: ignore[no-untyped-def]
    schema_ops = {
        (method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        for method in ops
        if method != "parameters"
    }
    app_ops = {(m, path) for path, methods in _walk(app.routes) for m in methods if m != "HEAD"}
    assert schema_ops <= app_ops
    missing = sorted(app_ops - set(ROUTES))
    assert not missing, f"routes without an access expectation in tests/security/test_access.py: {missing}"
    stale = sorted(set(ROUTES) - app_ops)
    assert not stale, f"expectations for routes that no longer exist: {stale}"


def test_no_or_bad_token_is_401(client: TestClient, world: World, settings, clock) -> None:  # type: ignore[no-untyped-def]
    staff_id = world.staff_ids[(f.HUANCUI, "admin")]
    bad_tokens = {
        "none": {},
        "garbage": {"Authorization": "Bearer not-a-token"},
        "basic": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "wrong_secret": token(settings, clock.now, "staff", staff_id, "admin", secret="x" * 40),
        "expired": token(settings, clock.now - timedelta(hours=1), "staff", staff_id, "admin"),
        "refresh_as_access": token(settings, clock.now, "staff", staff_id, "admin", token_type="refresh"),
        "unknown_subject": token(settings, clock.now, "staff", 999999, "admin"),
    }
    failures = []
    for (method, path), route in ROUTES.items():
        if route.who in ("public",):
            continue
        req = route.call(world.a)
        for name, hdr in bad_tokens.items():
            resp = _send(client, req, hdr)
            ok = _is_error(resp, 401)
            if not ok:
                failures.append(f"{method} {path} [{name}] -> {resp.status_code} {resp.text[:120]}")
    assert not failures, "\n".join(failures)


def test_public_routes_need_no_token(client: TestClient, world: World) -> None:
    for (method, path), route in ROUTES.items():
        if route.who == "public":
            resp = _send(client, route.call(world.a))
            logins = ("staff-token", "pensioner-token", "refresh")
            assert resp.status_code not in (401, 403) or path.endswith(logins), (method, path, resp.status_code)
            assert resp.status_code < 500, (method, path, resp.text)


def test_wrong_role_is_403_and_wrong_kind_of_user_401(client: TestClient, world: World) -> None:
    failures = []
    for (method, path), route in ROUTES.items():
        req = route.call(world.a)
        if route.who == "staff":
            for role in ROLES:
                where = f.CITY if route.scope == "city_level" and role == "admin" else f.HUANCUI
                resp = _call(client, route.call(world.a), _auth(world, where, role, route.who))
                if role in route.roles:
                    if resp.status_code in (401, 403):
                        failures.append(f"{method} {path} [{role} allowed] -> {resp.status_code} {resp.text[:100]}")
                elif not _is_error(resp, 403):
                    failures.append(f"{method} {path} [{role}] -> {resp.status_code}, want 403")
            if route.who == "staff":
                resp = _send(client, req, world.pensioner_a)
                if not (_is_error(resp, 401) and resp.json()["code"] == "staff_required"):
                    failures.append(f"{method} {path} [pensioner token] -> {resp.status_code}, want 401")
        elif route.who == "pensioner":
            resp = _send(client, req, world.headers[(f.HUANCUI, "admin")])
            if not (_is_error(resp, 401) and resp.json()["code"] == "pensioner_required"):
                failures.append(f"{method} {path} [staff token] -> {resp.status_code}, want 401")
    assert not failures, "\n".join(failures)


def _role_for(route: Route) -> str:
    return "supervisor" if "supervisor" in route.roles else ("counter" if "counter" in route.roles else route.roles[0])


def _body(resp) -> Any:  # type: ignore[no-untyped-def]
    return resp.text if resp.headers.get("content-type", "").startswith("text/html") else resp.json()


def test_outside_the_jurisdiction_is_404_like_a_missing_object(client: TestClient, world: World) -> None:
    """Wendeng staff asking about Huancui objects get exactly what they get for ids that do not exist."""
    failures = []
    checked = 0
    for (method, path), route in ROUTES.items():
        if route.scope != "jurisdiction":
            continue
        checked += 1
        role = _role_for(route)
        outside = _call(client, route.call(world.a), _auth(world, f.WENDENG, role, route.who))
        missing = _call(client, route.call(world.missing), _auth(world, f.WENDENG, role, route.who))
        if outside.status_code != 404 or _body(outside) != _body(missing):
            failures.append(f"{method} {path} [{role} of 文登] -> {outside.status_code} {outside.text[:100]}")
        inside = _call(client, route.call(world.a), _auth(world, f.HUANCUI, role, route.who))
        if inside.status_code in (401, 403, 404):
            failures.append(f"{method} {path} [{role} of 环翠] -> {inside.status_code} {inside.text[:100]}")
    assert checked >= 10
    assert not failures, "\n".join(failures)


def test_city_wide_service_any_district_but_not_another_city(client: TestClient, world: World) -> None:
    """Counters serve any pensioner of their city (PensionerInCity); another city's staff get 404."""
    failures = []
    for (method, path), route in ROUTES.items():
        if route.scope != "city":
            continue
        other_district = _send(client, route.call(world.a), world.headers[(f.WENDENG, "counter")])
        if other_district.status_code in (401, 403, 404):
            failures.append(f"{method} {path} [counter of 文登] -> {other_district.status_code} {other_district.text}")
        other_city = _send(client, route.call(world.a), world.headers[(OTHER_CITY, "counter")])
        missing = _send(client, route.call(world.missing), world.headers[(OTHER_CITY, "counter")])
        if other_city.status_code != 404 or other_city.json() != missing.json():
            failures.append(f"{method} {path} [counter of 青岛] -> {other_city.status_code} {other_city.text}")
    assert not failures, "\n".join(failures)


def test_another_pensioners_challenge_is_404(client: TestClient, world: World) -> None:
    route = ROUTES[("POST", "/api/v1/me/certifications")]
    theirs = _send(client, route.call(world.a), world.pensioner_b)
    missing = _send(client, route.call(world.missing), world.pensioner_b)
    assert theirs.status_code == 404 and theirs.json()["code"] == "challenge_not_found"
    assert theirs.json() == missing.json()
    # A's challenge is untouched and still usable by A.
    mine = _send(client, route.call(world.a), world.pensioner_a)
    assert mine.status_code != 404, mine.text


def test_my_certification_is_my_own(client: TestClient, world: World) -> None:
    resp = _send(
        client, ROUTES[("POST", "/api/v1/certifications/counter")].call(world.a), world.headers[(f.HUANCUI, "counter")]
    )
    assert resp.status_code == 200, resp.text
    a = client.get("/api/v1/me/certification", headers=world.pensioner_a).json()
    b = client.get("/api/v1/me/certification", headers=world.pensioner_b).json()
    assert a["status"] == "certified" and a["channel"] == "counter"
    assert b["status"] == "pending" and b["channel"] is None
    assert client.get("/api/v1/me", headers=world.pensioner_b).json()["id"] == world.b_id


def test_lists_are_filtered_to_the_jurisdiction(client: TestClient, world: World) -> None:
    hc, wd = world.headers[(f.HUANCUI, "supervisor")], world.headers[(f.WENDENG, "supervisor")]
    listed = {r for r, route in ROUTES.items() if route.scope == "list"}
    assert listed == {
        ("GET", "/api/v1/regions"),
        ("GET", "/api/v1/pensioners"),
        ("GET", "/api/v1/home-visits"),
        ("GET", "/api/v1/home-visits/review"),
        ("GET", "/api/v1/staff"),
    }
    assert client.get(f"/api/v1/regions?parent={f.HUANCUI}", headers=wd).json() == []
    assert client.get(f"/api/v1/regions?parent={f.HUANCUI}", headers=hc).json()
    for q in (world.a.national_id, "环翠"):
        assert client.get("/api/v1/pensioners", params={"q": q}, headers=wd).json()["total"] == 0
        assert client.get("/api/v1/pensioners", params={"q": q}, headers=hc).json()["total"] == 1
    ids = [p["id"] for p in client.get("/api/v1/pensioners?limit=500", headers=wd).json()["items"]]
    assert ids == [world.b_id]
    assert client.get("/api/v1/home-visits?mine=false&status=open", headers=wd).json() == []
    assert [t["id"] for t in client.get("/api/v1/home-visits?mine=false", headers=hc).json()] == [world.a.task_id]
    assert client.get("/api/v1/home-visits/review", headers=wd).json() == []
    assert [i["visit"]["id"] for i in client.get("/api/v1/home-visits/review", headers=hc).json()] == [world.a.visit_id]
    wd_staff = client.get("/api/v1/staff", headers=wd).json()
    assert wd_staff and all(u["region_code"].startswith("371003") for u in wd_staff)
    assert any(u["region_code"].startswith("371002") for u in client.get("/api/v1/staff", headers=hc).json())
    summary = client.get("/api/v1/risk/summary", headers=wd).json()
    assert summary["region"] == f.WENDENG and all(c["region"].startswith("371003") for c in summary["children"])


def test_face_attempts_lock_the_day_through_the_app(client: TestClient, world: World, settings, clock, session) -> None:  # type: ignore[no-untyped-def]
    settings.face_attempts_per_day = 3
    hdr = world.pensioner_a
    route = ROUTES[("POST", "/api/v1/me/certifications")]
    challenge = world.a.challenge_id
    for _ in range(3):  # broken uploads are refused but are not the pensioner's failures: no lock
        resp = _send(client, route.call(Target(**{**world.a.__dict__, "challenge_id": challenge})), hdr)
        assert resp.status_code == 422 and resp.json()["code"] in {"not_an_image", "truncated_image"}, resp.text
        nxt = client.post("/api/v1/me/liveness-challenges", headers=hdr)
        assert nxt.status_code == 201, nxt.text
        challenge = nxt.json()["challenge_id"]
    for _ in range(3):  # what three refused liveness answers leave behind
        session.add(
            VerificationAttempt(
                pensioner_id=world.a.pensioner_id, at=clock.now, channel="app", decision="liveness_failed", reasons=[]
            )
        )
    session.commit()
    nxt = client.post("/api/v1/me/liveness-challenges", headers=hdr)
    assert nxt.status_code == 429, nxt.text
    body = nxt.json()
    assert body["code"] == "locked" and body["message"] and body["message_en"] and body["detail"]["failed_today"] == 3
    # Another pensioner is not affected; the lock ends with the local day.
    assert client.post("/api/v1/me/liveness-challenges", headers=world.pensioner_b).status_code == 201
    clock.now += timedelta(days=1)
    fresh = token(settings, clock.now, "pensioner", world.a.pensioner_id, None)
    assert client.post("/api/v1/me/liveness-challenges", headers=fresh).status_code == 201
