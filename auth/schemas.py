"""Request and response bodies of login and token refresh."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TokenOut(BaseModel):
    """OAuth2 bearer token answer."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str


class RefreshIn(BaseModel):
    """A refresh token to rotate."""

    refresh_token: str = Field(max_length=2048)


class OtpRequestIn(BaseModel):
    """Ask for a login code."""

    national_id: str = Field(min_length=15, max_length=18)
    to_family_phone: bool = False


class OtpRequestOut(BaseModel):
    """Where the code went (masked), if the person is known."""

    sent: bool = True
    message: str
    message_en: str
    masked_phone: str | None = None


class PensionerTokenIn(BaseModel):
    """Exchange a code for a token."""

    national_id: str = Field(min_length=15, max_length=18)
    code: str = Field(min_length=4, max_length=8)
