"""How many enrolled pensioners still lack a template of the new face model, by district (the migration's progress)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from faces.matching import SFACE
from models import FaceTemplate, Pensioner, Region


@dataclass(frozen=True)
class Coverage:
    """One district's figures."""

    region_code: str
    region_name: str
    enrolled: int
    with_model: int

    @property
    def lacking(self) -> int:
        """Enrolled pensioners still decided by the older model."""
        return self.enrolled - self.with_model


def coverage(*, session: Session, model: str = SFACE) -> list[Coverage]:
    """Per district: pensioners with any template, and those with a template of `model` (one set-based query)."""
    enrolled = exists().where(FaceTemplate.pensioner_id == Pensioner.id)
    has_model = exists().where(and_(FaceTemplate.pensioner_id == Pensioner.id, FaceTemplate.model == model))
    rows = session.execute(
        select(
            Pensioner.district_code,
            func.coalesce(func.max(Region.name), Pensioner.district_code),
            func.count(),
            func.sum(case((has_model, 1), else_=0)),
        )
        .outerjoin(Region, Region.code == Pensioner.district_code)
        .where(enrolled)
        .group_by(Pensioner.district_code)
        .order_by(Pensioner.district_code)
    ).all()
    return [Coverage(str(code), str(name), int(n), int(m or 0)) for code, name, n, m in rows]
