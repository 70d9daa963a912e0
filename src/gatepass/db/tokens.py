"""Authorization codes, grants and their access and refresh tokens.

Single use is one conditional UPDATE whose row count says who won (never read-then-write).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatepass.cache.reads import TOKENS
from gatepass.db import mariadb_writes, sqlite_writes
from gatepass.db.audit import AUDIT_COLUMNS as _AUDIT_COLUMNS
from gatepass.db.audit import audit_event_row
from gatepass.db.base import StoreBase, single_statement
from gatepass.db.driver import DriverPool, DriverStatement
from gatepass.db.tables import (
    AccessToken,
    AuditEvent,
    AuthorizationCode,
    OAuthClient,
    RefreshToken,
    Role,
    TokenExchange,
    TokenGrant,
    User,
    UserRole,
)
from gatepass.db.users import USER_WITH_ROLES, user_with_roles
from gatepass.protocol.values import CodeRecord, RefreshRecord
from gatepass.services.stores import (
    AccessTokenRecord,
    AuditRecord,
    GrantRefresh,
    GrantSummary,
    NewCode,
    NewGrant,
    UserRecord,
)

# The hot paths below use SQLAlchemy Core on these tables, with statements built once: no ORM unit of
# work, identity map or attribute instrumentation per request, and fewer round trips (see db.base.single_statement).
_codes: Table = AuthorizationCode.__table__  # type: ignore[assignment]
_grants: Table = TokenGrant.__table__  # type: ignore[assignment]
_access: Table = AccessToken.__table__  # type: ignore[assignment]
_refresh: Table = RefreshToken.__table__  # type: ignore[assignment]
_clients: Table = OAuthClient.__table__  # type: ignore[assignment]
_audit_events: Table = AuditEvent.__table__  # type: ignore[assignment]
_exchanges: Table = TokenExchange.__table__  # type: ignore[assignment]
_users: Table = User.__table__  # type: ignore[assignment]
_user_roles: Table = UserRole.__table__  # type: ignore[assignment]
_roles: Table = Role.__table__  # type: ignore[assignment]

_CODE_BY_DIGEST = select(
    _codes.c.id,
    _codes.c.client_id,
    _codes.c.user_id,
    _codes.c.redirect_uri,
    _codes.c.redirect_uri_was_sent,
    _codes.c.scopes,
    _codes.c.code_challenge,
    _codes.c.code_challenge_method,
    _codes.c.nonce,
    _codes.c.sid,
    _codes.c.auth_time,
    _codes.c.expires_at,
    _codes.c.consumed_at,
    _codes.c.resource,
    _codes.c.amr,
    _codes.c.dpop_jkt,
).where(_codes.c.code_digest == bindparam("digest"))
_CODE_COLUMNS = (
    "code_digest",
    "client_id",
    "user_id",
    "redirect_uri",
    "redirect_uri_was_sent",
    "scopes",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "sid",
    "resource",
    "auth_time",
    "created_at",
    "expires_at",
    "amr",
    "dpop_jkt",
)
_INSERT_CODE = DriverStatement(
    insert(_codes).values({name: bindparam(name) for name in _CODE_COLUMNS}), "new authorization code"
)
_CODE_BY_DIGEST_ON_DRIVER = DriverStatement(_CODE_BY_DIGEST, "authorization code by digest")
_ACCESS_BY_DIGEST = (
    select(
        _access.c.id,
        _access.c.grant_id,
        _access.c.client_id,
        _access.c.user_id,
        _access.c.scopes,
        _access.c.resource,
        _access.c.created_at,
        _access.c.expires_at,
        _access.c.revoked_at,
        # Disabling a client revokes its grants; reading its flag here also stops a token issued meanwhile,
        # without a second lookup. Introspection reads whether the client is trusted.
        _clients.c.is_enabled,
        _clients.c.skip_authorization,
        # The sector of a pairwise client: userinfo and introspection tell its sub without reading the client.
        _clients.c.pairwise_sector,
        _access.c.dpop_jkt,
        # Whether its grant came from a token exchange: introspection reads the exchange only then.
        _exchanges.c.grant_id.is_not(None).label("is_exchanged"),
    )
    .select_from(
        _access.outerjoin(_clients, _clients.c.client_id == _access.c.client_id).outerjoin(
            _exchanges, _exchanges.c.grant_id == _access.c.grant_id
        )
    )
    .where(_access.c.token_digest == bindparam("digest"))
)
#: The token's user and their roles come with it: userinfo and introspection read both, and on PostgreSQL
#: and MariaDB each read is a round trip. A row per role (USER_WITH_ROLES' columns after the token's); no user,
#: one row whose user columns are NULL.
_ACCESS_WITH_USER_BY_DIGEST = (
    _ACCESS_BY_DIGEST.add_columns(*USER_WITH_ROLES.selected_columns)
    .outerjoin(_users, _users.c.id == _access.c.user_id)
    .outerjoin(_user_roles, _user_roles.c.user_id == _users.c.id)
    .outerjoin(_roles, _roles.c.id == _user_roles.c.role_id)
)
_ACCESS_BY_DIGEST_ON_DRIVER = DriverStatement(_ACCESS_WITH_USER_BY_DIGEST, "access token with its user by digest")
_USER_COLUMN_NAMES = tuple(USER_WITH_ROLES.exported_columns.keys())


def _token_user(rows: list[Any]) -> UserRecord | None:
    """The user of a token's rows (their user columns); None for a token of no user."""
    return None if rows[0].id is None else user_with_roles(rows)


