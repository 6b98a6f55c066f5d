from datetime import date

import pytest

from core.national_id import InvalidNationalId, check_digit, make_national_id, parse_national_id


def test_known_valid_number_with_x_check_digit() -> None:
    # The GB 11643 worked example: 11010519491231002X.
    nid = parse_national_id("11010519491231002x")
    assert nid.number == "11010519491231002X"
    assert nid.birth_date == date(1949, 12, 31)
    assert nid.sex == "F"


def test_check_digit_matches_standard_example() -> None:
    assert check_digit("11010519491231002") == "X"
    assert check_digit("44052418800101001") == "4"


@pytest.mark.parametrize(
    "raw",
    ["110105194912310021", "11010519491231002", "1101051949123100234", "11010519491331002X", "A1010519491231002X"],
)
def test_invalid_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidNationalId):
        parse_national_id(raw)


def test_future_birth_date_refused() -> None:
    nid = make_national_id("371002", date(2030, 1, 1), 11)
    with pytest.raises(InvalidNationalId):
        parse_national_id(nid, today=date(2026, 1, 1))


def test_sex_from_seventeenth_digit() -> None:
    assert parse_national_id(make_national_id("371002", date(1950, 1, 2), 13)).sex == "M"
    assert parse_national_id(make_national_id("371002", date(1950, 1, 2), 12)).sex == "F"
