"""OpenID Connect Back-Channel Logout 1.0: every way a user's session ends tells the apps they used.

A real receiver in the test process stands for the app's logout endpoint; it checks each logout token as an
app must (§2.6, PyJWT against the JWKS). Logging out at the end_session endpoint (in Chromium), an admin
disabling the user, and a password change (signing out everywhere) each queue the tokens in the database;
the server's delivery loop sends them, and retries a receiver that fails, across a restart.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from logout_support import (
    PATIENCE_SECONDS,
    QUICK_DELIVERY,
    authorization_url,
    check_delivery,
    id_token_claims,
    logout_client,
    receiver,
    sign_in,
)

from support.backchannel import Backchannel
from support.backends import FLOW_BACKENDS
from support.browser import HttpBrowser, code_request
from support.console import ConsoleSession, log_in_page
from support.pkce import Pkce
from support.rows import audit_events, rows
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, REDIRECT_URI, LiveServer


@pytest.mark.parametrize("backend", FLOW_BACKENDS)
async def test_logging_out_in_chromium_tells_the_app_with_the_sid_of_its_id_token(
    backend: str, start_server: Callable[..., LiveServer], page: Any
) -> None:
    server = start_server(backend, **QUICK_DELIVERY)
    user = server.create_user()
    with receiver() as app:
        client = logout_client(server, app.uri)
        pkce = Pkce.new()
        await page.goto(authorization_url(server, client, pkce))
        await page.fill("#email", user["email"])
        await page.fill("#password", user["password"])
        async with page.expect_response(
            lambda r: r.status == 303 and r.headers.get("location", "").startswith(REDIRECT_URI)
        ) as answer:
            await page.get_by_role("button", name="Log in", exact=True).click()
        code = parse_qs(urlsplit((await answer.value).headers["location"]).query)["code"][0]
        async with httpx.AsyncClient(timeout=30) as http:
            tokens = await Backchannel(http, server).tokens(client, code, pkce)
        id_token = id_token_claims(tokens["id_token"], server, client["client_id"])
        # §2.1: the session's id is in the id_token, for the app to match a logout token against.
        assert len(id_token["sid"]) == 32

        # The user logs out at the end_session endpoint and confirms on its page.
        await page.goto(f"{server.url}/oauth/logout")
        async with page.expect_navigation():
            await page.get_by_role("main").get_by_role("button", name="Log out").click()
        (delivered,) = app.wait_for(accepted=1)
    claims = check_delivery(delivered, server, client["client_id"])
    assert claims["sid"] == id_token["sid"]
    assert claims["sub"] == id_token["sub"]


async def test_a_refreshed_id_token_keeps_the_sid_of_the_login(server: LiveServer) -> None:
    """OIDC Core §12.2: an id_token from a refresh is about the same login; it names the same session."""
    client = server.create_client("--skip-authorization", name="Refreshes")
    pkce = Pkce.new()
    async with HttpBrowser(server, server.create_user()) as browser:
        outcome = await browser.authorize(code_request(client, pkce, scope="openid"))
    async with httpx.AsyncClient(timeout=30) as http:
        api = Backchannel(http, server)
        tokens = await api.tokens(client, outcome.code, pkce)
        refreshed = await api.refreshed(client, tokens["refresh_token"])
    first = id_token_claims(tokens["id_token"], server, client["client_id"])
    again = id_token_claims(refreshed["id_token"], server, client["client_id"])
    assert again["sid"] == first["sid"]


@pytest.mark.parametrize("backend", FLOW_BACKENDS)
async def test_a_failing_receiver_gets_the_queued_logout_after_a_restart(
    backend: str, start_server: Callable[..., LiveServer]
) -> None:
    server = start_server(backend, **QUICK_DELIVERY)
    user = server.create_user()
    with receiver() as app:
        app.is_failing = True
        client = logout_client(server, app.uri)
        async with HttpBrowser(server, user) as browser:
            hint, id_token = await sign_in(browser, client)
            # §2 of RP-Initiated Logout: with the app's id_token as hint, the session ends without a question.
            logout = await browser.http.get("/oauth/logout?" + urlencode({"id_token_hint": hint}))
            assert logout.status_code == 200, logout.text
            assert not await browser.is_logged_in()
        app.wait_for(refused=1)
        # The queue is in the database: a server stopped between attempts sends the logout once it is back.
        server.stop()
        app.is_failing = False
        server.start()
        (delivered,) = app.wait_for(accepted=1)
    claims = check_delivery(delivered, server, client["client_id"])
    assert (claims["sid"], claims["sub"]) == (id_token["sid"], id_token["sub"])
    # Every attempt, the refused ones too, carried the same logout (one jti).
    jtis = {check_delivery(item, server, client["client_id"])["jti"] for item in app.received if item.answered == 200}
    assert jtis == {claims["jti"]}
    assert delivered.logout_token not in server.log_path.read_text(errors="replace")
    (event,) = _wait_for_audit(server, "backchannel_logout.delivered")
    assert event[2]["attempts"] >= 2


@pytest.mark.parametrize("backend", FLOW_BACKENDS)
async def test_an_admin_disabling_the_user_tells_every_app_they_used(
    backend: str, start_server: Callable[..., LiveServer]
) -> None:
    server = start_server(backend, **QUICK_DELIVERY)
    user = server.create_user()
    with receiver() as app:
        by_user = logout_client(server, app.uri, name="Logs out by user")
        by_session = logout_client(server, app.uri, "--backchannel-logout-session-required", name="By session")
        async with HttpBrowser(server, user) as browser:
            _, first = await sign_in(browser, by_user)
            _, second = await sign_in(browser, by_session)
        server.cli("user", "disable", user["email"])
        delivered = app.wait_for(accepted=2)
    claims = {
        aud: check_delivery(item, server, aud)
        for item in delivered
        for aud in (by_user["client_id"], by_session["client_id"])
        if _audience(item.logout_token) == aud
    }
    # Every session of the user ended: the app that takes a user-wide logout is told the user alone (§2.4);
    # the app that requires sid is told each session it took part in (§2.2 backchannel_logout_session_required).
    assert claims[by_user["client_id"]]["sub"] == first["sub"]
    assert "sid" not in claims[by_user["client_id"]]
    assert claims[by_session["client_id"]]["sid"] == second["sid"] == first["sid"]
    assert claims[by_session["client_id"]]["sub"] == second["sub"]


@pytest.mark.parametrize(
    ("path", "form", "names_the_session"),
    [("sessions/end", {"all": "1"}, True), ("enabled", {"enabled": "0"}, False)],
    ids=["end-every-session", "disable"],
)
async def test_an_admin_in_the_console_signing_a_user_out_tells_the_apps(
    start_server: Callable[..., LiveServer], path: str, form: dict[str, str], names_the_session: bool
) -> None:
    server = start_server("sqlite", **QUICK_DELIVERY)
    user = server.create_user()
    ((user_id,),) = rows(server, "SELECT id FROM users WHERE email = ?", user["email"])
    with receiver() as app:
        client = logout_client(server, app.uri)
        async with HttpBrowser(server, user) as browser:
            _, id_token = await sign_in(browser, client)
            async with ConsoleSession(server) as console:
                await console.login(ADMIN_EMAIL, ADMIN_PASSWORD)
                answer = await console.post(f"/admin/users/{user_id}/{path}", list(form.items()))
            assert answer.status_code == 303, answer.text
            (delivered,) = app.wait_for(accepted=1)
            assert not await browser.is_logged_in()
    claims = check_delivery(delivered, server, client["client_id"])
    assert claims["sub"] == id_token["sub"]
    # Ending the user's sessions one by one names each; disabling the user ends everything of theirs (§2.4).
    assert claims.get("sid") == (id_token["sid"] if names_the_session else None)


async def _change_password(page: Any, user: dict[str, Any]) -> None:
    await page.fill("#current-password", user["password"])
    await page.fill("#new-password", "a new password 2")
    await page.fill("#new-password-again", "a new password 2")
    await page.get_by_role("button", name="Change password").click()


async def _sign_out_every_other_session(page: Any, user: dict[str, Any]) -> None:
    await page.get_by_role("button", name="Sign out every other session").click()


@pytest.mark.parametrize(
    ("act", "names_the_session"),
    [(_change_password, False), (_sign_out_every_other_session, True)],
    ids=["password-change", "every-other-session"],
)
async def test_signing_out_elsewhere_on_the_account_page_tells_the_apps(
    start_server: Callable[..., LiveServer],
    page: Any,
    act: Callable[[Any, dict[str, Any]], Awaitable[None]],
    names_the_session: bool,
) -> None:
    server = start_server("sqlite", **QUICK_DELIVERY)
    user = server.create_user()
    with receiver() as app:
        client = logout_client(server, app.uri)
        async with HttpBrowser(server, user) as elsewhere:
            _, id_token = await sign_in(elsewhere, client)
            await page.goto(f"{server.url}/login")
            await log_in_page(page, user["email"], user["password"])
            await act(page, user)
            await page.wait_for_load_state()
            (delivered,) = app.wait_for(accepted=1)
            assert not await elsewhere.is_logged_in()
    claims = check_delivery(delivered, server, client["client_id"])
    assert claims["sub"] == id_token["sub"]
    if names_the_session:
        # Only the other browser's session ended: the token names it.
        assert claims["sid"] == id_token["sid"]
    else:
        # A password change ends every session of the user: the token names the user alone (§2.4).
        assert "sid" not in claims


async def test_a_receiver_that_never_accepts_is_given_up_after_the_last_attempt(
    start_server: Callable[..., LiveServer],
) -> None:
    server = start_server("sqlite", GATEPASS_TOKENS_BACKCHANNEL_LOGOUT_MAX_ATTEMPTS="2", **QUICK_DELIVERY)
    user = server.create_user()
    with receiver() as app:
        app.is_failing = True
        client = logout_client(server, app.uri)
        async with HttpBrowser(server, user) as browser:
            await sign_in(browser, client)
        server.cli("user", "disable", user["email"])
        (event,) = _wait_for_audit(server, "backchannel_logout.abandoned")
    assert [item.answered for item in app.received] == [500, 500]
    assert event[2]["attempts"] == 2
    assert event[2]["last_error"] == "HTTP 500 from the logout URI"


def _audience(token: str) -> str:
    audience: str = jwt.decode(token, options={"verify_signature": False})["aud"]
    return audience


def _wait_for_audit(server: LiveServer, event: str) -> list[tuple[int | None, str | None, dict[str, Any]]]:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not (found := audit_events(server, event)):
        assert time.monotonic() < deadline, f"no {event} audit event"
        time.sleep(0.2)
    return found