_REFRESH_BY_DIGEST = (
    select(
        _refresh.c.id,
        _grants.c.id,
        _grants.c.client_id,
        _grants.c.user_id,
        _grants.c.scopes,
        _grants.c.expires_at,
        _refresh.c.rotated_at,
        _refresh.c.revoked_at,
        _grants.c.revoked_at,
        _grants.c.auth_time,
        _grants.c.nonce,
        _grants.c.resource,
        _refresh.c.dpop_jkt,
        _grants.c.sid,
        _grants.c.amr,
    )
    .join_from(_refresh, _grants, _grants.c.id == _refresh.c.grant_id)
    .where(_refresh.c.token_digest == bindparam("digest"))
)
_REFRESH_BY_DIGEST_ON_DRIVER = DriverStatement(_REFRESH_BY_DIGEST, "refresh token with its grant by digest")


_GRANT_COLUMNS = (
    "client_id",
    "user_id",
    "grant_type",
    "scopes",
    "code_id",
    "nonce",
    "resource",
    "auth_time",
    "created_at",
    "expires_at",
    "sid",
    "amr",
    "last_used_at",
)
_ACCESS_COLUMNS = (
    "token_digest",
    "client_id",
    "user_id",
    "scopes",
    "resource",
    "created_at",
    "expires_at",
    "dpop_jkt",
)
_REFRESH_COLUMNS = ("token_digest", "grant_id", "created_at", "dpop_jkt")


def _param(table: Table, column: str, prefix: str) -> Any:
    """A parameter typed as its column, so that PostgreSQL knows its type inside INSERT … SELECT."""
    return bindparam(f"{prefix}{column}", type_=table.c[column].type)


def _build_issue_statement(*, from_code: bool, with_refresh: bool, with_audit: bool) -> Any:
    """PostgreSQL: the whole of add_grant_with_tokens as one atomic statement, one round trip.

    Data-modifying CTEs chain the steps: consume the code (when there is one), insert the grant from
    that, then the tokens from the grant. A code already consumed updates no row, so nothing is
    inserted and no row comes back, exactly as the transaction of the other databases decides.
    Built once per shape: composing it costs more CPU than running it.
    """
    grant_values = [_param(_grants, name, "g_") for name in _GRANT_COLUMNS]
    if from_code:
        consumed = (
            update(_codes)
            .where(_codes.c.id == bindparam("g_code_id"), _codes.c.consumed_at.is_(None))
            .values(consumed_at=bindparam("g_created_at"))
            .returning(_codes.c.id)
            .cte("consumed_code")
        )
        grant_rows = select(*grant_values).select_from(consumed)
    else:
        grant_rows = select(*grant_values)
    new_grant = insert(_grants).from_select(_GRANT_COLUMNS, grant_rows).returning(_grants.c.id).cte("new_grant")
    statement = (
        insert(_access)
        .from_select(
            ("grant_id", *_ACCESS_COLUMNS),
            select(new_grant.c.id, *(_param(_access, name, "a_") for name in _ACCESS_COLUMNS)),
        )
        .returning(_access.c.grant_id)
    )
    if with_refresh:
        new_refresh = (
            insert(_refresh)
            .from_select(
                _REFRESH_COLUMNS,
                select(
                    _param(_refresh, "token_digest", "r_"),
                    new_grant.c.id,
                    _param(_refresh, "created_at", "r_"),
                    _param(_refresh, "dpop_jkt", "r_"),
                ),
            )
            .cte("new_refresh")
        )
        statement = statement.add_cte(new_refresh)
    if with_audit:
        statement = statement.add_cte(_audit_event_with(new_grant, "issuance_event"))
    return statement


