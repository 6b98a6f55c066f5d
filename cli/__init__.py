"""The `pension-cert` command line; each module registers its commands on the shared app."""

from cli import certification, faces, keys, registry  # noqa: F401  (importing registers the commands)
from cli.common import app

__all__ = ["app"]
