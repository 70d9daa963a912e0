"""A device's tokens carry the login of the browser session that approved it, as a code's tokens do
(OIDC Core §2: amr, acr, auth_time; Back-Channel Logout §2.1: sid).

Chromium logs in, the clock moves on, and only then does the user approve at /device: the id_token's
auth_time is the login's, not the approval's. A refreshed id_token keeps the same login, and the device's
JWT access token (RFC 9068 §2.2.1) carries auth_time too.
"""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from device_support import DEVICE_GRANT, DeviceClient, unique_address

from support.backchannel import Backchannel
from support.clock_server import ClockServer

#: Between the login and the approval, long enough that the two cannot be mistaken for each other.
_APPROVED_AFTER_SECONDS = 120


def _verified(server: ClockServer, token: str, **checks: Any) -> dict[str, Any]:
    """PyJWT against the JWKS; the server's clock runs ahead of the real one by what the tests moved it."""
    key = jwt.PyJWKClient(f"{server.url}/.well-known/jwks.json", cache_jwk_set=False).get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["RS256"], issuer=server.url, leeway=server.clock.moved_seconds + 5, **checks
    )
    return claims


@pytest.mark.browser
async def test_the_device_id_token_names_the_approving_login_and_keeps_it_on_refresh(
    clock_server: ClockServer, page: Any, http: httpx.AsyncClient
) -> None:
    server = clock_server
    client = server.create_client(
        *("--public", "--grant-type", DEVICE_GRANT, "--grant-type", "refresh_token"),
        *("--access-token-format", "jwt"),
        name="Kitchen Display",
    )
    device = DeviceClient(http, server.url, client)
    codes = await device.codes("openid profile")
    user = server.create_user()

    await page.set_extra_http_headers({"X-Forwarded-For": unique_address()})
    await page.goto(codes["verification_uri"])
    await page.fill("#email", user["email"])
    await page.fill("#password", user["password"])
    logging_in_from = int(server.clock().timestamp())
    # The login form's own button: a shared server may list providers' buttons beside it.
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_selector("#user_code")
    logged_in_by = int(server.clock().timestamp()) + 1

    server.clock.advance(seconds=_APPROVED_AFTER_SECONDS)
    await page.fill("#user_code", codes["user_code"])
    await page.click("form[action='/device'] button[type=submit]")
    approving_from = int(server.clock().timestamp())
    await page.click("button[value=allow]")
    await page.wait_for_selector("text=Device connected")

    server.clock.advance(seconds=codes["interval"])
    tokens = await device.poll_once(codes["device_code"])
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    id_token = _verified(server, body["id_token"], audience=client["client_id"])
    assert id_token["sub"] == user["sub"]
    assert (id_token["amr"], id_token["acr"]) == (["pwd"], "urn:gatepass:acr:pwd")
    assert len(id_token["sid"]) == 32
    # OIDC Core §2: auth_time is when the user logged in; the approval came minutes later.
    assert logging_in_from <= id_token["auth_time"] <= logged_in_by < approving_from

    access = _verified(server, body["access_token"], options={"verify_aud": False})
    assert access["auth_time"] == id_token["auth_time"]

    refreshed = await Backchannel(http, server).refreshed(client, body["refresh_token"])
    again = _verified(server, refreshed["id_token"], audience=client["client_id"])
    assert {claim: again[claim] for claim in ("amr", "acr", "sid", "auth_time")} == {
        claim: id_token[claim] for claim in ("amr", "acr", "sid", "auth_time")
    }
