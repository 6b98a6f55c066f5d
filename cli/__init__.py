"""The `pension-cert` command line; each module registers its commands on the shared app."""

# Import order is the order of `pension-cert --help`.
from cli import sweeps, certification, faces, keys, server, registry, messaging, demo  # noqa: F401, I001  (importing registers the commands)
from cli.common import app

__all__ = ["app"]
