"""Named errors of the certification domain."""

from __future__ import annotations

from typing import Any

from core.errors import Conflict, InvalidInput, NotFound


class InvalidChannel(InvalidInput):
    """Not one of CertificationChannel."""

    code = "invalid_channel"
    message_zh = "认证渠道无效。"
    message_en = "Unknown certification channel."


class PensionerNotFound(NotFound):
    """No such pensioner (or outside the caller's city)."""

    code = "pensioner_not_found"
    message_zh = "未找到该养老金领取人。"
    message_en = "Pensioner not found."


class RegionNotFound(NotFound):
    """No such region inside the caller's jurisdiction."""

    code = "region_not_found"
    message_zh = "未找到该区划。"
    message_en = "Region not found."


class PensionTerminated(Conflict):
    """A terminated pension cannot be certified."""

    code = "pension_terminated"
    message_zh = "该养老金已终止发放。"
    message_en = "This pension has been terminated."


class NoOpenSeason(Conflict):
    """No season has opened to certify for."""

    code = "no_open_season"
    message_zh = "当前没有开放的认证期。"
    message_en = "No certification season has opened yet."


class InvalidDeathDate(InvalidInput):
    """The date of death is before the birth date."""

    code = "invalid_death_date"
    message_zh = "死亡日期早于出生日期。"
    message_en = "The date of death is before the birth date."


class ImportRejected(InvalidInput):
    """A life-evidence or deaths file had bad rows; nothing was imported."""

    code = "import_rejected"

    def __init__(self, errors: list[dict[str, Any]], *, shown: int) -> None:
        super().__init__(
            f"导入被拒绝：{len(errors)}行有误，未导入任何数据。",
            f"Import rejected: {len(errors)} bad rows; nothing was imported.",
            detail={"errors": errors[:shown]},
        )


class AttestationFailed(InvalidInput):
    """The device attestation token is missing or not genuine."""

    code = "attestation_failed"
    message_zh = "无法确认应用运行在可信设备上，请使用官方应用。"
    message_en = "The app's device attestation failed; use the official app on a genuine device."
