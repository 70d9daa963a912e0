"""Dynamic client registration (RFC 7591) and client configuration (RFC 7592).

Off by default. When on, either open to anyone (the web layer rate-limits it per IP) or only
with an initial access token an admin issued. A registered client manages its own registration
with the registration access token it received, which is stored only as a digest.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, Protocol

from gatepass.protocol.errors import InvalidClientMetadata, InvalidToken
from gatepass.protocol.params import parse_scope
from gatepass.protocol.rfc7591_registration import RegistrationRequest, parse_registration
from gatepass.protocol.tokens import constant_time_equals, new_token, token_digest
from gatepass.protocol.values import ClientInfo
from gatepass.services import audit
from gatepass.services.accounts import AccountError
from gatepass.services.clients import ClientChanges, ClientService
from gatepass.services.crypto import InstanceKeys
from gatepass.services.runtime import RuntimeSettingsService
from gatepass.services.stores import ClientStore


class RegistrationStore(Protocol):
    async def add_initial_token(
        self, token_digest: str, description: str, now: datetime, expires_at: datetime, uses: int
    ) -> None: ...
    async def consume_initial_token(self, token_digest: str, now: datetime) -> bool: ...


@contextlib.contextmanager
def _as_client_metadata_error() -> Iterator[None]:
    """The client rules (services/clients.py) refuse what registration let through: RFC 7591 §3.2.2's error."""
    try:
        yield
    except AccountError as exc:
        where = f"{exc.field}: " if exc.field else ""
        raise InvalidClientMetadata(f"{where}{exc}") from None


class RegistrationDisabled(Exception):
    """Registration is switched off: the endpoint does not exist (404), as in Frappe."""


