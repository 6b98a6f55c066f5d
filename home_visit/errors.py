"""Named errors of the home-visit domain (stable codes, bilingual messages)."""

from __future__ import annotations

from core.errors import Conflict, Forbidden, InvalidInput, NotFound


class TaskNotFound(NotFound):
    """No such task in the caller's jurisdiction."""

    code = "task_not_found"
    message_zh = "未找到该上门认证任务。"
    message_en = "Home-visit task not found."


class VisitNotFound(NotFound):
    """No such visit in the caller's jurisdiction."""

    code = "visit_not_found"
    message_zh = "未找到该走访记录。"
    message_en = "Visit not found."


class TaskClosed(Conflict):
    """The task is no longer open."""

    code = "task_closed"
    message_zh = "该上门认证任务已关闭。"
    message_en = "This home-visit task is closed."


class VisitAlreadyRecorded(Conflict):
    """The same visit (task, outcome, time) was already recorded, e.g. sent from a second device."""

    code = "visit_already_recorded"
    message_zh = "这次走访已由另一台设备提交并记录，无需重复提交。"
    message_en = "This visit was already recorded (sent from another device); it is not recorded twice."


class AlreadyCertified(Conflict):
    """Nothing to visit for: the season is already certified."""

    code = "already_certified"
    message_zh = "您本年度已完成认证，无需上门。"
    message_en = "Already certified this season; no visit is needed."


class PensionTerminated(Conflict):
    """A terminated pension gets no home visit."""

    code = "pension_terminated"
    message_zh = "该养老金已终止发放。"
    message_en = "This pension has been terminated."


class NoOpenSeason(Conflict):
    """No certification season is open for the pensioner."""

    code = "no_open_season"
    message_zh = "当前没有认证期。"
    message_en = "No certification season is open."


class NotAwaitingReview(Conflict):
    """The visit was not flagged, or was reviewed already."""

    code = "not_awaiting_review"
    message_zh = "该走访记录无需复核或已复核。"
    message_en = "This visit is not awaiting review."


class InvalidAssignee(InvalidInput):
    """The chosen staff member is not an active field worker covering the pensioner."""

    code = "invalid_assignee"
    message_zh = "该工作人员不是负责该社区的在岗上门人员。"
    message_en = "That staff member is not an active field worker covering this pensioner."


class InvalidOutcome(InvalidInput):
    """The outcome is not one of VisitOutcome."""

    code = "invalid_outcome"
    message_zh = "走访结果无效。"
    message_en = "Unknown visit outcome."


class GpsIncomplete(InvalidInput):
    """Latitude without longitude, or the other way round."""

    code = "invalid_gps"
    message_zh = "请同时提供纬度和经度。"
    message_en = "Give both latitude and longitude."


class GpsOutOfRange(InvalidInput):
    """Coordinates outside ±90° / ±180°."""

    code = "invalid_gps"
    message_zh = "GPS坐标超出范围。"
    message_en = "GPS coordinates out of range."


class VisitedAtInFuture(InvalidInput):
    """The visit time is later than now (beyond the clock tolerance)."""

    code = "invalid_visited_at"
    message_zh = "走访时间不能晚于当前时间。"
    message_en = "The visit time is in the future."


class InvalidFormScan(InvalidInput):
    """The form scan is not a PDF, JPEG or PNG."""

    code = "invalid_form_scan"
    message_zh = "认证表扫描件必须是PDF、JPEG或PNG文件。"
    message_en = "The form scan must be a PDF, JPEG or PNG file."


class InvalidPhoto(InvalidInput):
    """The photo is not a JPEG or PNG."""

    code = "invalid_photo"
    message_zh = "现场照片必须是JPEG或PNG格式。"
    message_en = "The photo must be a JPEG or PNG."


class PhotoRequired(InvalidInput):
    """A certifying visit needs a photo taken on the spot."""

    code = "photo_required"
    message_zh = "认证需上传现场照片。"
    message_en = "A photo taken on the spot is required."


class FormScanRequired(InvalidInput):
    """A certifying visit needs the signed form's scan."""

    code = "form_scan_required"
    message_zh = "认证需上传签字的认证表。"
    message_en = "The signed form's scan is required."


class DeathDateRequired(InvalidInput):
    """A "deceased" visit needs the date of death."""

    code = "death_date_required"
    message_zh = "请填写死亡日期。"
    message_en = "The date of death is required."


class DeathDateInFuture(InvalidInput):
    """The date of death is after today."""

    code = "invalid_death_date"
    message_zh = "死亡日期不能晚于今天。"
    message_en = "The date of death is in the future."


class NextDueDateInPast(InvalidInput):
    """The next visit date given is before today."""

    code = "invalid_next_due_date"
    message_zh = "下次走访日期不能早于今天。"
    message_en = "The next visit date is in the past."


class TaskNotAssigned(Forbidden):
    """Only the task's assignee records a visit."""

    code = "task_not_assigned"
    message_zh = "该任务未分配给您；如需由您走访，请先将任务转给自己（将留痕）。"
    message_en = "This task is not assigned to you; take it over first (this is recorded)."


class OwnVisitReview(Forbidden):
    """Nobody reviews a visit they recorded themselves."""

    code = "own_visit_review"
    message_zh = "不能复核本人录入的走访记录，请由其他主管复核。"
    message_en = "You cannot review a visit you recorded; another supervisor must."


class DeathEvidenceRequired(InvalidInput):
    """A "deceased" visit needs a death certificate, or a family statement with a photo of the document."""

    code = "death_evidence_required"
    message_zh = "请上传死亡证明扫描件，或家属书面说明及相关证件照片。"
    message_en = "Upload a scan of the death certificate, or a family statement with a photo of the document."


class InvalidDeathDocument(InvalidInput):
    """A death document is not a PDF, JPEG or PNG."""

    code = "invalid_death_document"
    message_zh = "死亡证明材料必须是PDF、JPEG或PNG文件。"
    message_en = "Death documents must be PDF, JPEG or PNG files."


class InvalidMissingReason(InvalidInput):
    """A position or photo missing reason outside the published lists."""

    code = "invalid_missing_reason"
    message_zh = "缺少定位或照片的原因无效。"
    message_en = "The reason for the missing position or photo is not one of the allowed values."


class InvalidAppointmentDate(InvalidInput):
    """An appointment date in the past."""

    code = "invalid_appointment_date"
    message_zh = "预约上门日期不能早于今天。"
    message_en = "The appointment date cannot be before today."
