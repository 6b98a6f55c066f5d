"""Pydantic bodies shared by every domain (separate from the ORM models)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """Every 4xx answer: a stable code and a message in Chinese and English."""

    code: str
    message: str
    message_en: str
    detail: Any = None
