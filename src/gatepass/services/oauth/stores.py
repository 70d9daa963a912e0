"""What issuing and redeeming grants needs from storage: one narrow protocol, declared here by its users.

The database package implements it (``SqlTokenStore``); the grants and the issuer each use the part
they need (the access-token verifier declares its own, in services/oauth/access_tokens.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from gatepass.protocol.values import RefreshRecord
from gatepass.services.stores import AuditRecord, NewGrant


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
        self,
        *,
        grant_id: int,
        refresh_id: int,
        client_id: str,
        user_id: int | None,
        scopes: tuple[str, ...],
        resource: str | None,
        access_digest: str,
        access_expires_at: datetime,
        new_refresh_digest: str,
        now: datetime,
    ) -> bool:
        """Retire the refresh token and write its successor with a new access token; False when it was
        retired already (a second use)."""
        ...

    async def get_refresh_token(self, token_digest: str) -> RefreshRecord | None: ...
    async def revoke_grant(self, grant_id: int, now: datetime) -> None: ...
    async def revoke_grants_from_code(self, code_id: int, now: datetime) -> int: ...
