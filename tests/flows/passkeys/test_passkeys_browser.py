"""Passkeys in headless Chromium with its virtual authenticator (CDP WebAuthn.addVirtualAuthenticator): one
registered on the account page, then logins with it alone (passwordless) and after a password (second factor),
each through a real authorization code flow whose id_token's amr and acr are checked with PyJWT; a replayed
answer, a passkey removed while its login was under way, an unknown one, one that did not verify its user, a
counter that went back, and the last second factor a policy requires."""

from __future__ import annotations

import base64
import hashlib
import html
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from passkeys_support import (
    PASSWORDLESS_BUTTON,
    add_authenticator,
    add_passkey,
    alert,
    allow_and_wait,
    authorization_request,
    id_token_claims,
    log_in_with_password,
    user_with_passkey,
)

from support.browser import catch_callback
from support.console import log_in_page
from support.rows import audit_events, execute, user_id
from support.server import LiveServer

pytestmark = pytest.mark.browser

MFA = "urn:gatepass:acr:mfa"
REPLAYED = "This passkey answer was used already: each one works once. Start again with the passkey button."
REMOVED = "This passkey was removed from its account. Use another passkey, or log in with your password."
COUNTER_WENT_BACK = (
    "This passkey's signature counter went backwards, a sign that it may have been copied, so it was not "
    "accepted. Use another passkey or your password, and tell an administrator."
)
UNKNOWN = "This passkey is not registered here. Use another passkey, or log in with your password."
NOT_VERIFIED = (
    "Your passkey did not check that it was you (with its PIN, fingerprint or face), which logging in without "
    "a password requires. Try again and unlock it when asked, or log in with your password."
)
LOG_IN_AGAIN = "To add a passkey, log in again first: a passkey lets you in without your password."
LAST_FACTOR = (
    "Your account must use a second factor and this passkey is its last one, so it cannot be removed. "
    "Add another passkey or an authenticator app first."
)


async def test_a_passkey_added_on_the_account_page_logs_in_alone_and_after_a_password(
    page: Any, passkey_server: LiveServer
) -> None:
    server, user, client = passkey_server, passkey_server.create_user(), passkey_server.create_client()
    cdp, authenticator = await add_authenticator(page)
    await log_in_with_password(page, server, user)
    response = await page.goto(f"{server.url}/account/passkeys")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    await add_passkey(page, server, "Work laptop")
    assert page.url == f"{server.url}/account/passkeys?done=added"
    assert await page.text_content("[role=status]") == (
        "Your passkey was added. You can log in with it, with or without your password."
    )
    assert await page.locator("table.passkeys tbody td:first-child").all_text_contents() == ["Work laptop"]
    assert (await page.locator("table.passkeys tbody td").nth(2).text_content() or "").strip() == "never"
    stored = await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert [credential["isResidentCredential"] for credential in stored["credentials"]] == [True]
    assert f"A new second factor was added to your account {user['email']}: a passkey." in server.log_path.read_text()
    added = audit_events(server, "user.second_factor_added")
    assert (user_id(server, user["email"]), "passkey", "Work laptop") in [
        (who, detail["method"], detail["name"]) for who, _, detail in added
    ]

    # Passwordless: the login page's button, then consent and the app, as after a password.
    await page.context.clear_cookies()
    path, pkce = authorization_request(client)
    callback = await catch_callback(page)
    await page.goto(f"{server.url}{path}")
    assert page.url.startswith(f"{server.url}/login?")
    await page.click(PASSWORDLESS_BUTTON)
    claims = await id_token_claims(server, client, await allow_and_wait(page, callback), pkce)
    # A passkey that verified its user (PIN or biometrics) is two factors: something held and something known or
    # been; the virtual authenticator is not backup eligible, so its key is hardware-bound.
    assert (claims["amr"], claims["acr"]) == (["hwk", "mfa"], MFA)

    # The password, then the passkey on the second step.
    await page.context.clear_cookies()
    path, pkce = authorization_request(client)
    callback = await catch_callback(page)
    await log_in_with_password(page, server, user, next_path=path)
    assert page.url.startswith(f"{server.url}/login/second-factor?")
    assert await page.locator("#code").count() == 0  # no app, so no code field: the passkey button only
    await page.click("form[action='/login/passkey'] button:text('Use a passkey')")
    claims = await id_token_claims(server, client, await allow_and_wait(page, callback), pkce)
    assert (claims["amr"], claims["acr"]) == (["pwd", "hwk", "mfa"], MFA)

    await page.goto(f"{server.url}/account/passkeys")
    assert (await page.locator("table.passkeys tbody td").nth(2).text_content() or "").strip() != "never"