def _audit_event_with(written: Any, name: str) -> Any:
    """The audit event's insert, one row for each row ``written`` returns: written only if the tokens were
    (never an event without its tokens, never tokens without their event)."""
    return (
        insert(_audit_events)
        .from_select(
            _AUDIT_COLUMNS,
            select(*(_param(_audit_events, column, "e_") for column in _AUDIT_COLUMNS)).select_from(written),
        )
        .cte(name)
    )


def _build_rotate_statement(*, with_audit: bool) -> Any:
    """PostgreSQL: rotate_refresh as one atomic statement, one round trip instead of seven.

    Only the request that marks the old refresh token rotated gets a row back from ``rotated``; the
    other steps read from it, so a losing request changes nothing. All parts see one snapshot, so
    superseding the grant's access tokens never touches the one inserted beside it.
    """
    rotated = (
        update(_refresh)
        .where(
            _refresh.c.id == bindparam("refresh_id"), _refresh.c.rotated_at.is_(None), _refresh.c.revoked_at.is_(None)
        )
        .values(rotated_at=bindparam("now"))
        .returning(_refresh.c.grant_id)
        .cte("rotated")
    )
    grant_ids = select(rotated.c.grant_id)
    superseded = (
        update(_access)
        .where(_access.c.grant_id.in_(grant_ids), _access.c.revoked_at.is_(None))
        .values(revoked_at=bindparam("now"))
        .cte("superseded")
    )
    new_access = (
        insert(_access)
        .from_select(
            ("grant_id", *_ACCESS_COLUMNS),
            select(rotated.c.grant_id, *(_param(_access, name, "a_") for name in _ACCESS_COLUMNS)),
        )
        .cte("new_access")
    )
    touched = update(_grants).where(_grants.c.id.in_(grant_ids)).values(last_used_at=bindparam("now")).cte("touched")
    steps = [superseded, new_access, touched]
    if with_audit:
        steps.append(_audit_event_with(rotated, "refresh_event"))
    new_refresh = (
        insert(_refresh)
        .from_select(
            _REFRESH_COLUMNS,
            select(
                _param(_refresh, "token_digest", "r_"),
                rotated.c.grant_id,
                bindparam("now", type_=_refresh.c.created_at.type),
                _param(_refresh, "dpop_jkt", "r_"),
            ),
        )
        .returning(_refresh.c.id)
        .cte("new_refresh")
    )
    # One row whether it rotated (1) or lost (0), so that rotations can share a commit (fetch_one_grouped).
    return select(func.count().label("rotated")).select_from(new_refresh).add_cte(*steps)


def _note_live_grant_use(grant_id: Any, refresh_id: Any, now: Any) -> Any:
    """Mark the grant used at ``now`` if it and its refresh token ``refresh_id`` are live: one row, or none."""
    live_refresh = (
        select(_refresh.c.id)
        .where(
            _refresh.c.id == refresh_id,
            _refresh.c.grant_id == _grants.c.id,
            _refresh.c.rotated_at.is_(None),
            _refresh.c.revoked_at.is_(None),
        )
        .exists()
    )
    return (
        update(_grants)
        .where(_grants.c.id == grant_id, _grants.c.revoked_at.is_(None), _grants.c.expires_at > now, live_refresh)
        .values(last_used_at=now)
    )


