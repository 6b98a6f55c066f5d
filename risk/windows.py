"""Which close date applies where: a season's regional windows, in Python and as SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, case, false, literal, or_
from sqlalchemy.orm import Session

from certification import seasons
from models import Pensioner, Region, RiskRollup, Season


@dataclass(frozen=True)
class Windows:
    """A season's close dates: the city-wide one and each region's extension."""

    season: Season
    by_code: dict[str, seasons.Window]

    def for_chain(self, chain: Sequence[str | None]) -> seasons.Window:
        """The most specific window along community → town → district → city."""
        for code in chain:
            if code and code in self.by_code:
                return self.by_code[code]
        s = self.season
        return seasons.Window(s.year, s.open_date, s.close_date, s.grace_days, s.suspend_from_date)

    def for_region(self, region: Region) -> seasons.Window:
        """The window of a region itself (its own extension or an ancestor's)."""
        code = region.code
        chain = [code[:9] + "000", code[:6] + "000000", code[:4] + "00000000"]
        return self.for_chain([code, *chain])

    def deadline_key(self, cols: Sequence[Any]) -> ColumnElement[str]:
        """SQL: the code of the most specific extended region for rows with (community, town, district, city)."""
        codes = list(self.by_code)
        if not codes:
            return literal("")
        return case(*[(col.in_(codes), col) for col in cols], else_=literal(""))

    def days_left_at_most(self, cols: Sequence[Any], today: date, days: int) -> ColumnElement[bool]:
        """SQL: rows whose deadline is at most `days` days after `today` (negative: already past)."""
        limit = today + timedelta(days=days)
        key = self.deadline_key(cols)
        hits = [code for code, w in self.by_code.items() if w.close_date <= limit]
        conds: list[ColumnElement[bool]] = [key.in_(hits)] if hits else []
        if self.season.close_date <= limit:
            conds.append(key == "")
        return or_(*conds) if conds else false()

    def deadline_expr(self, cols: Sequence[Any]) -> ColumnElement[date]:
        """SQL: the close date that applies to each row."""
        if not self.by_code:
            return literal(self.season.close_date, Date)
        key = self.deadline_key(cols)
        whens = {code: literal(w.close_date, Date) for code, w in self.by_code.items()}
        return case(whens, value=key, else_=literal(self.season.close_date, Date))


def load_windows(*, session: Session, season: Season) -> Windows:
    """The season and its regional windows."""
    return Windows(season, seasons.region_windows(session=session, season=season))


def pensioner_chain() -> list[Any]:
    """Pensioner columns from community up to city, most specific first."""
    return [Pensioner.region_code, Pensioner.town_code, Pensioner.district_code, Pensioner.city_code]


def rollup_chain() -> list[Any]:
    """Roll-up columns from community up to city, most specific first."""
    return [RiskRollup.region_code, RiskRollup.town_code, RiskRollup.district_code, RiskRollup.city_code]


def born_by(today: date, age: int) -> date:
    """The latest birth date of someone who is at least `age` years old on `today`."""
    return seasons.add_months(today, -12 * age)
