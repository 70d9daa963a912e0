"""What issuing and redeeming grants needs from storage: one narrow protocol, declared here by its users.

The database package implements it (``SqlTokenStore``); the grants and the issuer each use the part
they need (the access-token verifier declares its own, in services/oauth/access_tokens.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gatepass.protocol.values import RefreshRecord
from gatepass.services.stores import AuditRecord, GrantRefresh, NewGrant


class GrantTokenStore(Protocol):
    async def add_grant_with_tokens(
        self,
        grant: NewGrant,
        access_digest: str,
        access_expires_at: datetime,
        refresh_digest: str | None,
        audit_event: AuditRecord | None = None,
    ) -> int | None:
        """The grant, its first tokens and the audit event of their issuance in one transaction, consuming
        its code if it has one; None (and nothing written) when the code was consumed already."""
        ...

    async def rotate_refresh(
        self, refresh: GrantRefresh, new_refresh_digest: str, refresh_dpop_jkt: str | None = None
    ) -> bool:
        """Retire the refresh token and write its successor (bound to ``refresh_dpop_jkt`` when given) with the
        new access token and the audit event; False (and nothing written) when it was retired already (a
        second use)."""
        ...

    async def add_access_token_to_grant(self, refresh: GrantRefresh) -> bool:
        """The new access token and the audit event on a grant whose refresh token stays as it is (no
        rotation); False (and nothing written) unless the grant and that refresh token are live: neither
        revoked nor retired, the grant unexpired at ``refresh.now``."""
        ...

    async def get_refresh_token(self, token_digest: str) -> RefreshRecord | None: ...
    async def revoke_grant(self, grant_id: int, now: datetime) -> None: ...
    async def revoke_grants_from_code(self, code_id: int, now: datetime) -> int: ...


#: A device authorization's life (RFC 8628): the user decides a pending one; an approved one is redeemed once.
DEVICE_PENDING = "pending"
DEVICE_APPROVED = "approved"
DEVICE_DENIED = "denied"
DEVICE_USED = "used"


@dataclass(frozen=True)
class NewDeviceAuthorization:
    device_code_digest: str
    user_code_digest: str
    client_id: str
    scopes: tuple[str, ...]
    resource: str | None
    interval_seconds: int
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class DeviceAuthorizationRecord:
    id: int
    client_id: str
    scopes: tuple[str, ...]
    resource: str | None
    status: str
    user_id: int | None
    auth_time: datetime | None
    interval_seconds: int
    last_polled_at: datetime | None
    expires_at: datetime
    sid: str | None = None
    amr: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeviceApprovalLogin:
    """The login session a device was decided from: its tokens carry it as a code's tokens carry theirs."""

    auth_time: datetime
    amr: tuple[str, ...]
    #: None when the user denied: a denied device joins no session.
    sid: str | None


class DeviceAuthorizationStore(Protocol):
    """RFC 8628 device authorizations, found by the digest of either code. Every change of status is one
    conditional UPDATE whose row count tells the caller whether it, and no concurrent caller, made it."""

    async def add_device_authorization(self, authorization: NewDeviceAuthorization) -> int:
        """The new row's id; raises Conflict when either code's digest is taken (draw new codes)."""
        ...

    async def get_by_device_code(self, device_code_digest: str) -> DeviceAuthorizationRecord | None: ...
    async def get_by_user_code(self, user_code_digest: str) -> DeviceAuthorizationRecord | None: ...

    async def decide(
        self, authorization_id: int, *, user_id: int, approve: bool, now: datetime, login: DeviceApprovalLogin
    ) -> bool:
        """Approve or deny a pending, unexpired authorization for this user, keeping how they logged in;
        False when it was not pending."""
        ...

    async def note_poll(
        self, authorization_id: int, *, seen_polled_at: datetime | None, now: datetime, interval_seconds: int
    ) -> bool:
        """Record a poll at ``now`` (and the interval from now on) if the last poll is still the one the caller
        saw; False when another poll came in between."""
        ...

    async def redeem(self, authorization_id: int, now: datetime) -> bool:
        """Mark an approved authorization used; True for exactly one caller."""
        ...

    async def purge_expired(self, now: datetime) -> int: ...
