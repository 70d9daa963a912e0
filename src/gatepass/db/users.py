"""Users, roles, login sessions and login throttles."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gatepass.db.base import StoreBase, conflict_from, single_statement
from gatepass.db.driver import DriverStatement
from gatepass.db.tables import LoginSession, LoginThrottle, Role, User, UserRole
from gatepass.services.stores import (
    BrowserSession,
    Conflict,
    NewUser,
    NotFound,
    SessionRecord,
    ThrottleRecord,
    UserRecord,
)


async def _roles_of(session: AsyncSession, user_ids: list[int]) -> dict[int, tuple[str, ...]]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(UserRole.user_id, Role.name)
        .join(Role, Role.id == UserRole.role_id)
        .where(UserRole.user_id.in_(user_ids))
        .order_by(Role.name)
    )
    result: dict[int, list[str]] = {}
    for user_id, name in rows:
        result.setdefault(user_id, []).append(name)
    return {key: tuple(value) for key, value in result.items()}


_users: Table = User.__table__  # type: ignore[assignment]
_user_roles: Table = UserRole.__table__  # type: ignore[assignment]
_roles: Table = Role.__table__  # type: ignore[assignment]
# One statement for a user and their roles: a row per role, or one row with a NULL role.
USER_WITH_ROLES = (
    select(_users, _roles.c.name.label("role_name"))
    .outerjoin(_user_roles, _user_roles.c.user_id == _users.c.id)
    .outerjoin(_roles, _roles.c.id == _user_roles.c.role_id)
)
# Built once: every token check on a cache miss reads a user by id.
# Named lookups: on PostgreSQL they run on the driver (db/driver.py), elsewhere through SQLAlchemy.
_USER_BY_ID = DriverStatement(USER_WITH_ROLES.where(_users.c.id == bindparam("user_id")), "user with roles by id")
_USER_BY_EMAIL = DriverStatement(
    USER_WITH_ROLES.where(_users.c.email == bindparam("email")), "user with roles by email"
)
_USER_BY_SUB = DriverStatement(USER_WITH_ROLES.where(_users.c.sub == bindparam("sub")), "user with roles by sub")
_sessions_table: Table = LoginSession.__table__  # type: ignore[assignment]
_throttles: Table = LoginThrottle.__table__  # type: ignore[assignment]
#: Every page of a logged-in browser reads its session; every login reads its throttles.
_SESSION_BY_DIGEST = DriverStatement(
    select(
        _sessions_table.c.id,
        _sessions_table.c.user_id,
        _sessions_table.c.auth_time,
        _sessions_table.c.expires_at,
        _sessions_table.c.last_seen_at,
        _sessions_table.c.amr,
    ).where(_sessions_table.c.session_digest == bindparam("digest")),
    "login session by digest",
)
_SESSION_COLUMNS = (
    "session_digest", "user_id", "auth_time", "created_at", "expires_at", "user_agent", "ip", "last_seen_at", "amr",
)  # fmt: skip
#: Every login writes them: on a SQLite file through the writer's group commit.
_INSERT_SESSION = DriverStatement(
    insert(_sessions_table).values({name: bindparam(name) for name in _SESSION_COLUMNS}), "new login session"
)
#: A logged-in browser's page view, at most every few minutes (services/accounts.py decides when).
_TOUCH_SESSION = DriverStatement(
    update(_sessions_table)
    .where(_sessions_table.c.id == bindparam("session_id"))
    .values(last_seen_at=bindparam("now")),
    "login session last seen",
)
_CLEAR_THROTTLE = DriverStatement(
    delete(_throttles).where(_throttles.c.email_digest == bindparam("key")), "forget login failures"
)
_THROTTLE_BY_KEY = DriverStatement(
    select(_throttles.c.failures, _throttles.c.locked_until).where(_throttles.c.email_digest == bindparam("key")),
    "login throttle by key",
)


def _record(user: Any, roles: tuple[str, ...]) -> UserRecord:
    """From an ORM row or a Core row: their attribute names are the column names."""
    return UserRecord(
        id=user.id,
        sub=user.sub,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        full_name=user.full_name,
        picture_url=user.picture_url,
        is_enabled=user.is_enabled,
        is_email_verified=user.is_email_verified,
        password_hash=user.password_hash,
        roles=roles,
        created_at=user.created_at,
        api_key=user.api_key,
    )


def user_with_roles(rows: list[Any]) -> UserRecord | None:
    """The user of rows that repeat it once per role (none: no such user)."""
    if not rows:
        return None
    return _record(rows[0], tuple(sorted(row.role_name for row in rows if row.role_name is not None)))


def full_name_of(first_name: str, last_name: str) -> str:
    return " ".join(part for part in (first_name, last_name) if part)


class SqlUserStore(StoreBase):
    async def _one(self, lookup: DriverStatement, parameters: dict[str, Any]) -> UserRecord | None:
        return await self._read_as(lookup, parameters, user_with_roles)

    async def get_user(self, user_id: int) -> UserRecord | None:
        return await self._cache.get(("user", user_id), lambda: self._one(_USER_BY_ID, {"user_id": user_id}))

    async def get_user_by_email(self, email: str) -> UserRecord | None:
        return await self._one(_USER_BY_EMAIL, {"email": email.strip().lower()})

    async def get_user_by_sub(self, sub: str) -> UserRecord | None:
        return await self._one(_USER_BY_SUB, {"sub": sub})

    async def get_user_by_api_key(self, api_key: str) -> tuple[UserRecord, str | None] | None:
        async with self._sessions() as session:
            user = (await session.execute(select(User).where(User.api_key == api_key))).scalar_one_or_none()
            if user is None:
                return None
            roles = await _roles_of(session, [user.id])
            return _record(user, roles.get(user.id, ())), user.api_secret_digest

    async def list_users(self) -> list[UserRecord]:
        async with self._sessions() as session:
            users = list((await session.execute(select(User).order_by(User.email))).scalars())
            roles = await _roles_of(session, [user.id for user in users])
            return [_record(user, roles.get(user.id, ())) for user in users]

    async def count_users(self) -> int:
        async with self._sessions() as session:
            return int((await session.execute(select(func.count()).select_from(User))).scalar_one())

    async def add_user(self, user: NewUser, now: datetime) -> UserRecord:
        row = User(
            sub=user.sub,
            email=user.email.strip().lower(),
            first_name=user.first_name,
            last_name=user.last_name,
            full_name=full_name_of(user.first_name, user.last_name),
            picture_url=user.picture_url,
            is_enabled=True,
            is_email_verified=user.is_email_verified,
            password_hash=user.password_hash,
            created_at=now,
            updated_at=now,
        )
        async with self._sessions() as session:
            try:
                async with session.begin():
                    session.add(row)
                    await session.flush()
                    await self._replace_roles(session, row.id, user.roles, is_new_user=True)
            except IntegrityError as exc:
                raise conflict_from(exc, f"A user with email {user.email}") from None
        found = await self.get_user(row.id)
        assert found is not None
        return found

    async def _update(self, user_id: int, **values: object) -> None:
        async with self._sessions() as session, session.begin():
            result = await session.execute(update(User).where(User.id == user_id).values(**values))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"user {user_id}")

    async def set_password_hash(self, user_id: int, password_hash: str, now: datetime) -> None:
        await self._update(user_id, password_hash=password_hash, updated_at=now)

    async def replace_password_hash(self, user_id: int, old_hash: str, new_hash: str, now: datetime) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(User)
                .where(User.id == user_id, User.password_hash == old_hash)
                .values(password_hash=new_hash, updated_at=now)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_enabled(self, user_id: int, is_enabled: bool, now: datetime) -> None:
        await self._update(user_id, is_enabled=is_enabled, updated_at=now)

    async def set_email_verified(self, user_id: int, email: str, now: datetime) -> None:
        """Only while the user still has this address: verifying one address says nothing about the next."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(User)
                .where(User.id == user_id, User.email == email)
                .values(is_email_verified=True, updated_at=now)
            )

    async def set_api_credentials(self, user_id: int, api_key: str, secret_digest: str, now: datetime) -> None:
        await self._update(user_id, api_key=api_key, api_secret_digest=secret_digest, updated_at=now)

    async def _replace_roles(
        self, session: AsyncSession, user_id: int, roles: tuple[str, ...], *, is_new_user: bool = False
    ) -> None:
        role_ids = {}
        if roles:
            rows = await session.execute(select(Role.name, Role.id).where(Role.name.in_(roles)))
            role_ids = {name: role_id for name, role_id in rows}
        missing = [name for name in roles if name not in role_ids]
        if missing:
            raise NotFound(f"role {missing[0]!r} does not exist")
        if not is_new_user:
            # Not for a user just inserted, who has none: a statement fewer, and no lock taken for nothing (at
            # MariaDB's default isolation, deleting nothing at the end of the index took a gap lock, and two
            # users added at once deadlocked on each other's inserts; db/driver.py MARIADB_ISOLATION_LEVEL).
            await session.execute(delete(UserRole).where(UserRole.user_id == user_id))
        for role_id in set(role_ids.values()):
            session.add(UserRole(user_id=user_id, role_id=role_id))

    async def set_roles(self, user_id: int, roles: tuple[str, ...]) -> None:
        async with self._sessions() as session, session.begin():
            await self._replace_roles(session, user_id, roles)

    async def list_roles(self) -> list[tuple[str, bool, str]]:
        async with self._sessions() as session:
            rows = await session.execute(select(Role.name, Role.is_builtin, Role.description).order_by(Role.name))
            return [tuple(row) for row in rows]  # type: ignore[misc]

    async def add_role(self, name: str, description: str, now: datetime, *, is_builtin: bool = False) -> None:
        async with self._sessions() as session:
            try:
                async with session.begin():
                    session.add(Role(name=name, description=description, is_builtin=is_builtin, created_at=now))
            except IntegrityError as exc:
                raise conflict_from(exc, f"The role {name!r}") from None

    async def get_throttle(self, key_digest: str) -> ThrottleRecord | None:
        row = await self._read_one(_THROTTLE_BY_KEY, {"key": key_digest})
        return None if row is None else ThrottleRecord(row.failures, row.locked_until)

    async def record_login_failure(
        self,
        key_digest: str,
        now: datetime,
        *,
        lock_after: int,
        lock_seconds: int,
        max_lock_seconds: int,
        forget_before: datetime,
    ) -> ThrottleRecord:
        """Count one failure under a key (an email, or an email from one address); lock from ``lock_after`` on."""
        async with self._sessions() as session, session.begin():
            row = await session.get(LoginThrottle, key_digest, with_for_update=True)
            if row is None:
                row = LoginThrottle(email_digest=key_digest, failures=0, last_failure_at=now)
                session.add(row)
            elif row.last_failure_at < forget_before:
                row.failures, row.locked_until = 0, None
            row.failures += 1
            row.last_failure_at = now
            if row.failures >= lock_after:
                # Each failure past the limit doubles the wait (failures while locked are never counted).
                doublings = min(row.failures - lock_after, 30)
                row.locked_until = now + timedelta(seconds=min(lock_seconds * 2**doublings, max_lock_seconds))
            return ThrottleRecord(row.failures, row.locked_until)

    async def clear_login_failures(self, key_digest: str) -> None:
        if self._sqlite_writer is not None:
            await self._write_on_sqlite(_CLEAR_THROTTLE, {"key": key_digest})
            return
        async with single_statement(self._engine) as connection:
            await connection.execute(_CLEAR_THROTTLE.statement, {"key": key_digest})


