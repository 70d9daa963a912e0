"""The hot writes on MariaDB, each one script sent in one round trip (db/driver.py ``DriverPool.run_script``).

PostgreSQL chains the steps of a write with data-modifying CTEs (db/tokens.py); MariaDB has none, but
its driver connections accept several statements in one message. Each script opens a transaction,
makes every step depend on the first one's outcome through a session variable (a consumed code or a
retired refresh token updates no row, so nothing after it writes), commits, and ends with a SELECT of
that outcome: one round trip where the SQLAlchemy path needs one per statement. A statement that fails
stops the script with the transaction open; the pool then drops the connection, which rolls it back.

The rows are the ones the SQLAlchemy path writes, in the same forms (naive UTC times, JSON as text):
the store-contract tests read them back through SQLAlchemy.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from gatepass.services.stores import AuditRecord, GrantRefresh, NewGrant

Script = tuple[str, list[Any]]

_INSERT_GRANT_IF = (
    "INSERT INTO token_grants (client_id, user_id, grant_type, scopes, code_id, nonce, resource, auth_time,"
    " created_at, expires_at, sid, amr) SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s"
    " FROM DUAL WHERE {condition};"
)
_INSERT_ACCESS_IF = (
    "INSERT INTO access_tokens (token_digest, grant_id, client_id, user_id, scopes, resource, created_at,"
    " expires_at, dpop_jkt) SELECT %s, {grant_id}, %s, %s, %s, %s, %s, %s, %s FROM DUAL WHERE {condition};"
)
_INSERT_REFRESH_IF = (
    "INSERT INTO refresh_tokens (token_digest, grant_id, created_at, dpop_jkt) SELECT %s, {grant_id}, %s, %s"
    " FROM DUAL WHERE {condition};"
)
_INSERT_AUDIT_IF = (
    "INSERT INTO audit_events (at, event, user_id, client_id, ip, detail) SELECT %s, %s, %s, %s, %s, %s FROM DUAL"
    " WHERE {condition};"
)


def mariadb_time(value: datetime | None) -> datetime | None:
    """A UTC instant as the schema's datetime columns hold it on MariaDB (naive UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _audit(event: AuditRecord) -> list[Any]:
    return [mariadb_time(event.at), event.event, event.user_id, event.client_id, event.ip, _json(event.detail)]


def issue_grant(
    grant: NewGrant,
    access_digest: str,
    access_expires_at: datetime,
    refresh_digest: str | None,
    audit_event: AuditRecord | None,
) -> Script:
    """add_grant_with_tokens as one script; its one row holds the new grant's id, or NULL when the code was
    consumed already (and then nothing was written)."""
    created_at = mariadb_time(grant.created_at)
    scopes = _json(list(grant.scopes))
    parts = ["START TRANSACTION;"]
    values: list[Any] = []
    if grant.code_id is not None:
        parts.append("UPDATE authorization_codes SET consumed_at = %s WHERE id = %s AND consumed_at IS NULL;")
        values += [created_at, grant.code_id]
        parts.append(_INSERT_GRANT_IF.format(condition="ROW_COUNT() = 1"))
    else:
        parts.append(_INSERT_GRANT_IF.format(condition="TRUE"))
    values += [
        grant.client_id,
        grant.user_id,
        grant.grant_type,
        scopes,
        grant.code_id,
        grant.nonce,
        grant.resource,
        mariadb_time(grant.auth_time),
        created_at,
        mariadb_time(grant.expires_at),
        grant.sid,
        " ".join(grant.amr) or None,
    ]
    parts.append("SET @gatepass_grant = IF(ROW_COUNT() = 1, LAST_INSERT_ID(), NULL);")
    issued = {"grant_id": "@gatepass_grant", "condition": "@gatepass_grant IS NOT NULL"}
    parts.append(_INSERT_ACCESS_IF.format(**issued))
    values += [
        access_digest,
        grant.client_id,
        grant.user_id,
        scopes,
        grant.resource,
        created_at,
        mariadb_time(access_expires_at),
        grant.access_dpop_jkt,
    ]
    if refresh_digest is not None:
        parts.append(_INSERT_REFRESH_IF.format(**issued))
        values += [refresh_digest, created_at, grant.refresh_dpop_jkt]
    if audit_event is not None:
        parts.append(_INSERT_AUDIT_IF.format(condition=issued["condition"]))
        values += _audit(audit_event)
    parts += ["COMMIT;", "SELECT @gatepass_grant;"]
    return " ".join(parts), values


