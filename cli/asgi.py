"""ASGI entry point of `pension-cert serve`: the app, with the scheduler embedded when settings ask for it."""

from api.app import create_app
from api.observability import configure_logging
from core.settings import get_settings
from scheduler.jobs import start_embedded

configure_logging(get_settings().log_level)
app = create_app(background=start_embedded)
