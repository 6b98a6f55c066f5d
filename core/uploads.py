"""Reading uploaded files with a hard size limit."""

from __future__ import annotations

from fastapi import UploadFile

from core.errors import PayloadTooLarge

_CHUNK = 1024 * 1024


def read_limited(upload: UploadFile, limit: int) -> bytes:
    """Read the whole upload, refusing it as soon as it passes limit bytes."""
    parts: list[bytes] = []
    total = 0
    while True:
        chunk = upload.file.read(_CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(
                f"文件超过{limit // (1024 * 1024)}MB上限。",
                f"The file exceeds the {limit // (1024 * 1024)} MB limit.",
                detail={"limit_bytes": limit},
            )
        parts.append(chunk)
    return b"".join(parts)