def _build_add_access_statement(*, with_audit: bool) -> Any:
    """PostgreSQL: add_access_token_to_grant as one atomic statement.

    Marking the grant used is an UPDATE, so it takes the grant's row lock: a revocation (which updates the
    grant first) either committed before, and then the row no longer matches, or waits for this statement and
    then finds the new access token to revoke. Only a grant whose refresh token is live gets a row back, and
    the access token is inserted from that row, so a revoked or expired grant gets nothing.
    """
    live_grant = (
        _note_live_grant_use(
            bindparam("grant_id"), bindparam("refresh_id"), bindparam("now", type_=_grants.c.expires_at.type)
        )
        .returning(_grants.c.id)
        .cte("live_grant")
    )
    statement = (
        insert(_access)
        .from_select(
            ("grant_id", *_ACCESS_COLUMNS),
            select(live_grant.c.id, *(_param(_access, name, "a_") for name in _ACCESS_COLUMNS)),
        )
        .returning(_access.c.id)
    )
    if with_audit:
        statement = statement.add_cte(_audit_event_with(live_grant, "refresh_event"))
    return statement


_ROTATE_REFRESH = {
    with_audit: DriverStatement(
        _build_rotate_statement(with_audit=with_audit), f"refresh rotation (audited: {with_audit})"
    )
    for with_audit in (False, True)
}
_ADD_ACCESS_TO_GRANT = {
    with_audit: DriverStatement(
        _build_add_access_statement(with_audit=with_audit), f"access token on a live grant (audited: {with_audit})"
    )
    for with_audit in (False, True)
}

_ISSUE_STATEMENTS = {
    (from_code, with_refresh, with_audit): DriverStatement(
        _build_issue_statement(from_code=from_code, with_refresh=with_refresh, with_audit=with_audit),
        f"grant issuance (from a code: {from_code}, with a refresh token: {with_refresh}, audited: {with_audit})",
    )
    for from_code in (False, True)
    for with_refresh in (False, True)
    for with_audit in (False, True)
}


def _issue_parameters(
    grant: NewGrant,
    access_digest: str,
    access_expires_at: datetime,
    refresh_digest: str | None,
    audit_event: AuditRecord | None,
) -> dict[str, Any]:
    parameters = {f"g_{name}": value for name, value in _grant_row(grant).items()}
    access = _access_row(
        0,
        access_digest,
        grant.client_id,
        grant.user_id,
        grant.scopes,
        grant.resource,
        grant.created_at,
        access_expires_at,
        grant.access_dpop_jkt,
    )
    parameters.update({f"a_{name}": access[name] for name in _ACCESS_COLUMNS})
    if refresh_digest is not None:
        parameters.update(
            r_token_digest=refresh_digest, r_created_at=grant.created_at, r_dpop_jkt=grant.refresh_dpop_jkt
        )
    if audit_event is not None:
        parameters.update({f"e_{name}": value for name, value in audit_event_row(audit_event).items()})
    return parameters


def _access_row_of(refresh: GrantRefresh) -> dict[str, Any]:
    return _access_row(
        refresh.grant_id,
        refresh.access_digest,
        refresh.client_id,
        refresh.user_id,
        refresh.scopes,
        refresh.resource,
        refresh.now,
        refresh.access_expires_at,
        refresh.access_dpop_jkt,
    )


def _refresh_parameters(refresh: GrantRefresh) -> dict[str, Any]:
    """The parameters a refresh's PostgreSQL statement shares: the new access token, the time, the audit event."""
    access = _access_row_of(refresh)
    parameters: dict[str, Any] = {f"a_{name}": access[name] for name in _ACCESS_COLUMNS}
    parameters["now"] = refresh.now
    if refresh.audit_event is not None:
        parameters.update({f"e_{name}": value for name, value in audit_event_row(refresh.audit_event).items()})
    return parameters


#: Built once: the grants used since a worker's previous flush, in one statement.
_TOUCH_GRANTS = (
    update(_grants)
    .where(_grants.c.id.in_(bindparam("grant_ids", expanding=True)))
    .values(last_used_at=bindparam("now"))
)


def _grant_row(grant: NewGrant) -> dict[str, Any]:
    return {
        "client_id": grant.client_id,
        "user_id": grant.user_id,
        "grant_type": grant.grant_type,
        "scopes": list(grant.scopes),
        "code_id": grant.code_id,
        "nonce": grant.nonce,
        "resource": grant.resource,
        "auth_time": grant.auth_time,
        "created_at": grant.created_at,
        "expires_at": grant.expires_at,
        "sid": grant.sid,
        "amr": " ".join(grant.amr) or None,
        "last_used_at": None,
    }


