"""Legacy implicit responses: tokens in the authorization redirect itself (RFC 6749 §4.2.2, OIDC Core §3.2.2.5).

Only clients that registered the implicit grant get here (services/authorize.py decides); no
refresh token is ever issued this way.
"""

from __future__ import annotations

from datetime import datetime

from gatepass.protocol.values import GRANT_IMPLICIT, AuthorizationRequest
from gatepass.services.oauth.issuance import IdTokenIssuer, TokenIssuer
from gatepass.services.stores import ClientRecord, UserRecord


class ImplicitIssuer:
    def __init__(self, *, issuer: TokenIssuer, id_tokens: IdTokenIssuer) -> None:
        self._issuer = issuer
        self._id_tokens = id_tokens

    async def issue_implicit(
        self,
        client: ClientRecord,
        request: AuthorizationRequest,
        user: UserRecord,
        auth_time: datetime,
        sid: str | None = None,
        amr: tuple[str, ...] = (),
    ) -> dict[str, str]:
        """The response parameters for ``token``, ``id_token`` or ``id_token token``."""
        response: dict[str, str] = {}
        access_token: str | None = None
        response_types = request.response_type.split(" ")
        if "token" in response_types:
            issued = await self._issuer.issue(
                client,
                user,
                GRANT_IMPLICIT,
                request.scopes,
                nonce=request.nonce,
                auth_time=auth_time,
                resource=request.resource,
                with_refresh=False,
                with_id_token=False,
            )
            access_token = issued.access_token
            response.update(
                access_token=issued.access_token,
                token_type="Bearer",
                expires_in=str(issued.expires_in),
                scope=" ".join(issued.scopes),
            )
        if "id_token" in response_types:
            # OIDC Core §3.2.2.10: at_hash only when an access token is returned beside it.
            response["id_token"] = await self._id_tokens.issue_id_token(
                client,
                user,
                request.scopes,
                nonce=request.nonce,
                auth_time=auth_time,
                access_token=access_token,
                sid=sid,
                amr=amr,
            )
        return response
