"""A device approved at /device from a two-factor login: its id_token says so (amr with mfa, the two-factor
acr), as one from the authorization code flow does (OIDC Core §2, RFC 8176 §2)."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from device_support import DEVICE_GRANT, DeviceClient, unique_address
from two_factor_support import code_at, confirm_enrolment, enter_code, log_in_with_password

from support.clock_server import ClockServer


@pytest.mark.browser
async def test_a_device_approved_after_a_totp_login_gets_an_mfa_id_token(
    sqlite_clock_server: ClockServer, page: Any, http: httpx.AsyncClient
) -> None:
    server = sqlite_clock_server
    user = server.create_user()
    await page.set_extra_http_headers({"X-Forwarded-For": unique_address()})
    await log_in_with_password(page, server, user)
    await page.click("text=Set up an authenticator app")
    secret, _ = await confirm_enrolment(page, server)
    await page.context.clear_cookies()
    server.clock.advance(seconds=30)

    client = server.create_client("--public", "--grant-type", DEVICE_GRANT, name="Two-Factor Terminal")
    device = DeviceClient(http, server.url, client)
    codes = await device.codes("openid")
    await page.goto(codes["verification_uri_complete"])
    await page.fill("#email", user["email"])
    await page.fill("#password", user["password"])
    async with page.expect_navigation():
        await page.click("form[action='/login'] button[type=submit]")
    await enter_code(page, code_at(secret, server))
    await page.click("button[value=allow]")
    await page.wait_for_selector("text=Device connected")

    server.clock.advance(seconds=codes["interval"])
    tokens = await device.poll_once(codes["device_code"])
    assert tokens.status_code == 200, tokens.text
    id_token = tokens.json()["id_token"]
    key = jwt.PyJWKClient(f"{server.url}/.well-known/jwks.json", cache_jwk_set=False).get_signing_key_from_jwt(id_token)
    claims = jwt.decode(
        id_token,
        key.key,
        algorithms=["RS256"],
        audience=client["client_id"],
        issuer=server.url,
        leeway=server.clock.moved_seconds + 5,
    )
    assert (claims["amr"], claims["acr"]) == (["pwd", "otp", "mfa"], "urn:gatepass:acr:mfa")
