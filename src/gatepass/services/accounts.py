"""Users, roles and logging in with a password (lockout after repeated failures)."""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gatepass.protocol.tokens import new_token, token_digest
from gatepass.services import audit
from gatepass.services.crypto import ADOPTABLE_HASH_PREFIXES, InstanceKeys, Passwords
from gatepass.services.security_notices import SecurityNotices
from gatepass.services.stores import NewUser, SessionRecord, SessionStore, ThrottleRecord, UserRecord, UserStore

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


@dataclass(frozen=True)
class LockoutPolicy:
    """When failed logins lock an email out (security.login_* settings).

    Counted per email and client address, so that someone guessing from one place locks only that
    place out and the owner can still log in from another; and per email over every address, far
    higher, against guessing spread over many addresses. Each failure after a lockout doubles the
    next one, up to ``max_seconds``.
    """

    failures_per_source: int = 5
    failures_per_account: int = 100
    first_seconds: int = 300
    max_seconds: int = 3600


#: A counter with no failure for this long starts again from zero.
FAILURES_REMEMBERED = timedelta(hours=24)
#: A session's "last seen" is written at most this often: a logged-in page view rarely writes.
LAST_SEEN_EVERY = timedelta(minutes=5)


def source_of(ip: str | None) -> str:
    """The client address as lockouts and login rate limits count it: an IPv6 client holds a whole /64."""
    if not ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


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
        lockout: LockoutPolicy,
        session_ttl_seconds: int,
        revoke_all_of: Callable[[int], Awaitable[object]],
        session_ended: Callable[[SessionRecord], Awaitable[object]],
        passwords: Passwords | None = None,
        notices: SecurityNotices | None = None,
    ) -> None:
        self.users = users
        self._sessions = sessions
        self._keys = keys
        self._audit = audit_log
        self._clock = clock
        self._lockout = lockout
        self._session_ttl = timedelta(seconds=session_ttl_seconds)
        self._revoke_all_of = revoke_all_of
        self._session_ended = session_ended
        self._passwords = passwords or Passwords()
        self._notices = notices

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
        password_hash = await self._passwords.hash(password) if password is not None else None
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

    async def set_password(self, user_id: int, password: str, *, by: str, ip: str | None = None) -> None:
        """An admin's or the command line's reset: the user is signed out everywhere and every app's
        tokens stop, since whoever knew the old password may hold a session or a token."""
        check_password_strength(password)
        await self.users.set_password_hash(user_id, await self._passwords.hash(password), self._clock())
        await self._revoke_all_of(user_id)
        await self._audit.record(audit.PASSWORD_CHANGED, user_id=user_id, ip=ip, by=by, signed_out_everywhere=True)
        if self._notices is not None:
            self._notices.password_changed(user_id)

    async def set_password_from_reset_link(self, user_id: int, password: str, ip: str | None) -> None:
        """As an admin's reset; and the failed logins counted against the email, from everywhere and from the
        address the reset came from, start over: they were guesses at a password that is gone, and the owner
        who just proved their mailbox must be able to log in at once."""
        await self.set_password(user_id, password, by="reset link", ip=ip)
        user = await self.users.get_user(user_id)
        if user is not None:
            for key in self._throttle_keys(user.email, ip):
                await self.users.clear_login_failures(key)

    async def adopt_password_hash(self, user_id: int, password_hash: str) -> None:
        """Keep a hash made by another system (a Frappe import) until its owner's first login replaces it.

        Only schemes Passwords.check knows are taken: any other would lock the user out silently.
        """
        if not password_hash.startswith(ADOPTABLE_HASH_PREFIXES) or len(password_hash) > 255:
            raise AccountError("Only pbkdf2_sha256 and argon2 password hashes can be imported", field="password")
        await self.users.set_password_hash(user_id, password_hash, self._clock())
        await self._audit.record(audit.PASSWORD_CHANGED, user_id=user_id, by="import", signed_out_everywhere=False)

    async def change_own_password(
        self, user: UserRecord, current_password: str, new_password: str, *, keeps_this_session: bool, ip: str | None
    ) -> None:
        """The user's own change, proven by the current password (a wrong one counts as a failed login).

        Whoever knew the old password may hold a session or an app's tokens: every session ends and every
        grant and consent goes, this browser's too; the caller starts a fresh session for this browser
        when the user keeps it.
        """
        if user.password_hash is None:
            raise AccountError("Your account has no password: you log in through another provider", field="password")
        keys = self._throttle_keys(user.email, ip)
        if self._lock_of(await self._throttles(keys), self._clock()) is not None:
            raise AccountError("Too many failed attempts. Try again later.", field="current_password")
        if not (await self._passwords.check(user.password_hash, current_password[:1024])).is_valid:
            await self._record_failure(keys, user, ip)
            raise AccountError("The current password is wrong", field="current_password")
        check_password_strength(new_password)
        await self.users.set_password_hash(user.id, await self._passwords.hash(new_password), self._clock())
        await self._revoke_all_of(user.id)
        await self._audit.record(
            audit.PASSWORD_CHANGED, user_id=user.id, ip=ip, by="self", signed_out_everywhere=True,
            kept_this_session=keeps_this_session,
        )  # fmt: skip
        if self._notices is not None:
            self._notices.password_changed(user.id)

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

    async def has_users(self) -> bool:
        """Whether anyone has an account yet (an empty database gets its bootstrap admin)."""
        return bool(await self.users.count_users())

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

    def _throttle_keys(self, email: str, ip: str | None) -> tuple[str, str]:
        """The digests counting failures for this email from this address, and from everywhere."""
        email = email.strip().lower()
        source = token_digest(self._keys.digest_key, f"login-source:{source_of(ip)}\n{email}")
        return source, token_digest(self._keys.digest_key, "login:" + email)

    async def _throttles(self, keys: tuple[str, str]) -> tuple[ThrottleRecord | None, ThrottleRecord | None]:
        return await self.users.get_throttle(keys[0]), await self.users.get_throttle(keys[1])

    @staticmethod
    def _lock_of(throttles: tuple[ThrottleRecord | None, ...], now: datetime) -> tuple[str, int] | None:
        """("source" or "account", seconds to wait) when either counter holds a running lockout."""
        for scope, throttle in zip(("source", "account"), throttles, strict=True):
            if throttle and throttle.locked_until and throttle.locked_until > now:
                return scope, int((throttle.locked_until - now).total_seconds()) + 1
        return None

    async def _record_failure(self, keys: tuple[str, str], user: UserRecord | None, ip: str | None) -> None:
        now, policy = self._clock(), self._lockout
        thresholds = (policy.failures_per_source, policy.failures_per_account)
        for scope, key, lock_after in zip(("source", "account"), keys, thresholds, strict=True):
            throttle = await self.users.record_login_failure(
                key, now, lock_after=lock_after, lock_seconds=policy.first_seconds,
                max_lock_seconds=policy.max_seconds, forget_before=now - FAILURES_REMEMBERED,
            )  # fmt: skip
            if throttle.locked_until is not None and throttle.locked_until > now:
                await self._audit.record(
                    audit.LOGIN_LOCKOUT, user_id=user.id if user else None, ip=ip, scope=scope,
                    failures=throttle.failures, seconds=int((throttle.locked_until - now).total_seconds()),
                )  # fmt: skip

    async def authenticate(self, email: str, password: str, *, ip: str | None = None) -> LoginResult:
        """Check a password login. Known and unknown emails fail alike, in time and in message."""
        now = self._clock()
        keys = self._throttle_keys(email, ip)
        throttles = await self._throttles(keys)
        locked = self._lock_of(throttles, now)
        if locked is not None:
            await self._audit.record(audit.LOGIN_LOCKED, ip=ip, scope=locked[0])
            return LoginResult(None, retry_after_seconds=locked[1])
        user = await self.users.get_user_by_email(email.strip().lower()) if len(email) <= 254 else None
        check = await self._passwords.check(user.password_hash if user else None, password[:1024])
        if user is None or not check.is_valid or not user.is_enabled:
            await self._record_failure(keys, user, ip)
            await self._audit.record(audit.LOGIN_FAILED, user_id=user.id if user else None, ip=ip)
            return LoginResult(None)
        # Only this address's count starts over: the count over all addresses is what stops guessing
        # spread over many of them, and the owner's success says nothing about those.
        if throttles[0] is not None:
            await self.users.clear_login_failures(keys[0])
        if check.needs_rehash and user.password_hash is not None:
            await self._upgrade_hash(user.id, user.password_hash, password[:1024])
        await self._audit.record(audit.LOGIN_SUCCEEDED, user_id=user.id, ip=ip)
        return LoginResult(user)

    async def second_factor_wait(self, user: UserRecord, ip: str | None) -> int | None:
        """Seconds to wait before this user may try a second-factor code from this address; None: now.

        Codes count against the same lockout as passwords: whoever knows the password gets no more
        guesses at the six digits than at the password itself.
        """
        locked = self._lock_of(await self._throttles(self._throttle_keys(user.email, ip)), self._clock())
        return None if locked is None else locked[1]

    async def second_factor_failed(self, user: UserRecord, ip: str | None, *, reason: str) -> None:
        await self._record_failure(self._throttle_keys(user.email, ip), user, ip)
        await self._audit.record(audit.LOGIN_SECOND_FACTOR_FAILED, user_id=user.id, ip=ip, reason=reason)

    async def check_password(self, user: UserRecord, password: str, ip: str | None) -> bool:
        """The user's own password, as proof for a change to their account; a wrong one counts as a failed login."""
        if user.password_hash is None or not password:
            return False
        if (await self._passwords.check(user.password_hash, password[:1024])).is_valid:
            return True
        await self._record_failure(self._throttle_keys(user.email, ip), user, ip)
        return False

    async def _upgrade_hash(self, user_id: int, old_hash: str, password: str) -> None:
        """Hash the password again with the current parameters, the only moment the plain password is known.

        Only over the hash just checked: a password changed meanwhile must not be overwritten by the old one.
        """
        await self.users.replace_password_hash(user_id, old_hash, await self._passwords.hash(password), self._clock())

    async def start_session(
        self,
        user_id: int,
        *,
        amr: tuple[str, ...] = ("pwd",),
        user_agent: str | None = None,
        ip: str | None = None,
    ) -> str:
        """A new login session, authenticated by ``amr``; returns the cookie value (only its digest is stored).
        The browser's User-Agent and address let its owner tell it apart in their list of sessions."""
        now = self._clock()
        token = new_token()
        await self._sessions.add_session(
            token_digest(self._keys.session_key, token), user_id, now, now, now + self._session_ttl, amr=amr,
            user_agent=user_agent, ip=ip,
        )  # fmt: skip
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
        now = self._clock()
        if record.last_seen_at is None or now - record.last_seen_at >= LAST_SEEN_EVERY:
            await self._sessions.touch_session(record.session_id, now)
        return record, user

    async def end_session(self, cookie: str | None, user_id: int | None) -> None:
        """The session of this cookie ends; the apps that took part in it are told (back-channel logout)."""
        if cookie and len(cookie) <= 128:
            digest = token_digest(self._keys.session_key, cookie)
            ending = await self._sessions.get_session(digest, self._clock())
            await self._sessions.delete_session(digest)
            if ending is not None:
                await self._session_ended(ending)
            if user_id is not None:
                await self._audit.record(audit.LOGOUT, user_id=user_id)
