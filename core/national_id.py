"""Chinese resident identity numbers (GB 11643-1999): check digit, birth date, sex."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


class InvalidNationalId(ValueError):
    """The number is not a valid 18-character resident ID."""


@dataclass(frozen=True)
class NationalId:
    """A validated ID with what it encodes."""

    number: str
    birth_date: date
    sex: str  # "M" or "F"
    region_prefix: str


def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def parse_national_id(raw: str, *, today: date | None = None) -> NationalId:
    """Validate and decode; raises InvalidNationalId."""
    number = raw.strip().upper()
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidNationalId("must be 17 digits and a digit or X")
    if check_digit(number[:17]) != number[17]:
        raise InvalidNationalId("check digit mismatch")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise InvalidNationalId("invalid birth date") from exc
    if birth.year < 1880 or birth > (today or date.today()):
        raise InvalidNationalId("implausible birth date")
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return NationalId(number=number, birth_date=birth, sex=sex, region_prefix=number[:6])


def make_national_id(region6: str, birth: date, sequence: int) -> str:
    """Build a valid ID (for demo data and tests); odd sequence = male."""
    first17 = f"{region6}{birth:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_digit(first17)
