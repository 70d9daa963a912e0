"""Users, roles and logging in with a password (lockout after repeated failures)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gatepass.protocol.tokens import new_token, token_digest
from gatepass.services import audit
from gatepass.services.crypto import InstanceKeys, hash_password, verify_password
from gatepass.services.stores import NewUser, SessionRecord, SessionStore, UserRecord, UserStore

SYSTEM_MANAGER = "System Manager"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """Input a person must fix; the message says what."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LoginResult:
    user: UserRecord | None
    #: Seconds to wait when the email is locked out; None when not locked.
    retry_after_seconds: int | None = None


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise AccountError(f"'{email}' is not an email address", field="email")
    return email


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if len(password) > 1024:
        raise AccountError("The password is longer than 1024 characters", field="password")


class AccountService:
    def __init__(
        self,
        users: UserStore,
        sessions: SessionStore,
        keys: InstanceKeys,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
        *,
        lock_after: int,
        lock_seconds: int,
        session_ttl_seconds: int,
        revoke_all_of: Callable[[int], Awaitable[object]],
    ) -> None:
        self.users = users
        self._sessions = sessions
        self._keys = keys
        self._audit = audit_log
        self._clock = clock
        self._lock_after = lock_after
        self._lock_seconds = lock_seconds
        self._session_ttl = timedelta(seconds=session_ttl_seconds)
        self._revoke_all_of = revoke_all_of

    async def ensure_builtin_roles(self) -> None:
        existing = {name for name, _, _ in await self.users.list_roles()}
        if SYSTEM_MANAGER not in existing:
            await self.users.add_role(SYSTEM_MANAGER, "May administer everything.", self._clock(), is_builtin=True)

    async def create_user(
        self,
        email: str,
        password: str | None,
        *,
        first_name: str = "",
        last_name: str = "",
        roles: tuple[str, ...] = (),
        picture_url: str | None = None,
        is_email_verified: bool = True,
    ) -> UserRecord:
        email = normalise_email(email)
        if password is not None:
            check_password_strength(password)
        password_hash = await hash_password(password) if password is not None else None
        user = await self.users.add_user(
            NewUser(
                email=email,
                sub=secrets.token_hex(16),
                first_name=first_name.strip()[:140],
                last_name=last_name.strip()[:140],
                picture_url=picture_url,
                password_hash=password_hash,
                roles=roles,
                is_email_verified=is_email_verified,
            ),
            self._clock(),
        )
        await self._audit.record(audit.USER_CREATED, user_id=user.id, email=email)
        return user

    async def set_password(self, user_id: int, password: str) -> None:
        check_password_strength(password)
        await self.users.set_password_hash(user_id, await hash_password(password), self._clock())
        await self._audit.record(audit.USER_UPDATED, user_id=user_id, change="password")

    async def set_enabled(self, user_id: int, is_enabled: bool) -> None:
        await self.users.set_enabled(user_id, is_enabled, self._clock())
        if not is_enabled:
            # A disabled user's tokens must stop at once: the token check reads only the token row.
            await self._revoke_all_of(user_id)
        await self._audit.record(audit.USER_UPDATED, user_id=user_id, change="enabled" if is_enabled else "disabled")

    async def set_roles(self, user_id: int, roles: tuple[str, ...]) -> None:
        await self.users.set_roles(user_id, roles)
        await self._audit.record(audit.USER_UPDATED, user_id=user_id, change="roles", roles=list(roles))

    async def add_role(self, name: str, description: str = "") -> None:
        name = name.strip()
        if not name or len(name) > 140:
            raise AccountError("A role name must have 1 to 140 characters", field="name")
        await self.users.add_role(name, description.strip()[:1000], self._clock())

    async def get_user(self, user_id: int) -> UserRecord | None:
        return await self.users.get_user(user_id)

    async def find_user(self, email: str) -> UserRecord | None:
        return await self.users.get_user_by_email(email) if 0 < len(email.strip()) <= 254 else None

    async def list_users(self, search: str = "") -> list[UserRecord]:
        """Every user, by email; ``search`` keeps those whose email or name contains it."""
        users = await self.users.list_users()
        needle = search.strip().lower()
        if not needle:
            return users
        return [u for u in users if needle in u.email or needle in u.full_name.lower()]

    async def list_roles(self) -> list[tuple[str, bool, str]]:
        """(name, is_builtin, description) of every role, by name."""
        return await self.users.list_roles()

    def _email_digest(self, email: str) -> str:
        return token_digest(self._keys.digest_key, "login:" + email.strip().lower())

    async def authenticate(self, email: str, password: str, *, ip: str | None = None) -> LoginResult:
        """Check a password login. Known and unknown emails fail alike, in time and in message."""
        now = self._clock()
        email_key = self._email_digest(email)
        throttle = await self.users.get_throttle(email_key)
        if throttle and throttle.locked_until and throttle.locked_until > now:
            await self._audit.record(audit.LOGIN_LOCKED, ip=ip)
            return LoginResult(None, retry_after_seconds=int((throttle.locked_until - now).total_seconds()) + 1)
        user = await self.users.get_user_by_email(email.strip().lower()) if len(email) <= 254 else None
        is_valid = await verify_password(user.password_hash if user else None, password[:1024])
        if user is None or not is_valid or not user.is_enabled:
            await self.users.record_login_failure(
                email_key, now, lock_after=self._lock_after, lock_seconds=self._lock_seconds
            )
            await self._audit.record(audit.LOGIN_FAILED, user_id=user.id if user else None, ip=ip)
            return LoginResult(None)
        if throttle:
            await self.users.clear_login_failures(email_key)
        await self._audit.record(audit.LOGIN_SUCCEEDED, user_id=user.id, ip=ip)
        return LoginResult(user)

    async def start_session(self, user_id: int) -> str:
        """A new login session; returns the cookie value (only its digest is stored)."""
        now = self._clock()
        token = new_token()
        await self._sessions.add_session(
            token_digest(self._keys.session_key, token), user_id, now, now, now + self._session_ttl
        )
        return token

    async def get_session(self, cookie: str | None) -> tuple[SessionRecord, UserRecord] | None:
        if not cookie or len(cookie) > 128:
            return None
        record = await self._sessions.get_session(token_digest(self._keys.session_key, cookie), self._clock())
        if record is None:
            return None
        user = await self.users.get_user(record.user_id)
        if user is None or not user.is_enabled:
            return None
        return record, user

    async def end_session(self, cookie: str | None, user_id: int | None) -> None:
        if cookie:
            await self._sessions.delete_session(token_digest(self._keys.session_key, cookie))
            if user_id is not None:
                await self._audit.record(audit.LOGOUT, user_id=user_id)
