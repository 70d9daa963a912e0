"""The device authorization grant (RFC 8628), outside the token endpoint: the device's request for codes,
and the user's answer on the /device page.

The device's request, in order (each raises or returns):
1. the client, authenticated as at the token endpoint (``invalid_client``);
2. the client may use the device grant (``unauthorized_client``);
3. the scopes, among the client's (``invalid_scope``), and the resource (``invalid_target``);
4. a device code and a user code, stored as digests; a user code already taken is drawn again.

The user's answer: the typed code, normalized; a pending, unexpired authorization of an enabled client
for it (otherwise a message saying which); the decision written by one conditional UPDATE, so two tabs
deciding at once record one decision. Every code that matches no waiting device is audited.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from gatepass.protocol.errors import TemporarilyUnavailable
from gatepass.protocol.params import parse_scope
from gatepass.protocol.rfc8628_device import (
    DeviceAuthorizationResponse,
    build_device_response,
    check_device_client,
    device_scopes,
    display_user_code,
    new_user_code,
    normalize_user_code,
)
from gatepass.protocol.rfc8707_resource import check_resource
from gatepass.protocol.tokens import new_token
from gatepass.protocol.values import ClientInfo
from gatepass.services import audit
from gatepass.services.authorize import LogoutSessions
from gatepass.services.oauth.client_auth import ClientAuthenticator
from gatepass.services.oauth.stores import (
    DEVICE_PENDING,
    DeviceApprovalLogin,
    DeviceAuthorizationRecord,
    DeviceAuthorizationStore,
    NewDeviceAuthorization,
)
from gatepass.services.stores import ClientStore, Conflict, SessionRecord, UserRecord

#: A clash of user codes is rare (20^8 codes); a few draws make one that persists near certain.
_USER_CODE_DRAWS = 5


class DeviceCodeRefused(Exception):
    """A user code the page cannot act on; ``message`` says why in words for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DeviceRequest:
    """A waiting device, as the /device page shows it for the user to allow or deny."""

    authorization: DeviceAuthorizationRecord
    client: ClientInfo
    user_code: str


class DeviceAuthorizationEndpoint:
    def __init__(
        self,
        *,
        issuer: str,
        clients: ClientAuthenticator,
        store: DeviceAuthorizationStore,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
        ttl_seconds: int,
        interval_seconds: int,
        known_resources: tuple[str, ...] = (),
    ) -> None:
        self._issuer = issuer
        self._clients = clients
        self._store = store
        self._audit = audit_log
        self._clock = clock
        self._ttl_seconds = ttl_seconds
        self._interval_seconds = interval_seconds
        self._known_resources = known_resources

    async def start(
        self, form: Mapping[str, str], authorization: str | None, *, ip: str | None = None
    ) -> DeviceAuthorizationResponse:
        client = (await self._clients.authenticate_client(form, authorization)).info
        check_device_client(client)
        scopes = device_scopes(client, parse_scope(form.get("scope")))
        resource = check_resource(form.get("resource"), self._known_resources)
        for _ in range(_USER_CODE_DRAWS):
            device_code, user_code = new_token(), new_user_code(secrets.choice)
            now = self._clock()
            try:
                await self._store.add_device_authorization(
                    NewDeviceAuthorization(
                        device_code_digest=self._clients.digest(device_code),
                        user_code_digest=self._clients.digest(user_code),
                        client_id=client.client_id,
                        scopes=scopes,
                        resource=resource,
                        interval_seconds=self._interval_seconds,
                        created_at=now,
                        expires_at=now + timedelta(seconds=self._ttl_seconds),
                    )
                )
            except Conflict:
                continue
            await self._audit.record(
                audit.DEVICE_AUTHORIZATION_STARTED, client_id=client.client_id, ip=ip, scope=" ".join(scopes)
            )
            return build_device_response(
                self._issuer,
                device_code=device_code,
                user_code=user_code,
                expires_in=self._ttl_seconds,
                interval=self._interval_seconds,
            )
        raise TemporarilyUnavailable("No free user code could be drawn; try again")


class DeviceVerification:
    """The user's side: which device waits for a code, and the user's decision."""

    def __init__(
        self,
        *,
        clients: ClientStore,
        store: DeviceAuthorizationStore,
        digest: Callable[[str], str],
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
        logout_sessions: LogoutSessions,
    ) -> None:
        self._clients = clients
        self._store = store
        self._digest = digest
        self._logout_sessions = logout_sessions
        self._audit = audit_log
        self._clock = clock

    async def find(self, typed: str, user: UserRecord, *, ip: str | None = None) -> DeviceRequest:
        """The waiting device the code names; DeviceCodeRefused (and an audit event) otherwise."""
        code = normalize_user_code(typed)
        record = await self._store.get_by_user_code(self._digest(code)) if code is not None else None
        client = await self._clients.get_client(record.client_id) if record is not None else None
        if code is None or record is None or client is None or not client.info.is_enabled:
            await self._audit.record(audit.DEVICE_USER_CODE_FAILED, user_id=user.id, ip=ip)
            raise DeviceCodeRefused("That code matches no device waiting for you. Check it on the device's screen.")
        if record.status != DEVICE_PENDING:
            raise DeviceCodeRefused("That code was used already. Start again on the device for a new one.")
        if record.expires_at <= self._clock():
            raise DeviceCodeRefused("That code has expired. Start again on the device for a new one.")
        if not client.info.is_allowed_for(user.roles):
            raise DeviceCodeRefused(f"{client.info.app_name} is not allowed for your account.")
        return DeviceRequest(record, client.info, display_user_code(code))

    async def decide(
        self,
        request: DeviceRequest,
        user: UserRecord,
        login: SessionRecord,
        *,
        approve: bool,
        ip: str | None = None,
    ) -> None:
        """Record the decision and the login it came from; DeviceCodeRefused when another decision (or the
        expiry) came first.

        As at consent in the code flow, an approving session is joined (Back-Channel Logout §2.1): its sid
        goes into the device's id_token, and a device client with a logout URI is told when it ends.
        """
        sid = await self._logout_sessions.join(login, request.client) if approve else None
        decided_from = DeviceApprovalLogin(auth_time=login.auth_time, amr=login.amr, sid=sid)
        if not await self._store.decide(
            request.authorization.id, user_id=user.id, approve=approve, now=self._clock(), login=decided_from
        ):
            raise DeviceCodeRefused("That code was used already or has expired. Start again on the device.")
        await self._audit.record(
            audit.DEVICE_APPROVED if approve else audit.DEVICE_DENIED,
            user_id=user.id,
            client_id=request.client.client_id,
            ip=ip,
            scope=" ".join(request.authorization.scopes),
        )
