"""Request and response bodies of login and token refresh."""

from __future__ import annotations

from typing import Literal

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
    """The same answer whether or not the ID is registered (nothing about the person or their phones)."""

    sent: bool = True
    message: str
    message_en: str


class PensionerTokenIn(BaseModel):
    """Exchange a code for a token."""

    national_id: str = Field(min_length=15, max_length=18)
    code: str = Field(min_length=4, max_length=8)


class LoginUnlockIn(BaseModel):
    """How staff made sure it is the pensioner before resetting the code limits on their ID."""

    verified_by: Literal["counter_id_card", "phone_callback"]  # ID card at the counter; called the registered phone
    note: str | None = Field(default=None, max_length=200)


class LoginUnlockOut(BaseModel):
    """The limits on the pensioner's ID are reset; they may ask for a code now."""

    pensioner_id: int
    cleared: int
    message: str = "已解除该身份证号的验证码限制，请本人现在重新获取验证码。"
    message_en: str = "The code limits on this ID are reset; the pensioner may ask for a code now."
