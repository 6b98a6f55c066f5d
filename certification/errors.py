"""Named errors of the certification domain."""

from __future__ import annotations

from typing import Any

from core.errors import Conflict, InvalidInput, NotFound


class InvalidChannel(InvalidInput):
    """Not one of CertificationChannel."""

    code = "invalid_channel"
    message_zh = "认证渠道无效。"
    message_en = "Unknown certification channel."


class PensionTerminated(Conflict):
    """A terminated pension cannot be certified."""

    code = "pension_terminated"
    message_zh = "该养老金已终止发放。"
    message_en = "This pension has been terminated."


class PensionOnHold(Conflict):
    """A reported death awaits a supervisor's decision; nothing is certified meanwhile."""

    code = "pension_on_hold"
    message_zh = "该养老金因死亡报告暂停发放，正在核实；如本人健在，请联系社区或社保经办机构复核。"
    message_en = "This pension is on hold while a reported death is checked; if the person is alive, ask for a review."


STATUS_ZH = {"active": "正常发放", "on_hold": "暂停核实", "suspended": "暂停发放", "terminated": "终止发放"}


class TransitionNotAllowed(Conflict):
    """A status change the pension lifecycle does not allow by this path."""

    code = "pension_transition_not_allowed"

    def __init__(self, before: str, after: str) -> None:
        super().__init__(
            f"养老金状态不能由“{STATUS_ZH.get(before, before)}”变为“{STATUS_ZH.get(after, after)}”。",
            f"A pension cannot go from {before} to {after} this way.",
            detail={"before": before, "after": after},
        )


class HoldDecided(Conflict):
    """The hold was already released or ended."""

    code = "hold_decided"
    message_zh = "该暂停发放记录已处理。"
    message_en = "This hold has already been decided."


class CertificationNotFound(NotFound):
    """No such certification in the caller's jurisdiction."""

    code = "certification_not_found"
    message_zh = "未找到该认证记录。"
    message_en = "Certification not found."


class CertificationWithdrawn(Conflict):
    """The certification was withdrawn already."""

    code = "certification_withdrawn"
    message_zh = "该认证记录已撤销。"
    message_en = "This certification has already been withdrawn."


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


class SeasonNotFound(NotFound):
    """No season of the year asked for."""

    code = "season_not_found"

    def __init__(self, year: int) -> None:
        super().__init__(f"未找到{year}年度认证期。", f"No season for {year}.")


class InvalidSeasonYear(InvalidInput):
    """A season year outside 2000–2100."""

    code = "invalid_season_year"
    message_zh = "年度无效。"
    message_en = "Invalid season year."


class InvalidGraceDays(InvalidInput):
    """Grace days outside 0–366."""

    code = "invalid_grace_days"
    message_zh = "宽限期天数无效。"
    message_en = "Grace days must be 0–366."


class CloseBeforeOpen(InvalidInput):
    """A window that closes before it opens."""

    code = "season_close_before_open"
    message_zh = "截止日期不能早于开始日期。"
    message_en = "The close date is before the open date."


class OpenOutsideYear(InvalidInput):
    """The season of a year must open in that year."""

    code = "season_open_outside_year"

    def __init__(self, year: int) -> None:
        super().__init__(
            f"{year}年度的认证期必须在{year}年内开始。",
            f"The {year} season must open in {year}.",
            detail={"year": year},
        )


class InvalidSuspendFrom(InvalidInput):
    """A suspension date not after close + grace."""

    code = "invalid_suspend_from_date"
    message_zh = "暂停发放日期必须晚于截止日期加宽限期。"
    message_en = "The suspension date must be after close + grace."


class SeasonExists(Conflict):
    """The year already has a season."""

    code = "season_exists"

    def __init__(self, year: int) -> None:
        super().__init__(f"{year}年度认证期已存在。", f"The {year} season already exists.")


class SeasonOverlap(Conflict):
    """A season or an extended window that runs into another season."""

    code = "season_overlap"
    message_zh = "延长后与下一年度认证期重叠。"
    message_en = "The extension overlaps the next season."

    @classmethod
    def with_season(cls, year: int) -> SeasonOverlap:
        """Overlap with a named season."""
        return cls(f"与{year}年度认证期重叠。", f"Overlaps the {year} season.", detail={"overlaps": year})


class FaceCheckRequired(InvalidInput):
    """A counter certification names no face check of the person at the counter."""

    code = "face_check_required"
    message_zh = "柜台认证前须先完成本人人脸核验，请提供核验记录编号（attempt_id）。"
    message_en = "Check the person's face at the counter first and give that check's attempt_id."


_UNUSABLE = {
    "not_found": ("找不到该人脸核验记录。", "No such face check."),
    "other_pensioner": ("该人脸核验记录不属于此人。", "That face check is of another pensioner."),
    "not_at_counter": ("该核验不是柜台核验。", "That face check was not made at a counter."),
    "not_matched": ("该人脸核验未通过，不能据此认证。", "That face check did not match; it cannot certify."),
    "expired": ("该人脸核验已超过有效时间，请重新核验。", "That face check is too old; check the face again."),
}


class FaceCheckNotUsable(InvalidInput):
    """The named face check cannot support this certification (detail.reason says why)."""

    code = "face_check_not_usable"

    def __init__(self, reason: str) -> None:
        zh, en = _UNUSABLE[reason]
        super().__init__(zh, en, detail={"reason": reason})


class NoReceipt(NotFound):
    """No certification this season (or it was withdrawn): nothing to show a receipt for."""

    code = "no_receipt"
    message_zh = "本年度尚未认证，暂无认证回执。"
    message_en = "Not certified this season: no receipt yet."
