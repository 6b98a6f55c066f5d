"""Pensioner search for the counter: full or partial national ID, phone, or name prefix — indexed conditions."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, and_, or_

from models import Pensioner

_ID_CHARS = re.compile(r"^[0-9]{3,17}[0-9Xx]?$")
_PHONE = re.compile(r"^1[3-9][0-9]{9}$")
MIN_PARTIAL_ID = 4


def _next_prefix(prefix: str) -> str:
    """The smallest string greater than every string that starts with `prefix` (digits and X only)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def id_prefix(prefix: str) -> ColumnElement[bool]:
    """national_id starts with `prefix`, as a range the unique index on national_id answers (any collation)."""
    return and_(Pensioner.national_id >= prefix, Pensioner.national_id < _next_prefix(prefix))


def search_condition(q: str) -> ColumnElement[bool] | None:
    """The condition for a search box: an ID (full, leading or trailing digits), a mobile phone, or a name prefix."""
    text = re.sub(r"[\s-]", "", q).upper()
    if not text:
        return None
    if len(text) in (15, 18) and _ID_CHARS.match(text):
        return Pensioner.national_id == text
    if _PHONE.match(text):
        # An 11-digit number that looks like a mobile is a phone (either phone), or the start of an ID.
        return or_(Pensioner.phone == text, Pensioner.family_phone == text, id_prefix(text))
    if _ID_CHARS.match(text) and len(text) >= MIN_PARTIAL_ID:
        # Leading digits (region and birth date) use the index; trailing digits (the last 4-6 on the card) are a
        # scan of the jurisdiction only (the caller ANDs the scope condition, itself indexed).
        return or_(id_prefix(text), Pensioner.national_id.endswith(text, autoescape=True))
    if text[:1].isdigit():
        return Pensioner.national_id == text  # too short to be a partial ID: nothing but an exact match
    return Pensioner.name.startswith(q.strip(), autoescape=True)