def _access_row(
    grant_id: int,
    token_digest: str,
    client_id: str,
    user_id: int | None,
    scopes: tuple[str, ...],
    resource: str | None,
    now: datetime,
    expires_at: datetime,
    dpop_jkt: str | None,
) -> dict[str, Any]:
    return {
        "token_digest": token_digest,
        "grant_id": grant_id,
        "client_id": client_id,
        "user_id": user_id,
        "scopes": list(scopes),
        "resource": resource,
        "created_at": now,
        "expires_at": expires_at,
        "dpop_jkt": dpop_jkt,
    }


class SqlCodeStore(StoreBase):
    async def add_code(self, code: NewCode) -> int:
        values = {
            "code_digest": code.code_digest,
            "client_id": code.client_id,
            "user_id": code.user_id,
            "redirect_uri": code.redirect_uri,
            "redirect_uri_was_sent": code.redirect_uri_was_sent,
            "scopes": list(code.scopes),
            "code_challenge": code.code_challenge,
            "code_challenge_method": code.code_challenge_method,
            "nonce": code.nonce,
            "sid": code.sid,
            "resource": code.resource,
            "auth_time": code.auth_time,
            "created_at": code.created_at,
            "expires_at": code.expires_at,
            "amr": " ".join(code.amr) or None,
            "dpop_jkt": code.dpop_jkt,
        }
        if self._sqlite_writer is not None:
            written = await self._write_on_sqlite(_INSERT_CODE, values)
            assert written.row_id is not None
            return written.row_id
        async with single_statement(self._engine) as connection:
            result = await connection.execute(insert(_codes).values(values))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    async def get_code(self, code_digest: str) -> CodeRecord | None:
        row = await self._read_one(_CODE_BY_DIGEST_ON_DRIVER, {"digest": code_digest})
        if row is None:
            return None
        return CodeRecord(
            code_id=row.id,
            client_id=row.client_id,
            user_id=row.user_id,
            redirect_uri=row.redirect_uri,
            redirect_uri_was_sent=row.redirect_uri_was_sent,
            scopes=tuple(row.scopes),
            code_challenge=row.code_challenge,
            code_challenge_method=row.code_challenge_method,
            nonce=row.nonce,
            sid=row.sid,
            auth_time=row.auth_time,
            expires_at=row.expires_at,
            consumed_at=row.consumed_at,
            resource=row.resource,
            amr=tuple(row.amr.split()) if row.amr else (),
            dpop_jkt=row.dpop_jkt,
        )

    async def consume_code(self, code_id: int, now: datetime) -> bool:
        async with single_statement(self._engine) as connection:
            result = await connection.execute(
                update(_codes).where(_codes.c.id == code_id, _codes.c.consumed_at.is_(None)).values(consumed_at=now)
            )
            return bool(result.rowcount == 1)


