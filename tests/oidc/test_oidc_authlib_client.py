"""A relying party that knows only the issuer URL: Authlib's OAuth 2 client does discovery, code + PKCE,
then Authlib's OpenID Connect claims validate the id_token, on every database backend.
"""

from __future__ import annotations

import warnings
from typing import Any

import httpx
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet
from oidc_support import ALL_SCOPES, DISCOVERY, half_hash

from support.browser import HttpBrowser
from support.provision import World
from support.server import REDIRECT_URI

with warnings.catch_warnings():
    # Authlib 1.9 announces, once at import, that it wants the httpx2 package instead of httpx.
    # Its deprecate module puts an "always" filter first when imported, so the "ignore" goes after it.
    import authlib.deprecate  # noqa: F401

    warnings.filterwarnings("ignore", message="The httpx module is deprecated", category=DeprecationWarning)
    from authlib.common.security import generate_token
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from authlib.oidc.core import CodeIDToken


async def test_authlib_client_logs_in_with_discovery_and_pkce_and_reads_roles(oidc_world: World) -> None:
    server, user, registered = oidc_world.server, oidc_world.user("alice"), oidc_world.client("web")
    issuer = server.url

    async with httpx.AsyncClient() as http:
        metadata: dict[str, Any] = (await http.get(issuer + DISCOVERY)).json()
        jwks: dict[str, Any] = (await http.get(metadata["jwks_uri"])).json()
    assert metadata["issuer"] == issuer

    client = AsyncOAuth2Client(
        client_id=registered["client_id"],
        client_secret=registered["client_secret"],
        scope=ALL_SCOPES,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    async with client:
        verifier, nonce = generate_token(48), generate_token(20)
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        async with HttpBrowser(server, user) as browser:
            outcome = await browser.authorize_url(url)
        callback = outcome.location
        # RFC 9207: the response names the issuer the client started with.
        assert outcome.params["iss"] == metadata["issuer"]
        token = await client.fetch_token(
            metadata["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier
        )
        assert {"access_token", "id_token", "refresh_token"} <= set(token)

        decoded = jose_jwt.decode(
            token["id_token"],
            KeySet.import_key_set(jwks),  # type: ignore[arg-type]
            algorithms=[alg for alg in metadata["id_token_signing_alg_values_supported"] if alg != "HS256"],
        )
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {"iss": {"essential": True, "value": metadata["issuer"]}},
            {"nonce": nonce, "client_id": registered["client_id"], "access_token": token["access_token"]},
        )
        claims.validate()  # iss, aud, exp, iat, nonce, azp, auth_time, at_hash (by Authlib)
        assert claims["at_hash"] == half_hash(token["access_token"], decoded.header["alg"])
        assert claims["sub"] == user["sub"]
        assert sorted(claims["roles"]) == sorted(user["roles"])

        userinfo = (await client.get(metadata["userinfo_endpoint"])).json()
    assert userinfo["sub"] == claims["sub"]
    assert sorted(userinfo["roles"]) == sorted(user["roles"])
    assert userinfo["email"] == user["email"]
