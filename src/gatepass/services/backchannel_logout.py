"""Telling clients that a user logged out (OpenID Connect Back-Channel Logout 1.0).

https://openid.net/specs/openid-connect-backchannel-1_0.html

When a login session ends, or every session of a user, the logout tokens each client is owed are queued in
the database in the same transaction that forgets the sessions; each worker's delivery loop then claims
due rows one by one and POSTs them (§2.5), retrying with a growing delay until the client accepts or the
last attempt fails. A restart loses nothing: the queue is in the database, and a claim lapses. The token
is never logged.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from gatepass.protocol.oidc.backchannel_logout import (
    LOGOUT_TOKEN_TYPE,
    build_logout_claims,
    build_session_id,
    retry_delay_seconds,
    sessions_to_name,
    with_lifetime,
)
from gatepass.protocol.values import ClientInfo
from gatepass.services import audit
from gatepass.services.stores import (
    ClientRecord,
    LogoutDeliveryRecord,
    LogoutParticipant,
    SessionRecord,
    UserRecord,
)

_log = logging.getLogger("gatepass.backchannel_logout")
#: How many due deliveries one pass of a worker's loop claims at most.
_BATCH = 20


class LogoutStore(Protocol):
    async def add_participant(self, sid: str, user_id: int, client_id: str, expires_at: datetime) -> None: ...

    async def list_participants(self, user_id: int, sid: str | None, now: datetime) -> list[LogoutParticipant]: ...

    async def queue_deliveries(
        self, claims: list[tuple[str, dict[str, Any]]], user_id: int, sid: str | None, now: datetime
    ) -> None: ...

    async def list_due(self, now: datetime, limit: int) -> list[int]: ...

    async def claim(self, delivery_id: int, now: datetime, claimed_until: datetime) -> LogoutDeliveryRecord | None: ...

    async def delete_delivery(self, delivery_id: int) -> None: ...

    async def retry_later(self, delivery_id: int, next_attempt_at: datetime, error: str) -> None: ...


class _Clients(Protocol):
    async def get(self, client_id: str) -> ClientRecord | None: ...


class _Users(Protocol):
    async def get_user(self, user_id: int) -> UserRecord | None: ...


class _Signer(Protocol):
    async def sign_for_client(self, client: ClientRecord, claims: dict[str, Any], *, typ: str = "JWT") -> str: ...


@dataclass(frozen=True)
class DeliveryPolicy:
    """How logout tokens are sent (tokens.backchannel_logout_* settings)."""

    token_ttl_seconds: int = 120
    timeout_seconds: float = 5.0
    first_retry_seconds: int = 30
    max_attempts: int = 8


class BackchannelLogout:
    def __init__(
        self,
        *,
        issuer: str,
        store: LogoutStore,
        clients: _Clients,
        users: _Users,
        signer: _Signer,
        subject_for: Callable[[ClientInfo, UserRecord], str],
        sid_key: bytes,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
        policy: DeliveryPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._issuer = issuer
        self._store = store
        self._clients = clients
        self._users = users
        self._signer = signer
        self._subject_for = subject_for
        self._sid_key = sid_key
        self._audit = audit_log
        self._clock = clock
        self._policy = policy
        self._transport = transport

    def sid_of(self, login: SessionRecord) -> str:
        return build_session_id(self._sid_key, login.session_id)

    async def join(self, login: SessionRecord, client: ClientInfo) -> str:
        """The session's sid, for the id_token; a client with a logout URI is remembered as taking part."""
        sid = self.sid_of(login)
        if client.backchannel_logout_uri is not None:
            await self._store.add_participant(sid, login.user_id, client.client_id, login.expires_at)
        return sid

    async def session_ended(self, login: SessionRecord) -> None:
        await self.sessions_ended(login.user_id, [login.session_id])

    async def sessions_ended(self, user_id: int, session_ids: list[int]) -> None:
        """Sessions of the user ended one by one (logged out, or signed out from a list of sessions)."""
        for session_id in session_ids:
            await self._queue(user_id, build_session_id(self._sid_key, session_id))

    async def every_session_ended(self, user_id: int) -> None:
        """Before the user's grants are revoked: a client holding one is told too, though no session named it."""
        await self._queue(user_id, None)

    async def _queue(self, user_id: int, sid: str | None) -> None:
        now = self._clock()
        participants = await self._store.list_participants(user_id, sid, now)
        user = await self._users.get_user(user_id) if participants else None
        queued: list[tuple[str, dict[str, Any]]] = []
        for participant in participants:
            client = await self._clients.get(participant.client_id)
            if user is None or client is None:
                continue
            subject = self._subject_for(client.info, user)
            named = sessions_to_name(
                participant.sids, is_session_required=participant.is_session_required, is_every_session=sid is None
            )
            queued.extend(
                (
                    client.info.client_id,
                    build_logout_claims(
                        issuer=self._issuer,
                        client_id=client.info.client_id,
                        subject=subject,
                        sid=session,
                        jti=secrets.token_urlsafe(16),
                    ),
                )
                for session in named
            )
        await self._store.queue_deliveries(queued, user_id, sid, now)
        for client_id in dict.fromkeys(client_id for client_id, _ in queued):
            await self._audit.record(audit.BACKCHANNEL_LOGOUT_QUEUED, user_id=user_id, client_id=client_id)

    async def deliver_due(self) -> int:
        """One pass: claim the due deliveries no other worker holds, and attempt each; returns how many were sent."""
        now = self._clock()
        due = await self._store.list_due(now, _BATCH)
        if not due:
            return 0
        # The claim outlasts the longest attempt, so no other worker sends the same row meanwhile.
        claimed_until = now + timedelta(seconds=self._policy.timeout_seconds * 2 + 30)
        claimed = [
            delivery
            for delivery_id in due
            if (delivery := await self._store.claim(delivery_id, now, claimed_until)) is not None
        ]
        async with httpx.AsyncClient(
            transport=self._transport, timeout=self._policy.timeout_seconds, follow_redirects=False
        ) as http:
            # At once: a receiver that is slow to answer holds up no other client's logout.
            return sum(await asyncio.gather(*(self._attempt(http, delivery) for delivery in claimed)))

    async def _attempt(self, http: httpx.AsyncClient, delivery: LogoutDeliveryRecord) -> int:
        client = await self._clients.get(delivery.client_id)
        uri = client.info.backchannel_logout_uri if client is not None else None
        if client is None or uri is None:
            await self._store.delete_delivery(delivery.delivery_id)
            return 0
        claims = with_lifetime(delivery.claims, self._clock(), self._policy.token_ttl_seconds)
        token = await self._signer.sign_for_client(client, claims, typ=LOGOUT_TOKEN_TYPE)
        error = await _post(http, uri, token)
        if error is None:
            await self._store.delete_delivery(delivery.delivery_id)
            await self._audit.record(
                audit.BACKCHANNEL_LOGOUT_DELIVERED, client_id=delivery.client_id, attempts=delivery.attempts
            )
            return 1
        if delivery.attempts >= self._policy.max_attempts:
            await self._store.delete_delivery(delivery.delivery_id)
            await self._audit.record(
                audit.BACKCHANNEL_LOGOUT_ABANDONED,
                client_id=delivery.client_id,
                attempts=delivery.attempts,
                last_error=error,
            )
            return 0
        delay = retry_delay_seconds(delivery.attempts, self._policy.first_retry_seconds)
        await self._store.retry_later(delivery.delivery_id, self._clock() + timedelta(seconds=delay), error)
        _log.info(
            "logout token for client %s not accepted (%s); attempt %d of %d, next in %d s",
            delivery.client_id, error, delivery.attempts, self._policy.max_attempts, delay,
        )  # fmt: skip
        return 0


async def _post(http: httpx.AsyncClient, uri: str, token: str) -> str | None:
    """None when the client accepted the token (§2.8: 200 OK, or 204); otherwise what went wrong, token-free."""
    headers = {"Cache-Control": "no-store", "Accept": "application/json"}
    try:
        # Streamed and never read: only the status counts, and a receiver's body could be of any size.
        async with http.stream("POST", uri, data={"logout_token": token}, headers=headers) as response:
            status = response.status_code
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: the request to the logout URI failed"
    if status in (200, 204):
        return None
    return f"HTTP {status} from the logout URI"