async def test_an_answer_posted_twice_is_refused_as_replayed(page: Any, passkey_server: LiveServer) -> None:
    server = passkey_server
    user, _, _ = await user_with_passkey(page, server, "Phone")

    posted: list[str] = []

    async def keep(route: Any) -> None:
        posted.append(route.request.post_data or "")
        await route.continue_()

    await page.route(f"{server.url}/login/passkey", keep)
    await page.goto(f"{server.url}/login")
    async with page.expect_navigation(url=f"{server.url}/"):
        await page.click(PASSWORDLESS_BUTTON)
    assert await page.text_content("header .who") == user["email"]
    assert len(posted) == 1 and "credential=" in posted[0]

    replayed = await page.context.request.post(
        f"{server.url}/login/passkey", data=posted[0],
        headers={"content-type": "application/x-www-form-urlencoded"}, max_redirects=0,
    )  # fmt: skip
    assert replayed.status == 401
    assert REPLAYED in await replayed.text()
    uid = user_id(server, user["email"])
    assert [(who, detail["reason"]) for who, _, detail in audit_events(server, "login.passkey_failed")].count(
        (None, "replayed")
    ) >= 1
    assert (uid, "passwordless") in [
        (who, detail["purpose"]) for who, _, detail in audit_events(server, "login.passkey_succeeded")
    ]


async def test_a_signature_counter_that_went_back_is_refused_and_audited(page: Any, passkey_server: LiveServer) -> None:
    server = passkey_server
    user, _, _ = await user_with_passkey(page, server, "Cloned key")
    uid = user_id(server, user["email"])
    # The server saw this credential count up to 1,000 (on the original authenticator, say): this one is behind.
    execute(server, "UPDATE passkeys SET sign_count = 1000 WHERE user_id = ?", uid)
    await page.goto(f"{server.url}/login")
    async with page.expect_navigation():
        await page.click(PASSWORDLESS_BUTTON)
    assert await alert(page) == COUNTER_WENT_BACK
    assert await page.locator("header .who").count() == 0
    [(who, _, detail)] = audit_events(server, "user.passkey_counter_went_back")
    assert (who, detail["passkey"], detail["stored"], detail["presented"] < 1000) == (uid, "Cloned key", 1000, True)


async def test_a_passkey_removed_while_its_login_is_under_way_is_refused(page: Any, passkey_server: LiveServer) -> None:
    server = passkey_server
    user, _, _ = await user_with_passkey(page, server, "Security key")

    async def reset_first(route: Any) -> None:
        # An admin resets the user's factors between the authenticator's answer and its arrival.
        server.cli("user", "reset-factors", user["email"])
        await route.continue_()

    await page.route(f"{server.url}/login/passkey", reset_first)
    await page.goto(f"{server.url}/login")
    async with page.expect_navigation():
        await page.click(PASSWORDLESS_BUTTON)
    assert await alert(page) == REMOVED
    assert await page.locator("header .who").count() == 0
    uid = user_id(server, user["email"])
    assert (uid, "removed") in [
        (who, detail["reason"]) for who, _, detail in audit_events(server, "login.passkey_failed")
    ]
    assert (uid, True) in [
        (who, detail["had_factors"]) for who, _, detail in audit_events(server, "user.factors_reset")
    ]


async def test_the_last_passkey_cannot_be_removed_while_the_policy_requires_a_second_factor(
    page: Any, passkey_server: LiveServer
) -> None:
    server, user = passkey_server, passkey_server.create_user()
    await add_authenticator(page)
    await log_in_with_password(page, server, user)
    await add_passkey(page, server, "Only key")
    server.cli("settings", "set", "two_factor_required", "everyone")
    try:
        async with page.expect_navigation():
            await page.click("button[aria-label='Remove Only key']")
        assert await alert(page) == LAST_FACTOR
        assert await page.locator("table.passkeys tbody tr").count() == 1
    finally:
        server.cli("settings", "set", "two_factor_required", "admins")
    async with page.expect_navigation():
        await page.click("button[aria-label='Remove Only key']")
    assert await page.text_content("[role=status]") == "The passkey was removed: it no longer logs in to this account."
    assert await page.locator("table.passkeys").count() == 0