class SqlSessionStore(StoreBase):
    async def add_session(
        self,
        session_digest: str,
        user_id: int,
        auth_time: datetime,
        now: datetime,
        expires_at: datetime,
        *,
        user_agent: str | None = None,
        ip: str | None = None,
        amr: tuple[str, ...] = ("pwd",),
    ) -> None:
        values = {
            "session_digest": session_digest,
            "user_id": user_id,
            "auth_time": auth_time,
            "created_at": now,
            "expires_at": expires_at,
            "user_agent": user_agent[:255] if user_agent else None,
            "ip": ip[:64] if ip else None,
            "last_seen_at": now,
            "amr": " ".join(amr),
        }
        if self._sqlite_writer is not None:
            await self._write_on_sqlite(_INSERT_SESSION, values)
            return
        async with single_statement(self._engine) as connection:
            await connection.execute(_INSERT_SESSION.statement, values)

    async def get_session(self, session_digest: str, now: datetime) -> SessionRecord | None:
        row = await self._read_one(_SESSION_BY_DIGEST, {"digest": session_digest})
        if row is None or row.expires_at <= now:
            return None
        # A session from before amr was kept was a password login.
        amr = tuple(row.amr.split()) if row.amr else ("pwd",)
        return SessionRecord(row.id, row.user_id, row.auth_time, row.expires_at, row.last_seen_at, amr)

    async def touch_session(self, session_id: int, now: datetime) -> None:
        values = {"session_id": session_id, "now": now}
        if self._sqlite_writer is not None:
            await self._write_on_sqlite(_TOUCH_SESSION, values)
            return
        async with single_statement(self._engine) as connection:
            await connection.execute(_TOUCH_SESSION.statement, values)

    async def list_sessions_of(self, user_id: int, now: datetime) -> list[BrowserSession]:
        """The user's live sessions, the most recently seen first."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(LoginSession)
                .where(LoginSession.user_id == user_id, LoginSession.expires_at > now)
                .order_by(func.coalesce(LoginSession.last_seen_at, LoginSession.created_at).desc(), LoginSession.id)
            )
            return [
                BrowserSession(row.id, row.user_agent, row.ip, row.created_at, row.last_seen_at, row.expires_at)
                for row in rows.scalars()
            ]

    async def delete_session(self, session_digest: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(delete(LoginSession).where(LoginSession.session_digest == session_digest))

    async def delete_session_of(self, user_id: int, session_id: int) -> bool:
        """Only a session of this user: a session id from a form names nobody else's session."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(LoginSession).where(LoginSession.id == session_id, LoginSession.user_id == user_id)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def delete_sessions_of(self, user_id: int, *, keep: int | None = None) -> int:
        """Every session of the user, but ``keep`` when given; how many ended."""
        condition = LoginSession.user_id == user_id
        if keep is not None:
            condition = condition & (LoginSession.id != keep)
        async with self._sessions() as session, session.begin():
            result = await session.execute(delete(LoginSession).where(condition))
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def purge_expired(self, now: datetime) -> int:
        async with self._sessions() as session, session.begin():
            result = await session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def purge_throttles(self, forget_before: datetime, now: datetime) -> int:
        """Counters nobody has failed under since ``forget_before`` and that lock nothing any more."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(LoginThrottle).where(
                    LoginThrottle.last_failure_at < forget_before,
                    (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until <= now),
                )
            )
            return int(result.rowcount)  # type: ignore[attr-defined]


__all__ = ["Conflict", "SqlSessionStore", "SqlUserStore", "full_name_of"]
