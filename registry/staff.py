"""Staff accounts."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.errors import Conflict, InvalidInput
from core.security import hash_password
from models import StaffUser
from models.enums import StaffRole
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
        raise InvalidInput(
            "用户名只能包含字母、数字和._-，3–64个字符。", "Username: 3–64 letters, digits or ._-", code="bad_username"
        )
    if role not in {r.value for r in StaffRole}:
        raise InvalidInput("角色无效。", "Unknown role.", code="bad_role")
    if len(password) < 8:
        raise InvalidInput("密码至少8个字符。", "Password needs at least 8 characters.", code="weak_password")
    if phone is not None and normalise_phone(phone) is None:
        raise InvalidInput("手机号无效。", "Invalid phone number.", code="bad_phone")
    phone = normalise_phone(phone) if phone else None
    region = get_region(session=session, code=normalise_code(region_code))
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise Conflict("用户名已存在。", "Username already exists.", code="username_taken")
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
