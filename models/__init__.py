"""SQLAlchemy models, engine and session; importing this registers every table."""

from models.audit import AuditEvent
from models.auth import IdempotencyRecord, KnownDevice, OtpCode, RateLimitHit, RefreshToken
from models.base import Base
from models.face import BiometricConsent, FaceTemplate, VerificationAttempt
from models.home_visit import Evidence, HomeVisit, HomeVisitTask, ResidenceTransfer
from models.liveness import LivenessChallenge, ReplaySignature
from models.notification import Notification
from models.pensioner import Pensioner
from models.region import Region
from models.risk import RiskRollup, RiskRollupDay
from models.season import (
    Certification,
    LifeEvidence,
    PensionHold,
    Reinstatement,
    Season,
    SeasonRegionWindow,
    Suspension,
)
from models.staff import StaffUser

__all__ = [
    "AuditEvent",
    "Base",
    "BiometricConsent",
    "Certification",
    "Evidence",
    "FaceTemplate",
    "HomeVisit",
    "HomeVisitTask",
    "IdempotencyRecord",
    "KnownDevice",
    "LifeEvidence",
    "LivenessChallenge",
    "Notification",
    "OtpCode",
    "PensionHold",
    "Pensioner",
    "RateLimitHit",
    "RefreshToken",
    "Region",
    "Reinstatement",
    "ReplaySignature",
    "ResidenceTransfer",
    "RiskRollup",
    "RiskRollupDay",
    "Season",
    "SeasonRegionWindow",
    "StaffUser",
    "Suspension",
    "VerificationAttempt",
]
