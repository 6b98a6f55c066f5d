"""The `pension-cert` command line; each module registers its commands on the shared app."""

from api.cli import faces, keys, registry, seasons  # noqa: F401  (registers commands)
from api.cli.common import app

__all__ = ["app"]
