"""Whom a grant acts for, checked again at every use of the grant."""

from __future__ import annotations

from gatepass.protocol.errors import InvalidGrant
from gatepass.services.stores import UserRecord, UserStore


async def active_user_of_grant(users: UserStore, user_id: int | None) -> UserRecord:
    """The grant's user; invalid_grant when it no longer exists or is disabled, since its grants then end."""
    user = await users.get_user(user_id) if user_id is not None else None
    if user is None or not user.is_enabled:
        raise InvalidGrant("The user of this grant no longer exists or is disabled")
    return user
