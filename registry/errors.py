"""Named errors of the registry domain: regions, the roster, pensioners in scope and staff accounts."""

from __future__ import annotations

from core.errors import Conflict, Forbidden, InvalidInput, NotFound


class RegionNotFound(NotFound):
    """No region with that code, or outside the caller's jurisdiction."""

    code = "region_not_found"
    message_zh = "未找到该区划。"
    message_en = "Region not found."


class PensionerNotFound(NotFound):
    """No such pensioner, or outside the caller's scope (never tell which)."""

    code = "pensioner_not_found"
    message_zh = "未找到该养老金领取人。"
    message_en = "Pensioner not found."


class InvalidChannel(InvalidInput):
    """A preferred channel the service does not know."""

    code = "invalid_channel"
    message_zh = "消息渠道无效，可选：短信(sms)、App推送(push)、微信(wechat)。"
    message_en = "Unknown message channel; use sms, push or wechat."


class ChannelUnavailable(InvalidInput):
    """A known channel this deployment has no gateway for (detail lists the ones it has; SMS always)."""

    code = "channel_unavailable"
    message_zh = "本地暂未开通该消息渠道，请选择已开通的渠道（短信始终可用）。"
    message_en = "This message channel is not offered here; choose one that is (SMS always is)."

    def __init__(self, *, available: list[str]) -> None:
        super().__init__(detail={"available": available})


class EmptyImportFile(InvalidInput):
    """An import file with a header but no data rows."""

    code = "empty_file"
    message_zh = "文件没有数据行。"
    message_en = "The file has no data rows."


class InvalidRegionFile(InvalidInput):
    """A region file with bad rows; nothing is imported (detail lists the rejected lines)."""

    code = "invalid_regions"
    message_zh = "区划文件有错误，未导入任何数据。"
    message_en = "The region file has errors; nothing was imported."


class BadUsername(InvalidInput):
    """A username outside 3–64 letters, digits or ._-."""

    code = "bad_username"
    message_zh = "用户名只能包含字母、数字和._-，3–64个字符。"
    message_en = "Username: 3–64 letters, digits or ._-"


class BadRole(InvalidInput):
    """A staff role that does not exist."""

    code = "bad_role"
    message_zh = "角色无效。"
    message_en = "Unknown role."


class WeakPassword(InvalidInput):
    """A staff password shorter than 8 characters."""

    code = "weak_password"
    message_zh = "密码至少8个字符。"
    message_en = "Password needs at least 8 characters."


class BadPhone(InvalidInput):
    """A phone number that is neither a mobile nor a landline number."""

    code = "bad_phone"
    message_zh = "手机号无效。"
    message_en = "Invalid phone number."


class UsernameTaken(Conflict):
    """Another account already has the username."""

    code = "username_taken"
    message_zh = "用户名已存在。"
    message_en = "Username already exists."


class OutsideJurisdiction(Forbidden):
    """A write beyond the caller's jurisdiction (another city's season, a region or row not theirs)."""

    code = "outside_jurisdiction"
    message_zh = "超出您的管辖范围，未执行。"
    message_en = "Outside your jurisdiction; nothing was changed."


class PhoneChangesNeedConfirmation(Conflict):
    """A roster import changing more phone numbers than allowed without an explicit confirmation."""

    code = "phone_changes_need_confirmation"
    message_zh = "本次导入将更改的电话号码数量超过上限，未导入任何数据；请核对后确认再导入。"
    message_en = "This import would change more phone numbers than allowed; nothing was imported. Check, then confirm."

    def __init__(self, *, changes: int, limit: int) -> None:
        super().__init__(
            f"本次导入将更改{changes}个电话号码，超过上限{limit}个，未导入任何数据；请核对后确认再导入。",
            f"This import would change {changes} phone numbers, more than {limit}; nothing was imported. "
            "Check them, then import again with the confirmation.",
            detail={"phone_changes": changes, "limit": limit},
        )


class StaffNotFound(NotFound):
    """No active staff account with that username (the CLI's --staff)."""

    code = "staff_not_found"
    message_zh = "未找到该工作人员账号。"
    message_en = "No such staff account."
