"""The client credentials grant: a confidential client acting as its service user (RFC 6749 §4.4)."""

from __future__ import annotations

from collections.abc import Mapping

from gatepass.protocol.errors import UnauthorizedClient
from gatepass.protocol.params import parse_scope
from gatepass.protocol.rfc6749.client_credentials import check_client_credentials_grant
from gatepass.protocol.rfc8707_resource import check_resource
from gatepass.protocol.values import GRANT_CLIENT_CREDENTIALS, IssuedTokens
from gatepass.services.oauth.issuance import TokenIssuer
from gatepass.services.stores import ClientRecord, UserStore


class ClientCredentialsGrant:
    grant_type = GRANT_CLIENT_CREDENTIALS
    parameters = frozenset({"scope", "resource"})

    def __init__(self, *, issuer: TokenIssuer, users: UserStore, known_resources: tuple[str, ...] = ()) -> None:
        self._issuer = issuer
        self._users = users
        self._known_resources = known_resources

    async def handle(
        self, client: ClientRecord, form: Mapping[str, str], ip: str | None, *, dpop_jkt: str | None = None
    ) -> IssuedTokens:
        scopes = check_client_credentials_grant(client.info, parse_scope(form.get("scope")))
        user = await self._users.get_user(client.info.service_user_id) if client.info.service_user_id else None
        if user is None or not user.is_enabled:
            raise UnauthorizedClient("The service user of this client is missing or disabled")
        # RFC 6749 §4.4.3: no refresh token for client credentials.
        return await self._issuer.issue(
            client,
            user,
            GRANT_CLIENT_CREDENTIALS,
            scopes,
            resource=check_resource(form.get("resource"), self._known_resources),
            with_refresh=False,
            with_id_token=False,
            dpop_jkt=dpop_jkt,
            ip=ip,
        )
