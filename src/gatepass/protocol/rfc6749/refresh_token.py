"""The refresh token grant with rotation and reuse detection (RFC 6749 §6, RFC 9700 §4.14.2).

A refresh is judged by the client's policy of now, not of when the grant was made: scopes the client
may no longer ask for are dropped, as a new authorization would refuse them.
"""

from __future__ import annotations

from datetime import datetime

from gatepass.protocol.errors import InvalidGrant, InvalidScope
from gatepass.protocol.values import RefreshRecord


class RefreshTokenReused(InvalidGrant):
    """An already rotated refresh token came back: the whole family is revoked (RFC 9700 §4.14.2)."""

    def __init__(self) -> None:
        super().__init__("The refresh token was already used; every token of this grant is now revoked")


def check_refresh(
    record: RefreshRecord | None,
    *,
    client_id: str,
    requested_scopes: tuple[str, ...],
    client_scopes: tuple[str, ...],
    now: datetime,
) -> tuple[str, ...]:
    """Judge a loaded refresh token; returns the scopes the new tokens get."""
    if record is None:
        raise InvalidGrant("The refresh token is invalid")
    if record.client_id != client_id:
        # RFC 6749 §6: the refresh token is bound to the client it was issued to.
        raise InvalidGrant("The refresh token was issued to another client")
    if record.revoked_at is not None:
        raise InvalidGrant("The refresh token has been revoked")
    if record.rotated_at is not None:
        raise RefreshTokenReused()
    if now >= record.expires_at:
        raise InvalidGrant("The refresh token has expired; ask the user to authorize again")
    # RFC 6749 §6: the requested scope must not include any scope not originally granted.
    extra = [scope for scope in requested_scopes if scope not in record.scopes]
    if extra:
        raise InvalidScope(f"Scope '{extra[0]}' was not granted originally; a refresh can only narrow the scope")
    # RFC 6749 §6: an omitted scope means the scope originally granted, within what the client may still have.
    kept = tuple(scope for scope in requested_scopes or record.scopes if scope in client_scopes)
    if not kept:
        raise InvalidGrant("No scope of this grant is still allowed for this client; ask the user to authorize again")
    return kept
