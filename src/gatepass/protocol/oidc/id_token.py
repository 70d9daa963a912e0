"""id_token claims (OpenID Connect Core 1.0 §2, §3.1.3.6, §3.2.2.10).

https://openid.net/specs/openid-connect-core-1_0.html
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

from gatepass.protocol.oidc.authentication_context import acr_of, amr_claim


def token_hash(value: str, alg: str) -> str:
    """at_hash / c_hash: the left half of the hash that matches the signing algorithm (§3.1.3.6).

    SHA-256 for RS256, ES256 and HS256; SHA-512 for EdDSA with Ed25519 (as its signature uses).
    """
    digest = (hashlib.sha512 if alg == "EdDSA" else hashlib.sha256)(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def build_id_token_claims(
    *,
    issuer: str,
    subject: str,
    client_id: str,
    now: datetime,
    ttl_seconds: int,
    auth_time: datetime | None,
    nonce: str | None,
    alg: str,
    access_token: str | None,
    code: str | None,
    user_claims: dict[str, Any],
    amr: tuple[str, ...] = (),
) -> dict[str, Any]:
    issued_at = int(now.timestamp())
    claims: dict[str, Any] = {**user_claims}
    claims.update(
        {
            "iss": issuer,
            "sub": subject,
            "aud": client_id,
            # §2: azp is the party the token was issued to; with one audience it equals aud.
            "azp": client_id,
            "iat": issued_at,
            "exp": issued_at + ttl_seconds,
        }
    )
    if auth_time is not None:
        claims["auth_time"] = int(auth_time.timestamp())
    if amr:
        # §2: how the user authenticated, for a login the id_token stands for (not a refresh without one).
        claims["amr"] = amr_claim(amr)
        claims["acr"] = acr_of(amr)
    if nonce is not None:
        claims["nonce"] = nonce
    if access_token is not None:
        claims["at_hash"] = token_hash(access_token, alg)
    if code is not None:
        claims["c_hash"] = token_hash(code, alg)
    return claims
