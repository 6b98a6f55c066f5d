"""Staff accounts."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.security import hash_password
from models import Region, StaffUser
from models.enums import StaffRole
from registry.errors import BadPhone, BadRole, BadUsername, UsernameTaken, WeakPassword
from registry.regions import get_region, normalise_code
from registry.roster import normalise_phone


def create_staff(
    *,
    session: Session,
    username: str,
    password: str,
    role: str,
    region_code: str,
    display_name: str | None = None,
    phone: str | None = None,
    actor_id: int | None = None,
) -> StaffUser:
    """Create an account; passwords need 8+ characters."""
    if not re.fullmatch(r"[A-Za-z0-9_.\-]{3,64}", username):
        raise BadUsername()
    if role not in {r.value for r in StaffRole}:
        raise BadRole()
    if len(password) < 8:
        raise WeakPassword()
    if phone is not None and normalise_phone(phone) is None:
        raise BadPhone()
    phone = normalise_phone(phone) if phone else None
    region = get_region(session=session, code=normalise_code(region_code))
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise UsernameTaken()
    user = StaffUser(
        username=username,
        password_hash=hash_password(password),
        role=role,
        region_code=region.code,
        display_name=display_name,
        phone=phone,
    )
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor_type="staff" if actor_id else "system",
        actor_id=actor_id,
        action="staff_created",
        target_type="staff_user",
        target_id=user.id,
        detail={"role": role, "region": region.code},
    )
    return user


_PREFIX = {"city": 4, "district": 6, "town": 9, "community": 12}


def list_staff(*, session: Session, region: Region, role: str | None = None, limit: int = 500) -> list[StaffUser]:
    """Active staff whose jurisdiction lies in `region` (by the national division-code prefix), by name."""
    prefix = region.code[: _PREFIX.get(region.level, 12)]
    conds = [StaffUser.active.is_(True), StaffUser.region_code.startswith(prefix, autoescape=True)]
    if role:
        conds.append(StaffUser.role == role)
    query = select(StaffUser).where(*conds).order_by(StaffUser.role, StaffUser.username).limit(limit)
    return list(session.scalars(query))
