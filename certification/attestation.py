"""Device attestation hook (Play Integrity / App Attest): the defence against injected video."""

from __future__ import annotations

from collections.abc import Callable

from certification.errors import AttestationFailed
from core.settings import Settings

# A deployment registers a verifier that checks the token with Google or Apple; it returns True if genuine.
Verifier = Callable[[str], bool]
_verifier: Verifier | None = None


def register(verifier: Verifier | None) -> None:
    """Install (or remove) the attestation verifier."""
    global _verifier
    _verifier = verifier


def check(token: str | None, *, settings: Settings) -> None:
    """Refuse when attestation is required and the token is missing or not genuine."""
    if not settings.require_device_attestation and not token:
        return
    if not token or _verifier is None or not _verifier(token):
        raise AttestationFailed()
