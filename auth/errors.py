"""Named errors of the auth domain: logins and token refresh."""

from __future__ import annotations

from core.errors import NotAuthenticated


class BadCredentials(NotAuthenticated):
    """Unknown username, wrong password or disabled account (never tell which); the rate-limit hit is kept."""

    code = "bad_credentials"
    message_zh = "用户名或密码错误。"
    message_en = "Wrong username or password."
    keep_changes = True


class BadOtp(NotAuthenticated):
    """A login code that is wrong, used, expired or out of attempts."""

    code = "bad_otp"
    message_zh = "验证码错误或已过期。"
    message_en = "Wrong or expired code."


class SessionExpired(NotAuthenticated):
    """A refresh token that is unknown, revoked or expired."""

    code = "invalid_token"
    message_zh = "登录已过期，请重新登录。"
    message_en = "Session expired; log in again."


class AccountDisabled(NotAuthenticated):
    """The staff account behind a refresh token is gone or disabled."""

    code = "account_disabled"
    message_zh = "账号不可用。"
    message_en = "Account disabled."