def rotate_refresh(refresh: GrantRefresh, new_refresh_digest: str, refresh_dpop_jkt: str | None) -> Script:
    """rotate_refresh as one script; its one row holds 1 when this request retired the refresh token, else 0.

    The access tokens issued before this refresh are superseded, as on the other databases; the audit event
    is written only with the new tokens.
    """
    at = mariadb_time(refresh.now)
    rotated = {"grant_id": "%s", "condition": "@gatepass_rotated = 1"}
    parts = [
        "START TRANSACTION;",
        "UPDATE refresh_tokens SET rotated_at = %s WHERE id = %s AND rotated_at IS NULL AND revoked_at IS NULL;",
        "SET @gatepass_rotated = ROW_COUNT();",
        "UPDATE access_tokens SET revoked_at = %s WHERE grant_id = %s AND revoked_at IS NULL"
        " AND @gatepass_rotated = 1;",
        _INSERT_ACCESS_IF.format(**rotated),
        _INSERT_REFRESH_IF.format(**rotated),
        "UPDATE token_grants SET last_used_at = %s WHERE id = %s AND @gatepass_rotated = 1;",
    ]
    values = [
        at,
        refresh.refresh_id,
        at,
        refresh.grant_id,
        *_access_of(refresh),
        new_refresh_digest,
        refresh.grant_id,
        at,
        refresh_dpop_jkt,
        at,
        refresh.grant_id,
    ]
    if refresh.audit_event is not None:
        parts.append(_INSERT_AUDIT_IF.format(condition=rotated["condition"]))
        values += _audit(refresh.audit_event)
    parts += ["COMMIT;", "SELECT @gatepass_rotated;"]
    return " ".join(parts), values


def add_access_token_to_grant(refresh: GrantRefresh) -> Script:
    """add_access_token_to_grant as one script; its one row holds 1 when the grant and its refresh token were
    live and the access token (and the audit event) was written, else 0.

    The grant's row is locked first (revocation changes it first): a revocation either went before, and the
    grant reads revoked here, or waits for this commit and then finds the new access token to revoke. A
    locking read, not an UPDATE's ROW_COUNT(), which counts changed rows only and would miss a grant whose
    last use already reads ``now``.
    """
    at = mariadb_time(refresh.now)
    live = {"grant_id": "%s", "condition": "@gatepass_live = 1"}
    parts = [
        "START TRANSACTION;",
        "SELECT COUNT(*) INTO @gatepass_live FROM token_grants JOIN refresh_tokens"
        " ON refresh_tokens.grant_id = token_grants.id WHERE token_grants.id = %s AND refresh_tokens.id = %s"
        " AND token_grants.revoked_at IS NULL AND token_grants.expires_at > %s"
        " AND refresh_tokens.rotated_at IS NULL AND refresh_tokens.revoked_at IS NULL FOR UPDATE;",
        _INSERT_ACCESS_IF.format(**live),
        "UPDATE token_grants SET last_used_at = %s WHERE id = %s AND @gatepass_live = 1;",
    ]
    values = [refresh.grant_id, refresh.refresh_id, at, *_access_of(refresh), at, refresh.grant_id]
    if refresh.audit_event is not None:
        parts.append(_INSERT_AUDIT_IF.format(condition=live["condition"]))
        values += _audit(refresh.audit_event)
    parts += ["COMMIT;", "SELECT @gatepass_live;"]
    return " ".join(parts), values


def _access_of(refresh: GrantRefresh) -> list[Any]:
    """The new access token's values for _INSERT_ACCESS_IF, in its order (the grant id second, for ``{grant_id}``)."""
    return [
        refresh.access_digest,
        refresh.grant_id,
        refresh.client_id,
        refresh.user_id,
        _json(list(refresh.scopes)),
        refresh.resource,
        mariadb_time(refresh.now),
        mariadb_time(refresh.access_expires_at),
        refresh.access_dpop_jkt,
    ]
