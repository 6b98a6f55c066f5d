"""Named errors of the faces domain: enrolment, 1:1 checks, evidence and liveness challenges."""

from __future__ import annotations

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from verification.errors import MESSAGES as VERIFICATION_MESSAGES


class FaceRejected(InvalidInput):
    """The photo cannot be used (not an image, no face, several faces…); the attempt is still recorded."""

    keep_changes = True

    def __init__(self, code: str) -> None:
        zh, en = VERIFICATION_MESSAGES[code]
        super().__init__(zh, en, code=code)


class NotEnrolled(Conflict):
    """No face template yet."""

    code = "not_enrolled"
    message_zh = "该养老金领取人尚未采集人脸，请到柜台或预约上门采集。"
    message_en = "No face is enrolled for this pensioner; enrol at a counter or during a home visit."


class Locked(Conflict):
    """Too many failed face attempts today."""

    status_code = 429
    code = "locked"
    message_zh = "今日人脸认证失败次数过多，请明天再试，或申请上门认证、到柜台办理。"
    message_en = "Too many failed face attempts today; try tomorrow, ask for a home visit, or visit a counter."


class BadTemplateSource(InvalidInput):
    """The template source is not one of TemplateSource."""

    code = "bad_source"
    message_zh = "模板来源无效。"
    message_en = "Unknown template source."


class ConsentRequired(InvalidInput):
    """No recognised way the separate biometric consent was given."""

    code = "consent_required"
    message_zh = "请记录人脸信息处理的单独同意方式。"
    message_en = "Record how separate consent to face processing was given."

    def __init__(self, methods: list[str]) -> None:
        super().__init__(message_en=f"Record how separate consent to face processing was given: one of {methods}.")


class BadPhotoCount(InvalidInput):
    """Enrolment takes one to five photos."""

    code = "bad_photo_count"
    message_zh = "请上传1至5张照片。"
    message_en = "Upload 1 to 5 photos."


class PhotoQuality(InvalidInput):
    """An enrolment photo fails the quality gates."""

    code = "photo_quality"
    message_zh = "照片质量不合格，请按提示重新拍摄。"
    message_en = "The photo does not meet the quality gates; retake it as advised."

    def __init__(self, *, photo: int, reasons: list[str], advice: list[dict[str, str]]) -> None:
        super().__init__(detail={"photo": photo, "reasons": reasons, "advice": advice})


class EvidenceNotFound(NotFound):
    """No such evidence for this pensioner (or it was purged)."""

    message_zh = "未找到该证据材料，可能已过保存期限被删除。"
    message_en = "Evidence not found (it may have been purged)."


class UnknownAction(InvalidInput):
    """A challenge was asked without an action that does not exist."""

    code = "unknown_action"
    message_zh = "不支持的动作。"
    message_en = "Unknown actions."

    def __init__(self, unknown: list[str]) -> None:
        super().__init__(message_en=f"Unknown actions: {unknown}.")


class NoActionsLeft(InvalidInput):
    """Every action was excluded from the challenge."""

    code = "no_actions_left"
    message_zh = "至少需要能完成一个动作。"
    message_en = "At least one action must remain."


class ChallengeNotFound(NotFound):
    """No such challenge for this pensioner."""

    code = "challenge_not_found"
    message_zh = "未找到该认证动作。"
    message_en = "Challenge not found."


class ChallengeGone(Conflict):
    """Expired or already used."""

    code = "challenge_expired"
    message_zh = "认证动作已过期或已使用，请重新开始。"
    message_en = "The challenge has expired or was already used; start again."


class ChallengeUsed(ChallengeGone):
    """The challenge was answered before."""

    code = "challenge_used"


class FramesAndVideo(InvalidInput):
    """Both frames and a video were sent."""

    code = "frames_and_video"
    message_zh = "请只上传画面或视频之一。"
    message_en = "Send either frames or a video, not both."


class NoFrames(InvalidInput):
    """Neither frames nor a video were sent."""

    code = "no_frames"
    message_zh = "没有收到画面。"
    message_en = "No frames were sent."


class TooManyFrames(InvalidInput):
    """More frames than a challenge answer may have."""

    code = "too_many_frames"

    def __init__(self, max_frames: int) -> None:
        super().__init__(f"画面最多{max_frames}张。", f"At most {max_frames} frames.")


class TimestampsMissing(InvalidInput):
    """Not one capture time per frame."""

    code = "bad_timestamps"
    message_zh = "每张画面都需要拍摄时间（毫秒）。"
    message_en = "Each frame needs its capture time in ms."


class TimestampsUnreadable(InvalidInput):
    """Capture times that are not integers."""

    code = "bad_timestamps"
    message_zh = "画面拍摄时间格式不正确。"
    message_en = "Capture times must be integers in ms (timestamps_ms or <ms>.jpg names)."


class RecordingRejected(InvalidInput):
    """The frames or video cannot be decoded; the attempt is still recorded."""

    keep_changes = True

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_zh, message_en, code=code)


class PresentationAttack(InvalidInput):
    """A reference photo that shows a print or a screen, not a live face."""

    code = "presentation_attack"
    message_zh = "照片疑似翻拍（打印照片或屏幕），请直接为本人拍摄照片。"
    message_en = "The photo looks like a print or a screen; photograph the person directly."

    def __init__(self, photo: int, score: float) -> None:
        super().__init__(detail={"photo": photo, "p_real": round(score, 3)})


class FaceEnrolledElsewhere(Conflict):
    """The face is already enrolled for another pensioner of the city (one face, one pension)."""

    code = "face_enrolled_elsewhere"
    message_zh = "该人脸已登记在另一位养老金领取人名下，需主管核实并填写理由后方可登记。"
    message_en = "This face is already enrolled for another pensioner; a supervisor must check it and give a reason."

    def __init__(self, others: list[dict[str, object]]) -> None:
        super().__init__(detail={"pensioners": others})


class FaceMismatchExisting(Conflict):
    """A further reference photo that does not match the pensioner's enrolled face."""

    code = "face_mismatch_existing"
    message_zh = "新照片与已登记的人脸不一致，需主管核实并填写理由后方可登记。"
    message_en = "The new photo does not match the enrolled face; a supervisor must check it and give a reason."

    def __init__(self, photo: int, distance: float) -> None:
        super().__init__(detail={"photo": photo, "distance": round(distance, 3)})


class OverrideNotAllowed(InvalidInput):
    """Only supervisors and admins may override a one-face-one-pension refusal, and only with a reason."""

    code = "override_not_allowed"
    message_zh = "只有主管或管理员可以填写理由强制登记。"
    message_en = "Only a supervisor or an admin may override, with a reason."


class ExemptionNotRecorded(Forbidden):
    """A challenge without actions that staff have not recorded as impossible for this pensioner."""

    code = "exemption_not_recorded"
    message_zh = "如因身体原因无法完成某些动作，请到社保窗口或由上门工作人员登记后再使用简化认证。"
    message_en = "To leave out actions you cannot perform, ask a counter or a home-visit worker to record it first."

    def __init__(self, actions: list[str]) -> None:
        super().__init__(detail={"not_recorded": actions})
