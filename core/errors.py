"""Domain exceptions with stable codes and bilingual messages, mapped to HTTP in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

DEFAULT_RETRY_AFTER_SECONDS = 60


class DomainError(Exception):
    """Base of every error the API turns into a 4xx answer."""

    status_code = 400
    code = "bad_request"
    message_zh = "请求有误。"
    message_en = "Bad request."
    # When set, the request's transaction commits before the error is answered (failed-attempt records).
    keep_changes = False
    headers: dict[str, str] | None = None

    def __init__(
        self,
        message_zh: str | None = None,
        message_en: str | None = None,
        *,
        code: str | None = None,
        detail: Any = None,
        keep_changes: bool | None = None,
    ) -> None:
        if keep_changes is not None:
            self.keep_changes = keep_changes
        self.message_zh = message_zh or self.message_zh
        self.message_en = message_en or self.message_en
        if code:
            self.code = code
        self.detail = detail
        if self.status_code == 429:
            self.headers = {**(self.headers or {}), "Retry-After": str(self.retry_after_seconds())}
        super().__init__(f"{self.code}: {self.message_en}")

    def retry_after_seconds(self) -> int:
        """When a 429 may be tried again: detail's retry_after_seconds, else a minute (every 429 says when)."""
        given = self.detail.get("retry_after_seconds") if isinstance(self.detail, dict) else None
        return max(1, int(given)) if isinstance(given, int | float) else DEFAULT_RETRY_AFTER_SECONDS

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body."""
        body: dict[str, Any] = {"code": self.code, "message": self.message_zh, "message_en": self.message_en}
        if self.detail is not None:
            body["detail"] = self.detail
        return body


class NotFound(DomainError):
    """Missing, or outside the caller's scope (never tell which)."""

    status_code = 404
    code = "not_found"
    message_zh = "未找到该对象。"
    message_en = "Not found."


class NotAuthenticated(DomainError):
    """No or invalid credentials."""

    status_code = 401
    code = "not_authenticated"
    message_zh = "请先登录。"
    message_en = "Authentication required."


class Forbidden(DomainError):
    """Authenticated but the role may not do this."""

    status_code = 403
    code = "forbidden"
    message_zh = "无权执行此操作。"
    message_en = "Not allowed for your role."


class Conflict(DomainError):
    """The state does not allow this now."""

    status_code = 409
    code = "conflict"
    message_zh = "操作与当前状态冲突。"
    message_en = "Conflicts with the current state."


class InvalidInput(DomainError):
    """Input failed validation."""

    status_code = 422
    code = "invalid_input"
    message_zh = "输入数据无效。"
    message_en = "Invalid input."


class PayloadTooLarge(DomainError):
    """Upload exceeds the limit."""

    status_code = 413
    code = "payload_too_large"
    message_zh = "上传的文件过大。"
    message_en = "The upload is too large."


class RateLimited(DomainError):
    """Too many attempts; the answer says (Retry-After and detail) how many seconds to wait."""

    status_code = 429
    code = "rate_limited"
    message_zh = "尝试次数过多，请稍后再试。"
    message_en = "Too many attempts; try again later."
    keep_changes = True

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(detail={"retry_after_seconds": max(1, int(retry_after_seconds))})


class ServiceBusy(DomainError):
    """The face service has more work queued than it answers in a few seconds; nothing was changed."""

    status_code = 503
    code = "busy"
    message_zh = "当前认证人数较多，请稍后几秒再提交，无需重新录制。"
    message_en = "Many people are certifying right now; submit again in a few seconds, no need to record again."

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(detail={"retry_after_seconds": retry_after_seconds})
        self.headers = {"Retry-After": str(retry_after_seconds)}


class DatabaseBusy(DomainError):
    """Another writer holds the database (SQLite lock, PostgreSQL lock or statement timeout, deadlock, full pool)."""

    status_code = 503
    code = "database_busy"
    message_zh = "系统繁忙，请稍后几秒再试。"
    message_en = "The service is busy; try again in a few seconds."

    def __init__(self, retry_after_seconds: int = 2) -> None:
        super().__init__(detail={"retry_after_seconds": retry_after_seconds})
        self.headers = {"Retry-After": str(retry_after_seconds)}


class DatabaseUnavailable(DomainError):
    """The database cannot be reached or opened."""

    status_code = 503
    code = "database_unavailable"
    message_zh = "系统暂时无法使用，请稍后再试。"
    message_en = "The service is temporarily unavailable; try again later."

    def __init__(self, retry_after_seconds: int = 30) -> None:
        super().__init__(detail={"retry_after_seconds": retry_after_seconds})
        self.headers = {"Retry-After": str(retry_after_seconds)}


# PostgreSQL: lock_not_available (lock_timeout), query_canceled (statement_timeout), deadlock, serialization.
_BUSY_SQLSTATES = frozenset({"55P03", "57014", "40P01", "40001"})
_BUSY_SQLITE = ("database is locked", "database table is locked", "database schema is locked")


def database_error(exc: BaseException) -> DomainError | None:
    """The domain error of a database that is busy (retry in seconds) or unreachable; None for any other error."""
    if isinstance(exc, PoolTimeout):
        return DatabaseBusy()
    if not isinstance(exc, OperationalError):
        return None
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in _BUSY_SQLSTATES or str(orig).lower().startswith(_BUSY_SQLITE):
        return DatabaseBusy()
    return DatabaseUnavailable()
