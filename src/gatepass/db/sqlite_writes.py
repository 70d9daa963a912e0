"""The hot writes on SQLite, as plain statements for the process's one writer (db/sqlite_writer.py).

Each function returns the work the writer runs inside its group commit. The statements write the
same rows, in the same text forms, as the SQLAlchemy paths of the other databases (db/tokens.py,
db/audit.py): the store-contract tests read them back through SQLAlchemy on every backend.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from gatepass.db.sqlite_writer import sqlite_json, sqlite_time
from gatepass.services.stores import AuditRecord, GrantRefresh, NewGrant

_CONSUME_CODE = "UPDATE authorization_codes SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL"
_INSERT_GRANT = (
    "INSERT INTO token_grants (client_id, user_id, grant_type, scopes, code_id, nonce, resource, auth_time,"
    " created_at, expires_at, sid, amr, last_used_at, revoked_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)"
)
_INSERT_ACCESS = (
    "INSERT INTO access_tokens (token_digest, grant_id, client_id, user_id, scopes, resource, created_at,"
    " expires_at, dpop_jkt, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
)
_INSERT_REFRESH = (
    "INSERT INTO refresh_tokens (token_digest, grant_id, created_at, dpop_jkt, rotated_at, revoked_at)"
    " VALUES (?, ?, ?, ?, NULL, NULL)"
)
_RETIRE_REFRESH = "UPDATE refresh_tokens SET rotated_at = ? WHERE id = ? AND rotated_at IS NULL AND revoked_at IS NULL"
_REVOKE_GRANT_ACCESS = "UPDATE access_tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL"
_NOTE_GRANT_USE = "UPDATE token_grants SET last_used_at = ? WHERE id = ?"
#: The grant's row is what revocation changes first, so the new access token is written only while it is live.
_NOTE_LIVE_GRANT_USE = (
    "UPDATE token_grants SET last_used_at = ? WHERE id = ? AND revoked_at IS NULL AND expires_at > ?"
    " AND EXISTS (SELECT 1 FROM refresh_tokens WHERE id = ? AND grant_id = token_grants.id"
    " AND rotated_at IS NULL AND revoked_at IS NULL)"
)
_INSERT_AUDIT = "INSERT INTO audit_events (at, event, user_id, client_id, ip, detail) VALUES (?, ?, ?, ?, ?, ?)"


def issue_grant(
    grant: NewGrant,
    access_digest: str,
    access_expires_at: datetime,
    refresh_digest: str | None,
    audit_event: AuditRecord | None = None,
) -> Callable[[sqlite3.Connection], int | None]:
    """The grant and its first tokens (consuming its code, if any) and the audit event of their issuance;
    None when the code was consumed already (and then nothing is written)."""
    write_audit_event = add_audit_event(audit_event) if audit_event is not None else None
    created_at = sqlite_time(grant.created_at)
    scopes = sqlite_json(list(grant.scopes))
    grant_row = (
        grant.client_id,
        grant.user_id,
        grant.grant_type,
        scopes,
        grant.code_id,
        grant.nonce,
        grant.resource,
        sqlite_time(grant.auth_time),
        created_at,
        sqlite_time(grant.expires_at),
        grant.sid,
        " ".join(grant.amr) or None,
    )
    access_expires = sqlite_time(access_expires_at)

    def work(connection: sqlite3.Connection) -> int | None:
        if grant.code_id is not None and connection.execute(_CONSUME_CODE, (created_at, grant.code_id)).rowcount != 1:
            return None
        grant_id = connection.execute(_INSERT_GRANT, grant_row).lastrowid
        connection.execute(
            _INSERT_ACCESS,
            (
                access_digest,
                grant_id,
                grant.client_id,
                grant.user_id,
                scopes,
                grant.resource,
                created_at,
                access_expires,
                grant.access_dpop_jkt,
            ),
        )
        if refresh_digest is not None:
            connection.execute(_INSERT_REFRESH, (refresh_digest, grant_id, created_at, grant.refresh_dpop_jkt))
        if write_audit_event is not None:
            write_audit_event(connection)
        return grant_id

    return work


def rotate_refresh(
    refresh: GrantRefresh, new_refresh_digest: str, refresh_dpop_jkt: str | None
) -> Callable[[sqlite3.Connection], bool]:
    """Retire one refresh token and issue its successors, with the audit event; False (and nothing written)
    when it was retired or revoked already.

    The access tokens issued before this refresh are superseded, as on the other databases.
    """
    at = sqlite_time(refresh.now)
    insert_access = _access_of(refresh)
    write_audit_event = add_audit_event(refresh.audit_event) if refresh.audit_event is not None else None

    def work(connection: sqlite3.Connection) -> bool:
        if connection.execute(_RETIRE_REFRESH, (at, refresh.refresh_id)).rowcount != 1:
            return False
        connection.execute(_REVOKE_GRANT_ACCESS, (at, refresh.grant_id))
        connection.execute(_INSERT_ACCESS, insert_access)
        connection.execute(_INSERT_REFRESH, (new_refresh_digest, refresh.grant_id, at, refresh_dpop_jkt))
        connection.execute(_NOTE_GRANT_USE, (at, refresh.grant_id))
        if write_audit_event is not None:
            write_audit_event(connection)
        return True

    return work


def add_access_token_to_grant(refresh: GrantRefresh) -> Callable[[sqlite3.Connection], bool]:
    """A new access token on a live grant whose refresh token is kept, with the audit event; False when the
    grant or that refresh token was revoked, retired or expired (and then nothing is written). Earlier access
    tokens stay valid."""
    at = sqlite_time(refresh.now)
    insert_access = _access_of(refresh)
    write_audit_event = add_audit_event(refresh.audit_event) if refresh.audit_event is not None else None

    def work(connection: sqlite3.Connection) -> bool:
        if connection.execute(_NOTE_LIVE_GRANT_USE, (at, refresh.grant_id, at, refresh.refresh_id)).rowcount != 1:
            return False
        connection.execute(_INSERT_ACCESS, insert_access)
        if write_audit_event is not None:
            write_audit_event(connection)
        return True

    return work


def _access_of(refresh: GrantRefresh) -> tuple[Any, ...]:
    """The new access token's row, in _INSERT_ACCESS's order."""
    return (
        refresh.access_digest,
        refresh.grant_id,
        refresh.client_id,
        refresh.user_id,
        sqlite_json(list(refresh.scopes)),
        refresh.resource,
        sqlite_time(refresh.now),
        sqlite_time(refresh.access_expires_at),
        refresh.access_dpop_jkt,
    )


def add_audit_event(event: AuditRecord) -> Callable[[sqlite3.Connection], None]:
    row = (
        sqlite_time(event.at),
        event.event,
        event.user_id,
        event.client_id,
        event.ip,
        sqlite_json(event.detail),
    )

    def work(connection: sqlite3.Connection) -> None:
        connection.execute(_INSERT_AUDIT, row)

    return work


_CONSENT_SCOPES = "SELECT id, scopes FROM consents WHERE user_id = ? AND client_id = ?"
_INSERT_CONSENT = "INSERT INTO consents (user_id, client_id, scopes, granted_at, updated_at) VALUES (?, ?, ?, ?, ?)"
_WIDEN_CONSENT = "UPDATE consents SET scopes = ?, updated_at = ? WHERE id = ?"


def save_consent(
    user_id: int, client_id: str, scopes: tuple[str, ...], now: datetime
) -> Callable[[sqlite3.Connection], None]:
    """A user's consent to a client, or its widening by more scopes: one writer at a time reads and writes it,
    so two first consents at once do not collide."""
    at = sqlite_time(now)

    def work(connection: sqlite3.Connection) -> None:
        found = connection.execute(_CONSENT_SCOPES, (user_id, client_id)).fetchone()
        if found is None:
            connection.execute(_INSERT_CONSENT, (user_id, client_id, sqlite_json(list(scopes)), at, at))
        else:
            consent_id, held = found
            widened = sorted(set(json.loads(held)) | set(scopes))
            connection.execute(_WIDEN_CONSENT, (sqlite_json(widened), at, consent_id))

    return work
