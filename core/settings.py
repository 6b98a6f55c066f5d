"""One Settings object, read from PENSION_CERT_* environment variables."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from verification.config import VerificationConfig

_FACE = VerificationConfig()  # defaults and their sources: verification/config.py, docs/accuracy.md

DEV_SECRET = "dev-insecure-secret-change-me-0123456789"
DEV_TEMPLATE_KEY = "ZGV2LWluc2VjdXJlLXRlbXBsYXRlLWtleS0zMmJ5dGU="  # base64 of a 32-byte dev key
DEV_SMS_RECEIPT_SECRET = "dev-insecure-receipt-secret-change-me"


class Settings(BaseSettings):
    """Service configuration; every field is PENSION_CERT_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="PENSION_CERT_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./var/pension_cert.sqlite3"
    secret_key: str = DEV_SECRET
    template_key: str = DEV_TEMPLATE_KEY
    template_key_id: str = "k1"
    old_template_keys: str = ""
    timezone: str = "Asia/Shanghai"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    embed_scheduler: bool = False
    face_workers: int = 0
    # Admission control: face jobs in flight per face process before new ones get 503 + Retry-After (0: none).
    face_queue_per_worker: int = 4
    metrics_token: str = ""  # when set, /metrics needs "Authorization: Bearer <token>"
    # When set, `serve` answers /metrics only on this port (bound to metrics_host), not on the public one.
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    log_level: str = "INFO"  # JSON lines on stderr (api.observability)
    # PostgreSQL pool per worker: pool + overflow >= the 40 request threads, so a request waits for a thread,
    # never fails waiting for a connection while slow face checks hold theirs.
    db_pool_size: int = 10
    db_max_overflow: int = 30
    # Seconds a request waits for another writer's lock before 503 database_busy (SQLite busy_timeout,
    # PostgreSQL lock_timeout); the scheduler and the CLI keep waiting longer.
    db_busy_timeout_seconds: float = 5.0
    readyz_timeout_seconds: float = 2.0  # /readyz: a fresh connection must answer within this

    access_token_minutes: int = 15
    refresh_token_days: int = 7
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    otp_length: int = 6
    otp_answer_min_ms: int = 100  # POST /auth/otp answers no sooner, registered ID or not (same timing)
    # Per staff account and address, national ID, device: attempts in a day before the growing back-off.
    login_rate_per_account: int = 10
    login_rate_per_address: int = 50  # per client address in the sliding window below
    login_rate_window_seconds: int = 900
    login_backoff_seconds: int = 60  # first wait past an allowance; doubles with each further attempt
    login_backoff_max_seconds: int = 3600
    # Addresses or CIDRs (comma-separated) whose X-Forwarded-For is believed; empty: none, not even 127.0.0.1.
    trusted_proxies: str = ""
    face_attempts_per_day: int = 5
    face_index_preload: bool = True  # load the 1:N index at start-up (~10 CPU-s at 1M templates), not on first use
    counter_face_check_minutes: int = 30  # a counter certification needs a matched counter face check this recent
    # Face decision and quality gates (defaults measured on ../shared/faces: docs/accuracy.md).
    face_match_threshold: float = _FACE.match_threshold
    face_retry_threshold: float = _FACE.retry_threshold
    face_raw_match_threshold: float = _FACE.raw_match_threshold
    face_raw_retry_threshold: float = _FACE.raw_retry_threshold
    face_max_raw_distance: float = _FACE.max_raw_distance
    face_min_inter_eye_px: float = _FACE.min_inter_eye_px
    face_min_laplacian_var: float = _FACE.min_laplacian_var
    face_min_luminance: float = _FACE.min_face_luminance
    face_max_luminance: float = _FACE.max_face_luminance
    face_max_clipped_fraction: float = _FACE.max_clipped_fraction
    face_max_yaw_deg: float = _FACE.max_yaw_deg
    face_max_pitch_deg: float = _FACE.max_pitch_deg
    face_max_rolling_templates: int = _FACE.max_rolling_templates
    # App self-service certifies only on cohort-normalised scores (>= 20 other pensioners enrolled); dlib only.
    face_app_requires_cohort: bool = True
    # Face models that get a template at enrolment; a pensioner with an SFace template is decided by SFace
    # (docs/face_models_measured.md), otherwise by dlib as before.
    face_models: str = "dlib,sface"
    face_sface_match_distance: float = 0.55  # cosine distance; East-Asian FMR 0.08 %, FNMR 1.5 %
    face_sface_retry_distance: float = 0.64  # East-Asian FMR 1 %
    # 1:N at enrolment: another pensioner's template this close refuses it (no impostor pair of 56,274 below 0.51).
    face_duplicate_distance: float = 0.45
    face_pad_enabled: bool = True
    face_pad_real_threshold: float = 0.5  # MiniFASNet P(real); print attack 0.22, screen 0.002, real photos median 0.92
    challenge_ttl_seconds: int = 120
    require_device_attestation: bool = False

    max_upload_bytes: int = 15 * 1024 * 1024  # one photo (enrolment, counter, home visit) or form scan
    max_video_bytes: int = 30 * 1024 * 1024  # one app liveness video (a 20 s 720p phone clip is 5-15 MB)
    max_frame_bytes: int = 2 * 1024 * 1024  # one JPEG frame of an app liveness answer
    max_image_pixels: int = 40_000_000
    max_import_bytes: int = 200 * 1024 * 1024
    # Any request body but an upload route's (JSON, small forms); uploads are budgeted by the limits above.
    max_json_bytes: int = 64 * 1024

    sms_gateway: Literal["log", "http"] = "log"
    sms_http_url: str = ""
    sms_http_token: str = ""
    sms_max_attempts: int = 5
    sms_quiet_start_hour: int = 21
    sms_quiet_end_hour: int = 8
    # A suspension notice is queued by its own sweep for suspensions made in this many days (a sweep that
    # ran late still sends them; an old suspension is not announced months later).
    suspension_notice_max_age_days: int = 7
    sms_http_timeout_seconds: float = 10.0  # one batch POST (connect + answer)
    sms_batch_size: int = 500  # messages per batch POST (providers accept hundreds of numbers per call)
    sms_rate_per_second: float = 1000.0  # messages a second one sender process hands over (0: unpaced)
    # Channels beside SMS: "log" records only (development); "off" sends those reminders by SMS.
    push_gateway: Literal["off", "log"] = "off"
    wechat_gateway: Literal["off", "log"] = "off"
    outbox_lease_seconds: int = 120  # a claimed batch not confirmed by then is handed over again (same ids)
    outbox_retry_base_seconds: int = 10  # back-off after a failed hand-off: base · 2^(attempts-1), at most 1 h
    outbox_send_on_request: bool = True  # a login code goes to the gateway right after its request commits
    outbox_fast_poll_seconds: float = 0.5  # `send-outbox` looks for fast-lane retries this often
    outbox_bulk_poll_seconds: float = 5.0  # … and for newly due bulk messages when the lane is empty
    outbox_sweep_seconds: float = 240.0  # the scheduler's outbox sweep stops sending after this (next run goes on)
    # The SMS provider's delivery reports: a bearer token equal to this, or an HMAC-SHA256 of the body with it.
    sms_receipt_secret: str = DEV_SMS_RECEIPT_SECRET

    season_open_month_day: str = "04-01"
    season_close_month_day: str = "06-30"
    season_grace_days: int = 0
    season_policy: Literal["window", "rolling"] = "window"
    rolling_validity_months: int = 12
    # Rolling policy: a roster row without a last certification date is due this many days after its import.
    rolling_first_due_days: int = 60
    # Window policy: someone added to the roster has at least this many days from that day to certify.
    new_pensioner_days: int = 60
    # The city this service serves: its seasons are this city's (docs/seasons.md, "Jurisdiction").
    city_code: str = "371000000000"
    # A roster import that changes more phone numbers than this needs an explicit confirmation.
    roster_max_phone_changes: int = 50
    reminder_days_before_close: str = "30,14,7,3,1"
    reminder_family_min_age: int = 80
    # Comma-separated sources that certify passively; "*" (the default) accepts every source.
    life_evidence_sources: str = "medical_insurance,hospital,bank_counter,self_service_terminal"
    life_evidence_max_age_days: int = 180

    home_visit_bedridden_days: int = 21
    home_visit_age_days: int = 14
    home_visit_min_age: int = 80
    home_visit_failed_attempts: int = 3
    home_visit_gps_max_km: float = 2.0
    home_visit_gps_max_accuracy_m: float = 200.0  # a fix the device reports as less accurate goes to review
    home_visit_duplicate_minutes: int = 60  # same task, same outcome, visited this close: the same visit, told
    home_visit_due_days: int = 7  # a new task is due this many days after it is created (never after close - 1)
    home_visit_revisit_days: int = 3  # not at home / hospitalised: the next visit is due this many days later
    # No address coordinates exist: a visit's GPS outside this box (min_lat,min_lon,max_lat,max_lon) is flagged.
    # Default: Weihai (36°41′–37°35′N, 121°11′–122°42′E) with a margin.
    home_visit_city_bbox: str = "36.6,121.1,37.7,122.8"
    risk_days_left: int = 14
    risk_rollup_max_age_seconds: int = 1800  # the risk summary recomputes its roll-up when older
    risk_export_max_rows: int = 100_000
    evidence_retention_days: int = 30
    ratelimit_retention_days: int = 7  # rate_limit_hit and idempotency_record rows are purged after this
    # Sent, failed and cancelled outbox messages are deleted after this (this and last season's reminders stay).
    outbox_retention_days: int = 90

    sweep_hour: int = 8  # local hour of the daily sweeps (reminders, suspensions, home visits)
    sweep_minute: int = 30
    outbox_interval_minutes: int = 5
    scheduler_misfire_grace_seconds: int = 6 * 3600

    test_faces: str = "../shared/faces"

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.environment != "development" and (
            self.secret_key == DEV_SECRET or self.template_key == DEV_TEMPLATE_KEY
        ):
            raise ValueError("PENSION_CERT_SECRET_KEY and PENSION_CERT_TEMPLATE_KEY must be set outside development")
        if self.environment != "development" and self.sms_receipt_secret in ("", DEV_SMS_RECEIPT_SECRET):
            raise ValueError("PENSION_CERT_SMS_RECEIPT_SECRET must be set outside development")
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for item in value.split(","):
            if item.strip():
                ipaddress.ip_network(item.strip(), strict=False)  # ValueError names the bad entry
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        """The trusted proxy addresses and networks, for uvicorn's forwarded_allow_ips."""
        return [item.strip() for item in self.trusted_proxies.split(",") if item.strip()]

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    @property
    def reminder_offsets(self) -> list[int]:
        """Days before close on which reminders go out (the window opening is added separately)."""
        return sorted({int(x) for x in self.reminder_days_before_close.split(",") if x.strip()}, reverse=True)

    @property
    def accepted_life_evidence_sources(self) -> set[str]:
        """Life-evidence sources that certify passively."""
        return {s.strip() for s in self.life_evidence_sources.split(",") if s.strip()}

    @property
    def home_visit_bbox(self) -> tuple[float, float, float, float] | None:
        """(min_lat, min_lon, max_lat, max_lon) of the city, or None when the setting is empty."""
        parts = [float(x) for x in self.home_visit_city_bbox.split(",") if x.strip()]
        return (parts[0], parts[1], parts[2], parts[3]) if len(parts) == 4 else None

    def life_evidence_source_counts(self, source: str) -> bool:
        """Whether evidence from `source` certifies ("*" accepts every known source)."""
        accepted = self.accepted_life_evidence_sources
        return "*" in accepted or source in accepted


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings."""
    return Settings()
