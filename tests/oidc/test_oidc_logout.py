"""RP-Initiated Logout 1.0 at the end_session_endpoint (/oauth/logout).

A good request returns to the registered post_logout_redirect_uri with state and ends the session
on the server (the old session cookie stops working); a bad URI gets an error page and keeps the
session; without an id_token_hint the user confirms first.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import httpx
from oidc_support import LOGOUT, POST_LOGOUT_URI, code_flow

from support.browser import HttpBrowser
from support.html import find_form, page_text
from support.provision import World
from support.server import LiveServer

#: The login session cookie on plain http (``__Host-gp_session`` over https).
SESSION_COOKIE = "gp_session"


def _session_cookies(browser: HttpBrowser) -> dict[str, str]:
    return {name: value for name, value in browser.http.cookies.items() if name == SESSION_COOKIE}


async def _is_session_alive(server: LiveServer, cookies: dict[str, str]) -> bool:
    """Replay a session cookie from a fresh client: only a session the server still holds opens the account page."""
    async with httpx.AsyncClient(base_url=server.url, cookies=cookies) as http:
        response = await http.get("/")
    assert response.status_code in (200, 303)
    return response.status_code == 200


async def test_logout_with_id_token_hint_returns_to_the_registered_uri_and_ends_the_session(
    oidc_world: World,
) -> None:
    server, client = oidc_world.server, oidc_world.client("web")
    state = secrets.token_urlsafe(12)
    async with HttpBrowser(server, oidc_world.user("alice")) as browser:
        flow = await code_flow(browser, client)
        session = _session_cookies(browser)
        assert session and await _is_session_alive(server, session)
        query = {"id_token_hint": flow.id_token, "post_logout_redirect_uri": POST_LOGOUT_URI, "state": state}
        response = await browser.http.get(f"{LOGOUT}?{urlencode(query)}")
        assert response.status_code == 303
        assert response.headers["location"] == f"{POST_LOGOUT_URI}?{urlencode({'state': state})}"
        # The browser goes to the login page again, and the old cookie is dead on the server too.
        home = await browser.http.get("/")
    assert (home.status_code, home.headers["location"]) == (303, "/login")
    assert not await _is_session_alive(server, session)


async def test_logout_with_an_unregistered_post_logout_uri_shows_an_error_and_keeps_the_session(
    oidc_sqlite: World,
) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("web")
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        flow = await code_flow(browser, client)
        query = {
            "id_token_hint": flow.id_token,
            "post_logout_redirect_uri": "https://attacker.example/after-logout",
            "state": "s1",
        }
        response = await browser.http.get(f"{LOGOUT}?{urlencode(query)}")
        assert response.status_code == 400
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")
        assert "post_logout_redirect_uri is not registered for this client" in page_text(response.text)
        assert "attacker.example" not in response.headers.get("refresh", "")
        assert await browser.is_logged_in()


async def test_logout_hint_for_another_client_than_client_id_is_refused(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("web")
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        flow = await code_flow(browser, client)
        query = {"id_token_hint": flow.id_token, "client_id": oidc_sqlite.client("es256")["client_id"]}
        response = await browser.http.get(f"{LOGOUT}?{urlencode(query)}")
        assert response.status_code == 400
        assert "client_id does not match the audience of id_token_hint" in page_text(response.text)
        assert await browser.is_logged_in()


async def test_logout_without_id_token_hint_asks_the_user_to_confirm_first(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("web")
    state = secrets.token_urlsafe(12)
    query = {"client_id": client["client_id"], "post_logout_redirect_uri": POST_LOGOUT_URI, "state": state}
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        await browser.login()
        page = await browser.http.get(f"{LOGOUT}?{urlencode(query)}")
        assert page.status_code == 200
        assert "Log out of Gatepass?" in page_text(page.text)
        form = find_form(page.text, LOGOUT)
        assert form is not None
        assert {key: form.fields[key] for key in query} == query
        assert await browser.is_logged_in()  # nothing happens before the user confirms
        confirmed = await browser.http.post(LOGOUT, data=form.fields)
        assert confirmed.status_code == 303
        assert confirmed.headers["location"] == f"{POST_LOGOUT_URI}?{urlencode({'state': state})}"
        assert not await browser.is_logged_in()


async def test_logout_confirmation_without_the_csrf_token_does_not_log_out(oidc_sqlite: World) -> None:
    server = oidc_sqlite.server
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        await browser.login()
        response = await browser.http.post(LOGOUT, data={})
        assert response.status_code == 200
        assert find_form(response.text, LOGOUT) is not None
        assert await browser.is_logged_in()


async def test_logout_with_a_tampered_id_token_hint_is_refused_and_keeps_the_session(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("web")
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        flow = await code_flow(browser, client)
        header, payload, signature = flow.id_token.split(".")
        tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
        query = {"id_token_hint": tampered, "post_logout_redirect_uri": POST_LOGOUT_URI}
        response = await browser.http.get(f"{LOGOUT}?{urlencode(query)}")
        assert response.status_code == 400
        assert "location" not in response.headers
        assert "The token is not a valid JWT issued by this server" in page_text(response.text)
        assert await browser.is_logged_in()


async def test_logout_accepts_an_hs256_id_token_hint_signed_with_the_client_secret(oidc_sqlite: World) -> None:
    server, client = oidc_sqlite.server, oidc_sqlite.client("hs256")
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        flow = await code_flow(browser, client)
        response = await browser.http.get(f"{LOGOUT}?{urlencode({'id_token_hint': flow.id_token})}")
        assert response.status_code == 200
        assert find_form(response.text, LOGOUT) is None, "a valid hint for the session's user needs no confirmation"
        assert not await browser.is_logged_in()


async def test_logout_by_post_from_the_relying_party_works_like_get(oidc_sqlite: World) -> None:
    """RP-Initiated Logout 1.0 §2: the OP supports GET and POST; a valid hint needs no CSRF token."""
    server, client = oidc_sqlite.server, oidc_sqlite.client("web")
    async with HttpBrowser(server, oidc_sqlite.user("alice")) as browser:
        flow = await code_flow(browser, client)
        form = {"id_token_hint": flow.id_token, "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "s-post"}
        response = await browser.http.post(LOGOUT, data=form)
        assert response.status_code == 303
        assert response.headers["location"] == f"{POST_LOGOUT_URI}?state=s-post"
        assert not await browser.is_logged_in()
