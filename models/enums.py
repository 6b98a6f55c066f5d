"""Domain vocabularies stored as short strings."""

from enum import StrEnum


class RegionLevel(StrEnum):
    """Administrative level of a division code."""

    CITY = "city"
    DISTRICT = "district"
    TOWN = "town"
    COMMUNITY = "community"


# Digits of the 12-digit division code that identify a region at each level.
LEVEL_PREFIX_LEN = {
    RegionLevel.CITY: 4,
    RegionLevel.DISTRICT: 6,
    RegionLevel.TOWN: 9,
    RegionLevel.COMMUNITY: 12,
}


class PensionStatus(StrEnum):
    """Whether the pension is paid."""

    ACTIVE = "active"
    ON_HOLD = "on_hold"  # a reported death awaits a supervisor: not paid, not ended
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class ReinstatementKind(StrEnum):
    """A row of the back-pay ledger."""

    REINSTATEMENT = "reinstatement"
    REVERSAL = "reversal"


class HoldDecision(StrEnum):
    """How a pension hold ended."""

    TERMINATED = "terminated"
    RELEASED = "released"


class TransferStatus(StrEnum):
    """A reported move out of the city."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class StaffRole(StrEnum):
    """What a staff account may do."""

    ADMIN = "admin"
    COUNTER = "counter"
    FIELD = "field"
    SUPERVISOR = "supervisor"


class TemplateKind(StrEnum):
    """Anchor (enrolled, fixed) or rolling (follows ageing)."""

    ANCHOR = "anchor"
    ROLLING = "rolling"


class TemplateSource(StrEnum):
    """Where a face template came from."""

    COUNTER = "counter"
    HOME_VISIT = "home_visit"
    ID_PHOTO = "id_photo"
    APP = "app"


class AttemptDecision(StrEnum):
    """What one face check decided (stored on every verification attempt)."""

    MATCH = "match"
    RETRY = "retry"
    NO_MATCH = "no_match"
    REJECTED = "rejected"
    LIVENESS_FAILED = "liveness_failed"
    PRESENTATION_ATTACK = "presentation_attack"


class AppDecision(StrEnum):
    """What the app's liveness answer decided (stored on the challenge, returned to the app)."""

    CERTIFIED = "certified"
    RETRY = "retry"
    NO_MATCH = "no_match"
    LIVENESS_FAILED = "liveness_failed"
    PRESENTATION_ATTACK = "presentation_attack"
    REJECTED = "rejected"
    LOCKED = "locked"


class AppReason(StrEnum):
    """Reasons the app channel adds to the face and liveness reasons of an answer."""

    LOCKED = "locked"
    REPLAYED_FRAMES = "replayed_frames"
    COHORT_TOO_SMALL = "cohort_too_small"


class CertificationChannel(StrEnum):
    """How a pensioner proved they are alive."""

    APP = "app"
    HOME_VISIT = "home_visit"
    COUNTER = "counter"
    SELF_SERVICE_TERMINAL = "self_service_terminal"
    DATA_COMPARISON = "data_comparison"


class NotificationStatus(StrEnum):
    """Delivery state of an outbox message."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender; next_attempt_at is the end of its lease
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # A reminder that lost its point expires unsent, saying why (docs/seasons.md, "Only the current reminder").
    EXPIRED_CERTIFIED = "expired_certified"
    EXPIRED_SUPERSEDED = "expired_superseded"
    EXPIRED_DEADLINE = "expired_deadline"
    EXPIRED_SEASON_ENDED = "expired_season_ended"


class OutboxLane(StrEnum):
    """Which sender queue a message waits in: a person waiting for it, or the bulk backlog."""

    FAST = "fast"  # login codes: at once, day and night, ahead of any backlog
    BULK = "bulk"  # reminders and notices: batched, paced, never in quiet hours


class Channel(StrEnum):
    """How a message reaches a person; SMS is always the fallback."""

    SMS = "sms"
    PUSH = "push"
    WECHAT = "wechat"


class DeliveryStatus(StrEnum):
    """What the provider's delivery report said about a message it accepted."""

    DELIVERED = "delivered"
    FAILED = "failed"


class HomeVisitTaskStatus(StrEnum):
    """Lifecycle of a home-visit task."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class HomeVisitReason(StrEnum):
    """Why a home visit was scheduled."""

    BEDRIDDEN = "bedridden"
    LIMITED_MOBILITY = "limited_mobility"
    AGE_80 = "age_80"
    FAILED_ATTEMPTS = "failed_attempts"
    HELP_REQUEST = "help_request"


class VisitOutcome(StrEnum):
    """What the field worker found."""

    CERTIFIED = "certified"
    DECEASED = "deceased"
    NOT_AT_HOME = "not_at_home"
    HOSPITALISED = "hospitalised"
    MOVED = "moved"
    REFUSED = "refused"


class PositionMissingReason(StrEnum):
    """Why a visit has no usable device position (sent by the field page)."""

    DENIED = "denied"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    INACCURATE = "inaccurate"
    UNSUPPORTED = "unsupported"


class PhotoMissingReason(StrEnum):
    """Why a visit has no photo or form scan (sent by the field page)."""

    CAMERA_DENIED = "camera_denied"
    CAMERA_UNAVAILABLE = "camera_unavailable"
