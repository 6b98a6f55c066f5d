"""Region import: parents may come after children; the whole file is refused on any error."""

import pytest
from sqlalchemy import func, select

from core.errors import InvalidInput
from models import Region
from registry.regions import import_regions

GOOD = """code,name,parent_code,level
371002001001,某社区,371002001000,community
371002001000,某街道,371002,town
371002,环翠区,371000000000,district
371000000000,威海市,,city
"""


def test_children_before_parents_and_six_digit_codes(session) -> None:
    result = import_regions(session=session, data=GOOD.encode())
    assert (result.inserted, result.updated) == (4, 0)
    assert session.get(Region, "371002000000").parent_code == "371000000000"
    again = import_regions(session=session, data=GOOD.replace("某社区", "新名").encode("gbk"))
    assert (again.inserted, again.updated) == (0, 4)
    assert session.get(Region, "371002001001").name == "新名"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("371002009009,孤儿,371002009000,community", "unknown_parent"),
        ("37100X,坏,371000000000,district", "bad_code"),
        ("371002001002,坏,371002001000,village", "bad_level"),
        ("371002001003,坏,371002001001,community", "bad_parent_level"),
    ],
)
def test_any_bad_row_refuses_the_whole_file(session, extra: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        import_regions(session=session, data=(GOOD + extra + "\n").encode())
    assert exc.value.code == "invalid_regions"
    assert exc.value.detail["rejected"][0]["reason"] == reason
    assert exc.value.detail["rejected"][0]["line"] == 6
    assert session.scalar(select(func.count()).select_from(Region)) == 0


def test_optional_coordinates_are_imported_and_validated(session) -> None:
    with_coords = GOOD.replace("code,name,parent_code,level", "code,name,parent_code,level,latitude,longitude")
    lines = with_coords.splitlines()
    lines[1] += ",37.5,122.1"
    lines[2:] = [ln + ",," for ln in lines[2:]]
    import_regions(session=session, data=("\n".join(lines) + "\n").encode())
    community = session.get(Region, "371002001001")
    assert (community.latitude, community.longitude) == (37.5, 122.1)
    assert session.get(Region, "371002001000").latitude is None
    bad = "\n".join([*lines[:1], lines[1].replace("37.5", "97.5"), *lines[2:]]) + "\n"
    with pytest.raises(InvalidInput) as exc:
        import_regions(session=session, data=bad.encode())
    assert exc.value.detail["rejected"] == [{"line": 2, "reason": "bad_coordinates"}]