class RegistrationService:
    def __init__(
        self,
        *,
        issuer: str,
        clients: ClientService,
        client_store: ClientStore,
        store: RegistrationStore,
        runtime: RuntimeSettingsService,
        keys: InstanceKeys,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
    ) -> None:
        self._issuer = issuer
        self._clients = clients
        self._client_store = client_store
        self._store = store
        self._runtime = runtime
        self._keys = keys
        self._audit = audit_log
        self._clock = clock

    async def mode(self) -> str:
        return str(await self._runtime.get("registration_mode"))

    async def issue_initial_token(self, description: str, *, ttl_seconds: int, uses: int) -> str:
        token = new_token()
        now = self._clock()
        await self._store.add_initial_token(
            token_digest(self._keys.digest_key, token),
            description[:280],
            now,
            now + timedelta(seconds=ttl_seconds),
            uses,
        )
        return token

    def _digest(self, token: str) -> str:
        return token_digest(self._keys.digest_key, token)

    async def _allowed_scopes(self) -> tuple[str, ...]:
        return parse_scope(str(await self._runtime.get("registration_scopes")))

    async def register(self, body: object, *, initial_token: str | None, ip: str | None) -> dict[str, Any]:
        mode = await self.mode()
        if mode == "off":
            raise RegistrationDisabled()
        if mode == "token" and initial_token is None:
            raise InvalidToken("This server registers clients only with an initial access token (Bearer)")
        # Metadata that will be refused must not cost a use of the initial access token: check it first.
        request = parse_registration(body, allowed_scopes=await self._allowed_scopes())
        if (
            mode == "token"
            and initial_token is not None
            and not await self._store.consume_initial_token(self._digest(initial_token), self._clock())
        ):
            raise InvalidToken("The initial access token is invalid, expired or used up")
        with _as_client_metadata_error():
            info, secret = await self._clients.create(self._changes(request))
        registration_token = new_token()
        info = dataclasses.replace(
            info,
            is_dynamically_registered=True,
            contacts=request.contacts,
            registration_token_digest=self._digest(registration_token),
        )
        created = await self._client_store.get_client(info.client_id)
        # client_secret_jwt checks assertions with the secret itself, kept encrypted: keep it so.
        kept_secret = created.secret_encrypted if created else None
        await self._client_store.update_client(info, kept_secret, self._clock())
        await self._audit.record("client.registered", client_id=info.client_id, ip=ip, mode=mode)
        record = await self._client_store.get_client(info.client_id)
        assert record is not None
        response = self._response(record.info, int(record.created_at.timestamp()))
        if secret is not None:
            response["client_secret"] = secret
            response["client_secret_expires_at"] = 0
        response["registration_access_token"] = registration_token
        return response

    @staticmethod
    def _changes(request: RegistrationRequest) -> ClientChanges:
        return ClientChanges(
            app_name=request.client_name,
            client_type="public" if request.is_public else "confidential",
            token_endpoint_auth_method=request.token_endpoint_auth_method,
            redirect_uris=request.redirect_uris,
            scopes=request.scopes,
            grant_types=request.grant_types,
            response_types=request.response_types,
            client_uri=request.client_uri,
            logo_uri=request.logo_uri,
            require_pushed_authorization_requests=request.require_pushed_authorization_requests,
            subject_type=request.subject_type,
            # "" unsets: an update that leaves it out drops it (RFC 7592 §2.2 replaces all metadata).
            sector_identifier_uri=request.sector_identifier_uri or "",
            dpop_bound_access_tokens=request.dpop_bound_access_tokens,
            access_token_format=request.access_token_format or "",
            require_signed_request_object=request.require_signed_request_object,
            # "" unsets: the registration as sent is the whole of it.
            request_object_signing_alg=request.request_object_signing_alg or "",
            jwks=request.jwks,
            jwks_uri=request.jwks_uri,
            token_endpoint_auth_signing_alg=request.token_endpoint_auth_signing_alg,
            # "" unsets, as above: the registration as sent is the whole of it.
            backchannel_logout_uri=request.backchannel_logout_uri or "",
            backchannel_logout_session_required=request.backchannel_logout_session_required,
        )

    def _response(self, info: ClientInfo, issued_at: int) -> dict[str, Any]:
        """RFC 7591 §3.2.1: the metadata as registered, which may differ from what was asked."""
        body: dict[str, Any] = {
            "client_id": info.client_id,
            "client_id_issued_at": issued_at,
            "client_name": info.app_name,
            "redirect_uris": list(info.redirect_uris),
            "grant_types": list(info.grant_types),
            "response_types": list(info.response_types),
            "token_endpoint_auth_method": info.token_endpoint_auth_method,
            "scope": " ".join(info.scopes),
            "require_pushed_authorization_requests": info.require_pushed_authorization_requests,
            "subject_type": info.subject_type,
            "dpop_bound_access_tokens": info.dpop_bound_access_tokens,
            "require_signed_request_object": info.require_signed_request_object,
            "registration_client_uri": f"{self._issuer}/oauth/register/{info.client_id}",
        }
        for key, value in (
            ("client_uri", info.client_uri),
            ("logo_uri", info.logo_uri),
            ("sector_identifier_uri", info.sector_identifier_uri),
            ("backchannel_logout_uri", info.backchannel_logout_uri),
            ("request_object_signing_alg", info.request_object_signing_alg),
            ("access_token_format", info.access_token_format),
        ):
            if value:
                body[key] = value
        if info.backchannel_logout_uri:
            body["backchannel_logout_session_required"] = info.backchannel_logout_session_required
        if info.contacts:
            body["contacts"] = list(info.contacts)
        assertion_metadata: dict[str, Any] = {
            "jwks": info.jwks,
            "jwks_uri": info.jwks_uri,
            "token_endpoint_auth_signing_alg": info.token_endpoint_auth_signing_alg,
        }
        body.update({name: setting for name, setting in assertion_metadata.items() if setting is not None})
        return body

    async def _own(self, client_id: str, registration_token: str | None) -> ClientInfo:
        record = await self._client_store.get_client(client_id)
        expected = record.info.registration_token_digest if record else None
        presented = self._digest(registration_token or "")
        # RFC 7592 §2: the same answer for an unknown client and a wrong token.
        if (
            record is None
            or expected is None
            or not registration_token
            or not constant_time_equals(presented, expected)
        ):
            raise InvalidToken("The registration access token is invalid for this client")
        return record.info

    async def read(self, client_id: str, registration_token: str | None) -> dict[str, Any]:
        info = await self._own(client_id, registration_token)
        record = await self._client_store.get_client(client_id)
        assert record is not None
        return self._response(info, int(record.created_at.timestamp()))

    async def update(self, client_id: str, registration_token: str | None, body: object) -> dict[str, Any]:
        info = await self._own(client_id, registration_token)
        if isinstance(body, dict) and body.get("client_id", client_id) != client_id:
            raise InvalidClientMetadata("client_id in the body must be this client's")
        request = parse_registration(body, allowed_scopes=await self._allowed_scopes())
        if request.token_endpoint_auth_method != info.token_endpoint_auth_method:
            raise InvalidClientMetadata("token_endpoint_auth_method cannot change; register a new client instead")
        with _as_client_metadata_error():
            await self._clients.update(
                client_id,
                dataclasses.replace(self._changes(request), client_type=None, token_endpoint_auth_method=None),
            )
        if set(request.redirect_uris) - set(info.redirect_uris):
            # RFC 9700 §4.11.2: a new redirect URI is unproven; errors go to a page until a user completes
            # an authorization again, or one use would make any later URI an open redirector.
            await self._client_store.forget_completed_authorization(client_id)
        return await self.read(client_id, registration_token)

    async def delete(self, client_id: str, registration_token: str | None) -> None:
        await self._own(client_id, registration_token)
        await self._clients.delete(client_id)
