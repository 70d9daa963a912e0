"""The token endpoint (RFC 6749 §3.2): authenticate the client, then hand the request to its grant.

The steps, in order (each raises or returns):
1. the grant_type, among the registered grants (``unsupported_grant_type``);
2. the client, authenticated as it registered (``invalid_client``);
3. the client may use this grant (``unauthorized_client``);
4. no parameter that belongs to another grant (``invalid_request`` naming it);
5. the DPoP proof, when there is one or the client must send one (RFC 9449 §5), checked and used up;
6. the grant's ``handle()``, which issues the tokens (bound to the proof's key).

Parameters no grant reads are ignored, as RFC 6749 §3.2 requires of unrecognized ones: clients send
extensions (``state``, ``audience``, ``client_assertion_type``) that must not break a token request.
A parameter another grant reads is a mistake worth naming instead: a ``code`` sent with a refresh is
never what the client meant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from gatepass.protocol.errors import InvalidDpopProof, InvalidRequest, UnauthorizedClient, UnsupportedGrantType
from gatepass.protocol.params import require
from gatepass.protocol.values import IssuedTokens
from gatepass.services.oauth.client_auth import ClientAuthenticator
from gatepass.services.oauth.dpop import DpopVerifier
from gatepass.services.stores import ClientRecord


class Grant(Protocol):
    @property
    def grant_type(self) -> str:
        """The grant_type value this grant answers (RFC 6749 §4, or an extension URI)."""
        ...

    @property
    def parameters(self) -> frozenset[str]:
        """The form parameters it reads, beside grant_type and the client's credentials."""
        ...

    async def handle(
        self, client: ClientRecord, form: Mapping[str, str], ip: str | None, *, dpop_jkt: str | None = None
    ) -> IssuedTokens:
        """Tokens for an authenticated client allowed this grant, bound to the DPoP key of this thumbprint when
        given (RFC 9449 §5); raises an OAuthError otherwise."""
        ...


class TokenEndpoint:
    def __init__(self, *, clients: ClientAuthenticator, grants: Sequence[Grant], dpop: DpopVerifier) -> None:
        self._clients = clients
        self._dpop = dpop
        self._grants = {grant.grant_type: grant for grant in grants}
        self._grant_parameters = frozenset(name for grant in grants for name in grant.parameters)

    async def token(
        self,
        form: Mapping[str, str],
        authorization: str | None,
        *,
        ip: str | None = None,
        dpop_headers: Sequence[str] = (),
        uri: str = "",
    ) -> IssuedTokens:
        """``dpop_headers`` are the request's DPoP headers, and ``uri`` the address it was sent to (RFC 9449 §4.3)."""
        grant = self._grant_for(require(form, "grant_type"))
        client = await self._clients.authenticate_client(form, authorization)
        check_client_may_use(client, grant)
        self._check_parameters(form, grant)
        proof = await self._dpop.check(dpop_headers, method="POST", uri=uri)
        if proof is None and client.info.dpop_bound_access_tokens:
            # RFC 9449 §5.2: such a client's token requests without a proof are refused.
            raise InvalidDpopProof("This client must send a DPoP proof with every token request")
        return await grant.handle(client, form, ip, dpop_jkt=proof.jkt if proof is not None else None)

    def _grant_for(self, grant_type: str) -> Grant:
        grant = self._grants.get(grant_type)
        if grant is None:
            *others, last = self._grants
            supported = f"{', '.join(others)} or {last}" if others else last
            raise UnsupportedGrantType(f"grant_type '{grant_type}' is not supported; use {supported}")
        return grant

    def _check_parameters(self, form: Mapping[str, str], grant: Grant) -> None:
        misplaced = sorted((self._grant_parameters - grant.parameters).intersection(form))
        if misplaced:
            raise InvalidRequest(
                f"Parameter '{misplaced[0]}' is not used by the {grant.grant_type} grant; leave it out"
            )


def check_client_may_use(client: ClientRecord, grant: Grant) -> None:
    """Each client uses only the grants it registered (RFC 6749 §5.2 ``unauthorized_client``)."""
    if grant.grant_type not in client.info.grant_types:
        raise UnauthorizedClient(f"This client is not allowed to use the {grant.grant_type} grant")
