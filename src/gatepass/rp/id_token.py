"""Validate an id_token received at the token endpoint (OpenID Connect Core 1.0 §3.1.3.7).

https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
Signature, iss, aud and exp go through gatepass.protocol.jose (joserfc with an explicit
algorithm list and claims registry); nonce, azp and at_hash are checked here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from gatepass.protocol.errors import InvalidRequest
from gatepass.protocol.jose import ASYMMETRIC_ALGORITHMS, verify_jwt
from gatepass.protocol.oidc.id_token import token_hash
from gatepass.protocol.tokens import constant_time_equals
from gatepass.rp.errors import IdTokenInvalid
from gatepass.rp.providers import ProviderEndpoints

_FIX = "Check that the provider is the one configured (issuer, client id), and that this server's clock is right."


def _header(id_token: str) -> dict[str, Any]:
    try:
        segment = id_token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (IndexError, ValueError):
        header = None
    if not isinstance(header, dict):
        raise IdTokenInvalid("The provider's id_token is not a JWT.", fix=_FIX)
    return header


def check_id_token(
    id_token: str,
    *,
    endpoints: ProviderEndpoints,
    client_id: str,
    client_secret: str | None,
    public_jwks: Sequence[Mapping[str, Any]],
    nonce: str,
    access_token: str | None,
    now: int,
) -> dict[str, Any]:
    """The id_token's claims when every check passes; IdTokenInvalid naming the failed check otherwise."""
    alg = _header(id_token).get("alg")
    # §3.1.3.7 (6-8): only the algorithms the provider announced and we accept; never "none".
    if alg not in endpoints.id_token_algorithms or alg not in (*ASYMMETRIC_ALGORITHMS, "HS256"):
        raise IdTokenInvalid(
            f"The id_token is signed with {alg!r}, which is not accepted for this provider "
            f"(accepted: {', '.join(endpoints.id_token_algorithms) or 'none'}).",
            fix="Configure the client at the provider to sign id_tokens with RS256 (on Gatepass: "
            "gatepass client update CLIENT_ID --id-token-alg RS256).",
        )
    if alg == "HS256" and not client_secret:
        raise IdTokenInvalid("The id_token is signed with HS256, but this provider has no client secret.", fix=_FIX)
    try:
        claims = verify_jwt(
            id_token,
            public_jwks=public_jwks,
            issuer=endpoints.issuer,
            audience=client_id,
            now=now,
            secret=client_secret if alg == "HS256" else None,
        )
    except InvalidRequest as exc:
        raise IdTokenInvalid(
            f"The id_token failed validation (signature, issuer, audience or expiry): {exc.detail or exc}.",
            fix=_FIX,
            detail=exc.detail,
        ) from None
    audience = claims.get("aud")
    # §3.1.3.7 (4-5): with several audiences, azp must be present and be us.
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise IdTokenInvalid("The id_token has several audiences and its azp is not this server's client id.", fix=_FIX)
    # §3.1.3.7 (11): the nonce sent in the authorization request must come back unchanged.
    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not constant_time_equals(token_nonce, nonce):
        raise IdTokenInvalid("The id_token's nonce does not match the one this login sent.", fix=_FIX)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise IdTokenInvalid("The id_token has no subject (sub).", fix="Report this to the provider's administrator.")
    at_hash = claims.get("at_hash")
    # §3.2.2.9: at_hash, when present, binds the access token to this id_token.
    if at_hash is not None and access_token is not None and at_hash != token_hash(access_token, alg):
        raise IdTokenInvalid("The id_token's at_hash does not match the access token.", fix=_FIX)
    return claims
