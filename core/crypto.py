"""AES-256-GCM encryption of face templates and evidence, with key ids for rotation."""

from __future__ import annotations

import base64
import os

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.settings import Settings

_NONCE = 12


class KeyRing:
    """The current key (used to write) and older keys (still accepted to read)."""

    def __init__(self, current_id: str, keys: dict[str, bytes]) -> None:
        if current_id not in keys:
            raise ValueError("current key id missing")
        for kid, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"key {kid!r} must be 32 bytes (base64 of 32 random bytes)")
        self.current_id = current_id
        self._keys = keys
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.items()}  # one per key: ~1.2 s of a 1M-row load

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        """Keys from PENSION_CERT_TEMPLATE_KEY(_ID) and PENSION_CERT_OLD_TEMPLATE_KEYS (id:base64,…)."""
        keys = {settings.template_key_id: base64.b64decode(settings.template_key)}
        for item in filter(None, (x.strip() for x in settings.old_template_keys.split(","))):
            kid, _, b64 = item.partition(":")
            keys.setdefault(kid, base64.b64decode(b64))
        return cls(settings.template_key_id, keys)

    def has(self, key_id: str) -> bool:
        """Whether this ring can read rows written with `key_id`."""
        return key_id in self._keys

    def encrypt(self, plaintext: bytes, *, aad: bytes) -> tuple[bytes, str]:
        """Nonce + ciphertext with the current key; aad binds it to its owner."""
        nonce = os.urandom(_NONCE)
        return nonce + self._ciphers[self.current_id].encrypt(nonce, plaintext, aad), self.current_id

    def decrypt(self, blob: bytes, *, key_id: str, aad: bytes) -> bytes:
        """Decrypt with the key it was written with (raises if tampered or bound to another owner)."""
        return self._ciphers[key_id].decrypt(blob[:_NONCE], blob[_NONCE:], aad)


def template_aad(pensioner_id: int) -> bytes:
    """Binds a template to its pensioner: a template moved to another row does not decrypt."""
    return f"face_template:{pensioner_id}".encode()


def evidence_aad(pensioner_id: int, kind: str) -> bytes:
    """Binds evidence to its pensioner and kind."""
    return f"evidence:{pensioner_id}:{kind}".encode()


def replay_signature_aad(pensioner_id: int, challenge_id: str) -> bytes:
    """Binds a liveness answer's replay signatures to their pensioner and challenge."""
    return f"replay_signature:{pensioner_id}:{challenge_id}".encode()


def encrypt_encoding(ring: KeyRing, encoding: np.ndarray, *, pensioner_id: int) -> tuple[bytes, str]:
    """Encrypt a 128-d encoding (float64)."""
    raw = np.asarray(encoding, dtype="<f8").reshape(128).tobytes()
    return ring.encrypt(raw, aad=template_aad(pensioner_id))


def decrypt_encoding(ring: KeyRing, blob: bytes, *, key_id: str, pensioner_id: int) -> np.ndarray:
    """Decrypt back to a 128-d float64 array."""
    return np.frombuffer(ring.decrypt(blob, key_id=key_id, aad=template_aad(pensioner_id)), dtype="<f8").copy()
