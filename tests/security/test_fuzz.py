"""Schemathesis over the whole OpenAPI schema: no 5xx, every error a documented 4xx with {code, message, message_en}.

Staff operations run as a city-level admin (admitted by every staff role check), /me operations as a pensioner.
PENSION_CERT_FUZZ_EXAMPLES raises the per-operation example count (default kept small for CI time).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from core.settings import Settings
from tests import factories as f
from tests.security.conftest import World, build_world, token

EXAMPLES = int(os.environ.get("PENSION_CERT_FUZZ_EXAMPLES", "6"))


@pytest.fixture
def fuzz_world(client, session, settings, clock) -> World:  # type: ignore[no-untyped-def]
    """The arranged city, with a city-level admin for the fuzzer."""
    settings.login_rate_per_address = 10_000  # the fuzzer comes from one address; rate limits are tested elsewhere
    world = build_world(client, session, settings, clock.now)
    admin = f.staff(session, role="admin", region=f.CITY)
    session.commit()
    world.headers[("city", "admin")] = token(settings, clock.now, "staff", admin.id, "admin")
    return world


# The schema is read once from an app that never touches its database; each test calls its own app.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(Settings(database_url="sqlite://", face_workers=-1))
)


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_documented_error_bodies(case, app, fuzz_world: World) -> None:  # type: ignore[no-untyped-def]
    """One operation, EXAMPLES generated requests (valid and invalid)."""
    me = case.path.startswith("/api/v1/me") or case.path == "/api/v1/me"
    auth = fuzz_world.pensioner_a if me else fuzz_world.headers[("city", "admin")]
    response = case.call(app=app, headers=auth)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
    )
    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict), body
        assert isinstance(body.get("code"), str) and body["code"], body
        assert isinstance(body.get("message"), str) and body["message"], body
        assert isinstance(body.get("message_en"), str) and body["message_en"], body
