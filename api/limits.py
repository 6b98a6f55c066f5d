"""Body budgets per route class: small JSON everywhere, each upload route by its settings (core.bodylimit enforces)."""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter, UploadFile
from fastapi.routing import APIRoute
from starlette.routing import compile_path

from certification import app_router as me
from core.bodylimit import RouteLimit
from core.settings import Settings
from faces import liveness
from faces import router as faces
from faces import service as face_service
from home_visit import router as home_visit
from registry import router as admin

FORM_SLACK = 64 * 1024  # multipart boundaries, part headers and the small form fields beside the files

# Every route taking a file names its budget here (create_app refuses to start otherwise).
UPLOADS: dict[Callable[..., Any], Callable[[Settings], int]] = {
    faces.enrol_face: lambda s: face_service.MAX_REFERENCE_PHOTOS * s.max_upload_bytes,
    faces.verify_at_counter: lambda s: s.max_upload_bytes,
    me.certify: lambda s: max(s.max_video_bytes, liveness.MAX_FRAMES * s.max_frame_bytes),
    home_visit.record_visit: lambda s: 2 * s.max_upload_bytes,  # visit photo + form scan
    admin.import_regions: lambda s: s.max_import_bytes,
    admin.import_roster: lambda s: s.max_import_bytes,
}


def _takes_files(route: APIRoute) -> bool:
    def has_upload(tp: Any) -> bool:
        return tp is UploadFile or any(has_upload(arg) for arg in typing.get_args(tp))

    hints = typing.get_type_hints(route.endpoint, include_extras=True)
    return any(has_upload(tp) for name, tp in hints.items() if name != "return")


def upload_limits(routers: Iterable[APIRouter], *, prefix: str, settings: Callable[[], Settings]) -> list[RouteLimit]:
    """The upload routes of these routers (mounted under prefix) with their budgets read from the live settings."""
    limits: list[RouteLimit] = []
    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute) or not _takes_files(route):
                continue
            budget = UPLOADS.get(route.endpoint)
            if budget is None:
                raise RuntimeError(f"upload route {route.path} has no body budget in api/limits.py")
            regex, _, _ = compile_path(prefix + route.path)
            limits.append(
                RouteLimit(
                    methods=frozenset(route.methods or ()),
                    path=regex,
                    max_bytes=lambda b=budget: b(settings()) + FORM_SLACK,  # type: ignore[misc]
                )
            )
    return limits