async def _revoke_grants(session: AsyncSession, grant_ids: list[int], now: datetime) -> None:
    if not grant_ids:
        return
    await session.execute(
        update(TokenGrant).where(TokenGrant.id.in_(grant_ids), TokenGrant.revoked_at.is_(None)).values(revoked_at=now)
    )
    await session.execute(
        update(AccessToken)
        .where(AccessToken.grant_id.in_(grant_ids), AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.grant_id.in_(grant_ids), RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


class SqlTokenStore(StoreBase):
    async def add_grant_with_tokens(
        self,
        grant: NewGrant,
        access_digest: str,
        access_expires_at: datetime,
        refresh_digest: str | None,
        audit_event: AuditRecord | None = None,
    ) -> int | None:
        """One transaction for the grant, its first tokens and the audit event of their issuance: never a
        token without its grant, never an issuance without its event.

        A grant from a code consumes the code in the same transaction, so whoever finds the code
        consumed also finds its grant (to revoke it). None: the code was consumed already, and nothing
        was written.
        """
        if self._sqlite_writer is not None:
            return await self._sqlite_writer.write(
                sqlite_writes.issue_grant(grant, access_digest, access_expires_at, refresh_digest, audit_event)
            )
        engine = self._engine
        if self._driver_pool is not None and self._driver_pool.backend == "postgresql":
            issue = _ISSUE_STATEMENTS[(grant.code_id is not None, refresh_digest is not None, audit_event is not None)]
            parameters = _issue_parameters(grant, access_digest, access_expires_at, refresh_digest, audit_event)
            if grant.code_id is None:
                # Nothing to consume: the statement always inserts, and its issuance can share a commit.
                return int((await issue.fetch_one_grouped(self._driver_pool, parameters))[0])
            row = await issue.fetch_one(self._driver_pool, parameters)
            return None if row is None else int(row[0])
        if isinstance(self._driver_pool, DriverPool):
            script = mariadb_writes.issue_grant(grant, access_digest, access_expires_at, refresh_digest, audit_event)
            row = await self._driver_pool.run_script(*script)
            return None if row is None or row[0] is None else int(row[0])
        async with engine.begin() as connection:
            if grant.code_id is not None:
                consumed = await connection.execute(
                    update(_codes)
                    .where(_codes.c.id == grant.code_id, _codes.c.consumed_at.is_(None))
                    .values(consumed_at=grant.created_at)
                )
                if consumed.rowcount != 1:
                    return None
            inserted = await connection.execute(insert(_grants).values(_grant_row(grant)))
            grant_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
            await connection.execute(
                insert(_access).values(
                    _access_row(
                        grant_id,
                        access_digest,
                        grant.client_id,
                        grant.user_id,
                        grant.scopes,
                        grant.resource,
                        grant.created_at,
                        access_expires_at,
                        grant.access_dpop_jkt,
                    )
                )
            )
            if refresh_digest is not None:
                await connection.execute(
                    insert(_refresh).values(
                        token_digest=refresh_digest,
                        grant_id=grant_id,
                        created_at=grant.created_at,
                        dpop_jkt=grant.refresh_dpop_jkt,
                    )
                )
            if audit_event is not None:
                await connection.execute(insert(_audit_events).values(audit_event_row(audit_event)))
            return grant_id

    async def rotate_refresh(
        self, refresh: GrantRefresh, new_refresh_digest: str, refresh_dpop_jkt: str | None = None
    ) -> bool:
        """Atomically retire one refresh token and issue its successors with the audit event; False if someone
        else won (and then nothing is written).

        The successors are bound to these DPoP key thumbprints (RFC 9449 §5), when given."""
        if self._sqlite_writer is not None:
            # It revokes the grant's earlier access tokens, which token lookups may hold.
            return await self._sqlite_writer.write(
                sqlite_writes.rotate_refresh(refresh, new_refresh_digest, refresh_dpop_jkt), changes=frozenset({TOKENS})
            )
        if self._driver_pool is not None and self._driver_pool.backend == "postgresql":
            parameters = _refresh_parameters(refresh)
            parameters.update(
                refresh_id=refresh.refresh_id, r_token_digest=new_refresh_digest, r_dpop_jkt=refresh_dpop_jkt
            )
            rotation = _ROTATE_REFRESH[refresh.audit_event is not None]
            is_rotated = bool((await rotation.fetch_one_grouped(self._driver_pool, parameters)).rotated == 1)
            if is_rotated:
                # It revoked the grant's earlier access tokens, which token lookups may hold.
                self._driver_pool.announce(frozenset({TOKENS}))
            return is_rotated
        if isinstance(self._driver_pool, DriverPool):
            script = mariadb_writes.rotate_refresh(refresh, new_refresh_digest, refresh_dpop_jkt)
            row = await self._driver_pool.run_script(*script)
            is_rotated = row is not None and row[0] == 1
            if is_rotated:
                self._driver_pool.announce(frozenset({TOKENS}))
            return is_rotated
        now, grant_id = refresh.now, refresh.grant_id
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(_refresh)
                .where(
                    _refresh.c.id == refresh.refresh_id,
                    _refresh.c.rotated_at.is_(None),
                    _refresh.c.revoked_at.is_(None),
                )
                .values(rotated_at=now)
            )
            if result.rowcount != 1:
                return False
            # The access tokens issued before this refresh are superseded (Frappe PR #40968 did the same).
            await connection.execute(
                update(_access)
                .where(_access.c.grant_id == grant_id, _access.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            await connection.execute(insert(_access).values(_access_row_of(refresh)))
            await connection.execute(
                insert(_refresh).values(
                    token_digest=new_refresh_digest, grant_id=grant_id, created_at=now, dpop_jkt=refresh_dpop_jkt
                )
            )
            await connection.execute(update(_grants).where(_grants.c.id == grant_id).values(last_used_at=now))
            if refresh.audit_event is not None:
                await connection.execute(insert(_audit_events).values(audit_event_row(refresh.audit_event)))
            return True

    async def add_access_token_to_grant(self, refresh: GrantRefresh) -> bool:
        """A new access token (and its audit event) on a live grant, its refresh token kept as it is; False
        (nothing written) when the grant or that refresh token was revoked or retired, or the grant expired.
        The grant's earlier access tokens are left as they are, and no cached read changes (a new token's
        digest was never looked up)."""
        if self._sqlite_writer is not None:
            return await self._sqlite_writer.write(sqlite_writes.add_access_token_to_grant(refresh))
        if self._driver_pool is not None and self._driver_pool.backend == "postgresql":
            parameters = _refresh_parameters(refresh)
            parameters.update(grant_id=refresh.grant_id, refresh_id=refresh.refresh_id)
            statement = _ADD_ACCESS_TO_GRANT[refresh.audit_event is not None]
            return await statement.fetch_one(self._driver_pool, parameters) is not None
        if isinstance(self._driver_pool, DriverPool):
            row = await self._driver_pool.run_script(*mariadb_writes.add_access_token_to_grant(refresh))
            return row is not None and row[0] == 1
        async with self._engine.begin() as connection:
            noted = await connection.execute(_note_live_grant_use(refresh.grant_id, refresh.refresh_id, refresh.now))
            if noted.rowcount != 1:
                return False
            await connection.execute(insert(_access).values(_access_row_of(refresh)))
            if refresh.audit_event is not None:
                await connection.execute(insert(_audit_events).values(audit_event_row(refresh.audit_event)))
            return True

    async def get_access_token(self, token_digest: str) -> AccessTokenRecord | None:
        return await self._cache.get(
            ("access_token", token_digest), lambda: self._load_access_token(token_digest), group=TOKENS
        )

    async def _load_access_token(self, token_digest: str) -> AccessTokenRecord | None:
        found = await self._read_with_kept_tail(
            _ACCESS_BY_DIGEST_ON_DRIVER, {"digest": token_digest}, _USER_COLUMN_NAMES, _token_user
        )
        if found is None:
            return None
        row, user = found
        return AccessTokenRecord(
            row[0],
            row[1],
            row[2],
            row[3],
            tuple(row[4]),
            row[5],
            row[6],
            row[7],
            row[8],
            is_client_enabled=bool(row[9]),
            is_client_trusted=bool(row[10]),
            client_pairwise_sector=row.pairwise_sector,
            dpop_jkt=row.dpop_jkt,
            is_exchanged=bool(row.is_exchanged),
            user=user,
        )

    async def get_refresh_token(self, token_digest: str) -> RefreshRecord | None:
        row = await self._read_one(_REFRESH_BY_DIGEST_ON_DRIVER, {"digest": token_digest})
        if row is None:
            return None
        (
            refresh_id,
            grant_id,
            client_id,
            user_id,
            scopes,
            expires_at,
            rotated_at,
            refresh_revoked_at,
            grant_revoked_at,
            auth_time,
            nonce,
            resource,
            dpop_jkt,
            sid,
            amr,
        ) = row
        return RefreshRecord(
            refresh_id=refresh_id,
            family_id=grant_id,
            client_id=client_id,
            user_id=user_id,
            scopes=tuple(scopes),
            expires_at=expires_at,
            rotated_at=rotated_at,
            revoked_at=refresh_revoked_at or grant_revoked_at,
            auth_time=auth_time,
            nonce=nonce,
            resource=resource,
            dpop_jkt=dpop_jkt,
            sid=sid,
            amr=tuple(amr.split()) if amr else (),
        )

    async def revoke_grant(self, grant_id: int, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            await _revoke_grants(session, [grant_id], now)

    async def revoke_grants_from_code(self, code_id: int, now: datetime) -> int:
        async with self._sessions() as session, session.begin():
            ids = list((await session.execute(select(TokenGrant.id).where(TokenGrant.code_id == code_id))).scalars())
            await _revoke_grants(session, ids, now)
            return len(ids)

    async def revoke_grants_of(self, user_id: int, client_id: str, now: datetime) -> int:
        async with self._sessions() as session, session.begin():
            ids = list(
                (
                    await session.execute(
                        select(TokenGrant.id).where(
                            TokenGrant.user_id == user_id,
                            TokenGrant.client_id == client_id,
                            TokenGrant.revoked_at.is_(None),
                        )
                    )
                ).scalars()
            )
            await _revoke_grants(session, ids, now)
            return len(ids)

    async def revoke_all_of_user(self, user_id: int, now: datetime) -> int:
        async with self._sessions() as session, session.begin():
            ids = list(
                (
                    await session.execute(
                        select(TokenGrant.id).where(TokenGrant.user_id == user_id, TokenGrant.revoked_at.is_(None))
                    )
                ).scalars()
            )
            await _revoke_grants(session, ids, now)
            return len(ids)

    async def revoke_all_of_client(self, client_id: str, now: datetime) -> int:
        """Every live grant of a client with its tokens, in one transaction; returns how many grants.

        Conditions, not a list of ids read first: a grant written while this runs is either revoked here or
        written after it (and then refused, since its client is disabled by then).
        """
        async with self._sessions() as session, session.begin():
            grants = await session.execute(
                update(_grants)
                .where(_grants.c.client_id == client_id, _grants.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            await session.execute(
                update(_access)
                .where(_access.c.client_id == client_id, _access.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            await session.execute(
                update(_refresh)
                .where(
                    _refresh.c.grant_id.in_(select(_grants.c.id).where(_grants.c.client_id == client_id)),
                    _refresh.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
            return int(grants.rowcount)  # type: ignore[attr-defined]

    async def touch_grants(self, grant_ids: list[int], now: datetime) -> None:
        """Grants' last use; no cached read holds it, so the read cache is not told (db/engine.py)."""
        async with single_statement(self._engine) as connection:
            await connection.execute(_TOUCH_GRANTS, {"grant_ids": grant_ids, "now": now})

    async def list_active_grants(
        self, now: datetime, *, user_id: int | None = None, client_id: str | None = None, grant_id: int | None = None
    ) -> list[GrantSummary]:
        query = (
            select(TokenGrant, OAuthClient.app_name, User.email)
            .join(OAuthClient, OAuthClient.client_id == TokenGrant.client_id)
            .outerjoin(User, User.id == TokenGrant.user_id)
            .where(TokenGrant.revoked_at.is_(None), TokenGrant.expires_at > now)
            .order_by(TokenGrant.created_at.desc())
        )
        if user_id is not None:
            query = query.where(TokenGrant.user_id == user_id)
        if client_id is not None:
            query = query.where(TokenGrant.client_id == client_id)
        if grant_id is not None:
            query = query.where(TokenGrant.id == grant_id)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
            return [
                GrantSummary(
                    grant.id,
                    grant.client_id,
                    app_name,
                    grant.user_id,
                    email,
                    tuple(grant.scopes),
                    grant.created_at,
                    grant.last_used_at,
                    grant.expires_at,
                )
                for grant, app_name, email in rows
            ]

    async def purge_expired(self, now: datetime) -> int:
        """Delete what can never be valid again: expired or revoked grants, used or expired codes."""
        async with self._sessions() as session, session.begin():
            grants = await session.execute(
                delete(TokenGrant).where(or_(TokenGrant.expires_at <= now, TokenGrant.revoked_at.is_not(None)))
            )
            tokens = await session.execute(
                delete(AccessToken).where(or_(AccessToken.expires_at <= now, AccessToken.revoked_at.is_not(None)))
            )
            # Rotated refresh tokens stay until their grant goes, so a replay is still detected.
            codes = await session.execute(delete(AuthorizationCode).where(AuthorizationCode.expires_at <= now))
            return sum(int(result.rowcount) for result in (grants, tokens, codes))  # type: ignore[attr-defined,misc]
