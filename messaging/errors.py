"""Named errors of the messaging domain (stable codes, bilingual messages)."""

from __future__ import annotations

from core.errors import Forbidden, InvalidInput, NotAuthenticated


class ReceiptNotAuthenticated(NotAuthenticated):
    """A delivery report without the provider's token or signature."""

    code = "receipt_not_authenticated"
    message_zh = "送达回执缺少认证信息（令牌或签名）。"
    message_en = "The delivery report carries no token or signature."


class ReceiptCredentialsInvalid(Forbidden):
    """A delivery report whose token or signature does not match the shared secret."""

    code = "receipt_credentials_invalid"
    message_zh = "送达回执的令牌或签名无效，未做任何更改。"
    message_en = "The delivery report's token or signature is not valid; nothing was changed."


class UnknownMessages(InvalidInput):
    """Every report of the batch names a message the outbox does not have."""

    code = "receipt_unknown_messages"
    message_zh = "送达回执中的消息编号均不存在，未做任何更改。"
    message_en = "No report of the batch names a known message; nothing was changed."
