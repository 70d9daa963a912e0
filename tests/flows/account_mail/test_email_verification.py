"""Verifying an address, in Chromium: the link sent from the account page arrives by SMTP, and once opened the
userinfo and id_token of the user's tokens say email_verified true; the link works once."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jwt
import pytest
from account_pages import log_in
from flows_support import obtain_tokens
from smtp_catcher import Mailbox

from gatepass.services.mail_links import USED_LINK
from support.backchannel import Backchannel
from support.clock_server import ClockServer
from support.server import PASSWORD, unique_email

pytestmark = pytest.mark.browser

CONFIRM = "Confirm your email address"


def _unverified_user(server: ClockServer) -> dict[str, Any]:
    """Made by an admin who has not checked the address (`gatepass user add --unverified-email`)."""
    email = unique_email("unverified")
    made = server.cli("user", "add", email, "--password-stdin", "--unverified-email", "--json", input=PASSWORD + "\n")
    user: dict[str, Any] = json.loads(made.stdout)
    return {**user, "password": PASSWORD}


async def _userinfo(http: httpx.AsyncClient, server: ClockServer, access_token: str) -> dict[str, Any]:
    response = await http.get(f"{server.url}/oauth/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    assert response.status_code == 200, response.text
    claims: dict[str, Any] = response.json()
    return claims


def _id_token_claims(server: ClockServer, id_token: str, client_id: str) -> dict[str, Any]:
    """Checked as a relying party would, against the published keys (the server's clock may run ahead)."""
    signing_key = jwt.PyJWKClient(f"{server.url}/.well-known/jwks.json").get_signing_key_from_jwt(id_token)
    claims: dict[str, Any] = jwt.decode(
        id_token, signing_key.key, algorithms=["RS256"], audience=client_id, issuer=server.url,
        leeway=server.clock.moved_seconds + 60,
    )  # fmt: skip
    return claims


async def test_the_link_from_the_account_page_makes_email_verified_true(
    mail_server: ClockServer, mailbox: Mailbox, page: Any, http: httpx.AsyncClient
) -> None:
    user = _unverified_user(mail_server)
    client = mail_server.create_client()
    api = Backchannel(http, mail_server)
    before = await obtain_tokens(api, user, client, scope="openid email")
    assert (await _userinfo(http, mail_server, before["access_token"]))["email_verified"] is False
    assert _id_token_claims(mail_server, before["id_token"], client["client_id"])["email_verified"] is False

    await log_in(page, mail_server, user["email"], user["password"])
    assert "not verified" in await page.locator("#email + p").inner_text()
    await page.get_by_role("button", name="Send me a link to verify it").click()
    assert "on its way" in await page.get_by_role("status").first.inner_text()

    mail = await mailbox.wait_for(user["email"], CONFIRM)
    assert mail.link.startswith(f"{mail_server.url}/account/email/verify?token=")
    opened = await page.goto(mail.link)
    assert opened.status == 200
    assert f"{user['email']} is verified" in await page.get_by_role("status").inner_text()

    # The same access token's userinfo, and a new id_token, now say so.
    assert (await _userinfo(http, mail_server, before["access_token"]))["email_verified"] is True
    after = await obtain_tokens(api, user, client, scope="openid email")
    assert _id_token_claims(mail_server, after["id_token"], client["client_id"])["email_verified"] is True

    await page.goto(f"{mail_server.url}/")
    shown = await page.locator("#email + p").inner_text()
    assert "verified" in shown and "not verified" not in shown
    assert await page.get_by_role("button", name="Send me a link to verify it").count() == 0

    again = await page.goto(mail.link)
    assert again.status == 400
    assert await page.get_by_role("alert").inner_text() == USED_LINK
