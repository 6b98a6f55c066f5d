"""ASGI entry point for uvicorn (`api.main:app`) where the scheduler runs as its own process; `serve` uses cli.asgi."""

from api.app import create_app
from api.observability import configure_logging
from core.settings import get_settings

configure_logging(get_settings().log_level)
app = create_app()
