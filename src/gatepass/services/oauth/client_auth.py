"""The first step of every back-channel request: which client is calling (RFC 6749 §2.3).

The token, PAR, device authorization, revocation and introspection endpoints share it, and with it the
digest under which a token or code the client presents is stored. A client authenticates with its secret,
or with a JWT it signed (RFC 7523 §2.2), which is accepted once: its jti is remembered until it expires.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from gatepass.protocol.errors import InvalidClient
from gatepass.protocol.fapi2_security_profile import assertion_algorithms
from gatepass.protocol.rfc6749.client_auth import (
    AUTHENTICATION_FAILED,
    check_client_authentication,
    parse_client_credentials,
)
from gatepass.protocol.rfc7523_client_assertion import (
    LEEWAY_SECONDS,
    ClientAssertion,
    UnknownSigningKey,
    VerifiedAssertion,
    parse_client_assertion,
    verify_client_assertion,
)
from gatepass.protocol.tokens import token_digest
from gatepass.protocol.values import AUTH_CLIENT_SECRET_JWT, AUTH_PRIVATE_KEY_JWT
from gatepass.services.crypto import InstanceKeys
from gatepass.services.oauth.client_keys import ClientKeys
from gatepass.services.stores import ClientAssertionStore, ClientRecord, ClientStore

#: OpenID Connect Core §9 says the token endpoint's URL, RFC 7523 the issuer: an assertion naming any of
#: this server's back-channel endpoints is meant for this server.
_BACKCHANNEL_PATHS = ("/oauth/token", "/oauth/par", "/oauth/device_authorization", "/oauth/revoke", "/oauth/introspect")


class ClientAuthenticator:
    def __init__(
        self,
        clients: ClientStore,
        keys: InstanceKeys,
        *,
        issuer: str,
        assertions: ClientAssertionStore,
        client_keys: ClientKeys,
        clock: Callable[[], datetime],
    ) -> None:
        self._clients = clients
        self._keys = keys
        self._audiences = (issuer, *(f"{issuer}{path}" for path in _BACKCHANNEL_PATHS))
        self._assertions = assertions
        self._client_keys = client_keys
        self._clock = clock

    def digest(self, token: str) -> str:
        """The stored form of a token or code: only its digest is ever written or looked up."""
        return token_digest(self._keys.digest_key, token)

    async def authenticate_client(self, form: Mapping[str, str], authorization: str | None) -> ClientRecord:
        """RFC 6749 §2.3 client authentication, as the client registered it; raises InvalidClient otherwise."""
        assertion = parse_client_assertion(form)
        if assertion is not None:
            if authorization and authorization[:6].lower() == "basic ":
                raise InvalidClient("Send a client_assertion or HTTP Basic credentials, not both (RFC 6749 §2.3)")
            return await self._authenticate_by_assertion(assertion)
        credentials = parse_client_credentials(authorization, form)
        record = await self._clients.get_client(credentials.client_id)
        check_client_authentication(credentials, record.info if record else None, self._keys.digest_key)
        assert record is not None
        return record

    async def _authenticate_by_assertion(self, assertion: ClientAssertion) -> ClientRecord:
        record = await self._clients.get_client(assertion.client_id)
        if record is None:
            raise InvalidClient(AUTHENTICATION_FAILED, detail=f"unknown client_id={assertion.client_id}")
        verified = await self._verify(assertion, record)
        if not record.info.is_enabled:
            raise InvalidClient("Client authentication failed: the client is disabled")
        kept_until = datetime.fromtimestamp(verified.expires_at + LEEWAY_SECONDS, UTC)
        if not await self._assertions.use_assertion(record.info.client_id, self.digest(verified.jti), kept_until):
            raise InvalidClient(
                "This client_assertion was used already: sign a new one, with a new jti, for each request"
            )
        return record

    async def _verify(self, assertion: ClientAssertion, record: ClientRecord) -> VerifiedAssertion:
        info = record.info
        now = int(self._clock().timestamp())
        profile_algorithms = assertion_algorithms(info)
        if info.token_endpoint_auth_method == AUTH_CLIENT_SECRET_JWT:
            secret = self._kept_secret(record)
            return verify_client_assertion(assertion, client=info, audiences=self._audiences, now=now, secret=secret)
        if info.token_endpoint_auth_method != AUTH_PRIVATE_KEY_JWT:
            return verify_client_assertion(assertion, client=info, audiences=self._audiences, now=now)
        public_jwks = await self._client_keys.public_jwks(info)
        try:
            return verify_client_assertion(
                assertion,
                client=info,
                audiences=self._audiences,
                now=now,
                public_jwks=public_jwks,
                profile_algorithms=profile_algorithms,
            )
        except UnknownSigningKey:
            if info.jwks_uri is None or info.jwks is not None:
                raise
        public_jwks = await self._client_keys.public_jwks(info, reread=True)
        return verify_client_assertion(
            assertion,
            client=info,
            audiences=self._audiences,
            now=now,
            public_jwks=public_jwks,
            profile_algorithms=profile_algorithms,
        )

    def _kept_secret(self, record: ClientRecord) -> str | None:
        return kept_secret(self._keys, record)


def kept_secret(keys: InstanceKeys, record: ClientRecord) -> str | None:
    """The client's secret in clear, where it is kept (encrypted) for HMAC-signed JWTs; None otherwise."""
    if record.secret_encrypted is None:
        return None
    try:
        return keys.decrypt(record.secret_encrypted)
    except ValueError:
        return None
