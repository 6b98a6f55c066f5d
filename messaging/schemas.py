"""Pydantic shapes of the messaging API: the provider's delivery reports."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

MAX_REPORTS = 500  # ~90 bytes a report: a full batch fits the 64 KiB JSON body limit (max_json_bytes)


class DeliveryReportIn(BaseModel):
    """One delivery report: our message id (or the provider's), what happened, when."""

    message_id: str = Field(min_length=1, max_length=64, description="Our outbox id, or the provider's message id")
    status: Literal["delivered", "failed"]
    error_code: str | None = Field(default=None, max_length=64, description="The provider's code of a failure")
    at: AwareDatetime = Field(description="When the provider learnt the outcome")


class DeliveryReportsIn(BaseModel):
    """A batch of delivery reports."""

    reports: list[DeliveryReportIn] = Field(min_length=1, max_length=MAX_REPORTS)


class ReportResultOut(BaseModel):
    """What became of one report: updated, unchanged (already known), or rejected (with a reason code)."""

    message_id: str
    result: Literal["updated", "unchanged", "rejected"]
    reason: str | None = None
    family_copy_queued: bool = False


class DeliveryReportsOut(BaseModel):
    """Counts of the batch and each report's result, in order."""

    updated: int
    unchanged: int
    rejected: int
    family_copies_queued: int
    items: list[ReportResultOut]
