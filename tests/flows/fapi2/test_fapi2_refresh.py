"""Refresh tokens under the FAPI 2.0 Security Profile (§5.3.2.1): not rotated. A FAPI 2.0 client refreshes with
the same refresh token as often as it needs (a retry after a lost answer is no reuse), each time getting an access
token bound to its DPoP key on the same grant; revoking the refresh token ends the grant and every access token of
it. The same client without the profile still rotates, and its reuse still revokes the family (RFC 9700 §4.14.2)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from dpop_support import TOKEN, USERINFO, DpopKey, userinfo
from jar_support import SigningKey, client_assertion, library_client, new_key, register_with_keys, run_jar_client
from par_support import authorize_url, pushed_code_request, pushed_request_uri

from support.backchannel import REVOKE, assert_oauth_error
from support.browser import HttpBrowser
from support.clock_server import ClockServer
from support.pkce import Pkce
from support.server import REDIRECT_URI, LiveServer

FAPI2 = ("--auth-method", "private_key_jwt", "--profile", "fapi2")
#: The same client, held to no profile: private_key_jwt and DPoP-bound access tokens, as it chooses.
NOT_FAPI2 = ("--auth-method", "private_key_jwt", "--dpop-bound")


class KeyHolder:
    """A confidential client as it runs: its signing key for assertions, its DPoP key for proofs."""

    def __init__(
        self, server: LiveServer, client: dict[str, Any], key: SigningKey, *, now: Callable[[], int] | None = None
    ) -> None:
        self.server, self.client, self.key, self.dpop = server, client, key, DpopKey.new()
        #: The server's time in seconds, for the iat and exp of proofs and assertions.
        self.now = now or (lambda: int(time.time()))

    def authentication(self) -> dict[str, str]:
        client_id = self.client["client_id"]
        return {"client_id": client_id, **client_assertion(client_id, self.server.url, self.key, now=self.now())}

    async def tokens(self) -> dict[str, Any]:
        """Pushed request, login and consent, and the code redeemed with a DPoP proof."""
        pkce = Pkce.new()
        request_uri = await pushed_request_uri(
            self.server, self.client, {**pushed_code_request(pkce), **self.authentication()}
        )
        async with HttpBrowser(self.server, self.server.create_user()) as browser:
            outcome = await browser.authorize_url(authorize_url(self.client, request_uri))
        form = {
            "grant_type": "authorization_code",
            "code": outcome.code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": pkce.verifier,
        }
        response = await self.token(form)
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    async def token(self, form: dict[str, str]) -> httpx.Response:
        proof = self.dpop.proof("POST", self.server.url + TOKEN, iat=self.now())
        async with httpx.AsyncClient() as http:
            return await http.post(
                self.server.url + TOKEN, data={**form, **self.authentication()}, headers={"DPoP": proof}
            )

    async def refresh(self, refresh_token: str) -> httpx.Response:
        return await self.token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def library_refresh(self, refresh_token: str) -> dict[str, Any]:
        """The refresh as oauth4webapi makes and checks it (private_key_jwt, a DPoP proof of the same key)."""
        arguments = {
            **library_client(self.server, self.client, self.key, "ES256"),
            "refresh_token": refresh_token,
            "dpop_jwk": self.dpop.key.as_dict(private=True),
        }
        status, body = await run_jar_client("refresh", arguments)
        assert status == 0, body
        return body

    async def userinfo_status(self, access_token: str) -> int:
        proof = self.dpop.proof("GET", self.server.url + USERINFO, access_token=access_token, iat=self.now())
        async with httpx.AsyncClient() as http:
            return (await userinfo(http, self.server, access_token, proof=proof)).status_code

    async def revoke(self, token: str) -> None:
        async with httpx.AsyncClient() as http:
            response = await http.post(
                self.server.url + REVOKE,
                data={"token": token, "token_type_hint": "refresh_token", **self.authentication()},
            )
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return new_key("ES256", "fapi-refresh-key-1")


@pytest.mark.parametrize("access_token_format", ["opaque", "jwt"])
async def test_a_fapi2_client_refreshes_with_the_same_refresh_token_and_revoking_it_ends_every_token(
    server: LiveServer, tmp_path: Path, key: SigningKey, access_token_format: str
) -> None:
    client = register_with_keys(
        server, tmp_path, key, *FAPI2, "--access-token-format", access_token_format, name="FAPI Refresh App"
    )
    app = KeyHolder(server, client, key)
    first = await app.tokens()
    refresh_token = first["refresh_token"]

    # The first answer is lost on the way back, say: the client retries with the refresh token it holds.
    response = await app.refresh(refresh_token)
    assert response.status_code == 200, response.text
    # A real client library takes the answer as it is, and refreshes again with the same refresh token.
    refreshes = [response.json(), await app.library_refresh(refresh_token)]
    for body in refreshes:
        # RFC 6749 §5.1: refresh_token is optional; none is sent, so the client keeps the one it has.
        assert "refresh_token" not in body
        assert (body["token_type"].lower(), body["scope"]) == ("dpop", first["scope"])
        assert "id_token" in body
    refreshed = [body["access_token"] for body in refreshes]
    access_tokens = [first["access_token"], *refreshed]
    assert len(set(access_tokens)) == 3
    # No access token of the grant is retired by a refresh: each is valid until it expires.
    assert [await app.userinfo_status(token) for token in access_tokens] == [200, 200, 200]
    # Bound to the client's DPoP key: the same token as a bearer token is refused.
    async with httpx.AsyncClient() as http:
        as_bearer = await userinfo(http, server, refreshed[-1], scheme="Bearer", proof=None)
    assert as_bearer.status_code == 401

    await app.revoke(refresh_token)
    assert [await app.userinfo_status(token) for token in access_tokens] == [401, 401, 401]
    assert_oauth_error(await app.refresh(refresh_token), 400, "invalid_grant", "The refresh token has been revoked")


async def test_each_access_token_lives_its_own_lifetime_and_the_refresh_token_until_the_grant_expires(
    clock_server: ClockServer, tmp_path: Path, key: SigningKey
) -> None:
    client = register_with_keys(
        clock_server, tmp_path, key, *FAPI2, "--access-token-ttl", "600", "--refresh-token-ttl", "3600",
        name="FAPI Lifetimes App",
    )  # fmt: skip
    app = KeyHolder(clock_server, client, key, now=lambda: int(clock_server.clock().timestamp()))
    first = await app.tokens()
    clock_server.clock.advance(seconds=300)
    second = await app.refresh(first["refresh_token"])
    assert second.status_code == 200, second.text
    clock_server.clock.advance(seconds=301)
    # The first access token has run out; the one of the refresh has not, and the refresh token still works.
    assert [await app.userinfo_status(token) for token in (first["access_token"], second.json()["access_token"])] == [
        401,
        200,
    ]
    assert (await app.refresh(first["refresh_token"])).status_code == 200
    clock_server.clock.advance(seconds=3000)
    assert_oauth_error(
        await app.refresh(first["refresh_token"]),
        400,
        "invalid_grant",
        "The refresh token has expired; ask the user to authorize again",
    )


async def test_the_same_client_without_the_profile_rotates_and_its_reuse_revokes_the_family(
    server: LiveServer, tmp_path: Path, key: SigningKey
) -> None:
    client = register_with_keys(server, tmp_path, key, *NOT_FAPI2, name="Not FAPI Refresh App")
    app = KeyHolder(server, client, key)
    first = await app.tokens()
    response = await app.refresh(first["refresh_token"])
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    # Rotation supersedes the access token before it.
    assert [await app.userinfo_status(token) for token in (first["access_token"], second["access_token"])] == [
        401,
        200,
    ]
    assert_oauth_error(
        await app.refresh(first["refresh_token"]),
        400,
        "invalid_grant",
        "The refresh token was already used; every token of this grant is now revoked",
    )
    assert await app.userinfo_status(second["access_token"]) == 401
    assert_oauth_error(
        await app.refresh(second["refresh_token"]), 400, "invalid_grant", "The refresh token has been revoked"
    )