def _assertion_without_user_verification(credential: dict[str, Any], challenge: str, origin: str) -> str:
    """What an authenticator that did not verify its user answers (the UV flag clear), signed with the key of
    the virtual authenticator's credential: a browser asked to require verification never sends one."""
    client_data = json.dumps({"type": "webauthn.get", "challenge": challenge, "origin": origin}).encode()
    user_present = b"\x01"
    authenticator_data = (
        hashlib.sha256(b"localhost").digest() + user_present + (credential["signCount"] + 1).to_bytes(4, "big")
    )
    key = serialization.load_der_private_key(base64.b64decode(credential["privateKey"]), password=None)
    signed = authenticator_data + hashlib.sha256(client_data).digest()
    # Chromium makes an Ed25519 key when the server lists EdDSA first, as py_webauthn does; ES256 otherwise.
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(signed)
    else:
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        signature = key.sign(signed, ec.ECDSA(hashes.SHA256()))
    raw_id = _base64url(base64.b64decode(credential["credentialId"]))
    return json.dumps({
        "id": raw_id, "rawId": raw_id, "type": "public-key", "clientExtensionResults": {},
        "response": {
            "clientDataJSON": _base64url(client_data), "authenticatorData": _base64url(authenticator_data),
            "signature": _base64url(signature), "userHandle": _base64url(base64.b64decode(credential["userHandle"])),
        },
    })  # fmt: skip


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_passwordless_needs_user_verification_and_a_known_passkey(page: Any, passkey_server: LiveServer) -> None:
    server = passkey_server
    user, cdp, authenticator = await user_with_passkey(page, server, "Desk key")
    [credential] = (await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator}))["credentials"]

    await page.goto(f"{server.url}/login")
    csrf_token = await page.locator("form[action='/login'] input[name=csrf_token]").input_value()
    options = await page.context.request.post(
        f"{server.url}/login/passkey/options", form={"csrf_token": csrf_token, "purpose": "passwordless"}
    )
    assert options.status == 200 and (await options.json())["userVerification"] == "required"
    answer = _assertion_without_user_verification(credential, (await options.json())["challenge"], server.url)
    refused = await page.context.request.post(
        f"{server.url}/login/passkey",
        form={"csrf_token": csrf_token, "purpose": "passwordless", "next": "/", "credential": answer},
        max_redirects=0,
    )
    assert refused.status == 401
    assert NOT_VERIFIED in html.unescape(await refused.text())

    # The passkey's row gone for good (not merely removed): the server does not know it.
    execute(server, "DELETE FROM passkeys WHERE user_id = ?", user_id(server, user["email"]))
    await page.goto(f"{server.url}/login")
    async with page.expect_navigation():
        await page.click(PASSWORDLESS_BUTTON)
    assert await alert(page) == UNKNOWN


async def test_a_user_the_policy_covers_may_set_up_a_passkey_instead_of_an_app_at_login(
    page: Any, passkey_server: LiveServer
) -> None:
    server, user, client = passkey_server, passkey_server.create_user(), passkey_server.create_client()
    await add_authenticator(page)
    server.cli("settings", "set", "two_factor_required", "everyone")
    try:
        path, pkce = authorization_request(client)
        callback = await catch_callback(page)
        await log_in_with_password(page, server, user, next_path=path)
        assert await page.title() == "Set up two-factor login · Gatepass"
        await page.fill("#passkey-name", "Phone")
        await page.click("form[data-passkey=create] button")
        claims = await id_token_claims(server, client, await allow_and_wait(page, callback), pkce)
    finally:
        server.cli("settings", "set", "two_factor_required", "admins")
    # The ceremony proved the user holds the new passkey: the login has its two factors.
    assert (claims["amr"], claims["acr"]) == (["pwd", "hwk", "mfa"], MFA)
    await page.goto(f"{server.url}/account/passkeys")
    assert await page.locator("table.passkeys tbody td:first-child").all_text_contents() == ["Phone"]


async def test_an_app_asking_for_two_factors_steps_a_password_session_up_with_a_passkey(
    page: Any, passkey_server: LiveServer
) -> None:
    server, user, client = passkey_server, passkey_server.create_user(), passkey_server.create_client()
    await add_authenticator(page)
    await log_in_with_password(page, server, user)
    await add_passkey(page, server, "Laptop")
    # The session is still the password's: an app asking for two factors gets the second step first.
    path, pkce = authorization_request(client, acr_values=MFA)
    callback = await catch_callback(page)
    await page.goto(f"{server.url}{path}")
    assert page.url.startswith(f"{server.url}/login/second-factor?next=")
    assert "asks for a second factor" in (await page.text_content("p.note") or "")
    await page.click("form[action='/login/passkey'] button:text('Use a passkey')")
    claims = await id_token_claims(server, client, await allow_and_wait(page, callback), pkce)
    assert (claims["amr"], claims["acr"]) == (["pwd", "hwk", "mfa"], MFA)


async def test_only_a_recent_login_may_add_a_passkey(page: Any, passkey_server: LiveServer) -> None:
    server, user = passkey_server, passkey_server.create_user()
    await add_authenticator(page)
    await log_in_with_password(page, server, user)
    # The browser logged in an hour ago (left open, or its cookie stolen).
    execute(
        server,
        "UPDATE login_sessions SET auth_time = ? WHERE user_id = ?",
        _an_hour_ago(),
        user_id(server, user["email"]),
    )
    await page.goto(f"{server.url}/account/passkeys")
    assert await page.locator("form[data-passkey=create]").count() == 0
    assert LOG_IN_AGAIN in (await page.text_content("main") or "")
    csrf_token = await page.locator("header input[name=csrf_token]").input_value()
    refused = await page.context.request.post(f"{server.url}/account/passkeys/options", form={"csrf_token": csrf_token})
    assert (refused.status, await refused.json()) == (403, {"message": LOG_IN_AGAIN})

    await page.get_by_role("link", name="Log in again").click()
    await log_in_page(page, user["email"], user["password"])
    assert page.url == f"{server.url}/account/passkeys"
    await add_passkey(page, server, "Fresh")
    assert await page.locator("table.passkeys tbody td:first-child").all_text_contents() == ["Fresh"]


def _an_hour_ago() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
