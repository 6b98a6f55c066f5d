"""Request dependencies of the messaging domain: the gateways and the session factory for after-commit work."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from messaging.gateways import Gateways, make_gateways


def get_gateways(request: Request) -> Gateways:
    """The app's gateways (made once per process from its settings)."""
    found: Gateways | None = getattr(request.app.state, "gateways", None)
    if found is None:
        found = request.app.state.gateways = make_gateways(request.app.state.settings)
    return found


def get_session_factory(request: Request) -> sessionmaker[Session]:
    """The app's session factory (for work after the request's own transaction)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


GatewaysDep = Annotated[Gateways, Depends(get_gateways)]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
