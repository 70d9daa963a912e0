"""A password change or reset ends what the old password opened: other sessions, every app's tokens.

Whoever knew the old password may hold a browser session or an app's refresh token; changing the
password must stop both. A change on the account page always does this, and keeps the user's own
browser signed in with a fresh session unless they untick "Stay signed in on this browser"; an
admin's reset in the console and `gatepass user set-password` do it too. Each change is audited with who made it.
"""

from __future__ import annotations

import getpass
from typing import Any

import httpx

from support.backchannel import Backchannel
from support.browser import HttpBrowser, code_request
from support.html import page_text, parse_forms
from support.pkce import Pkce
from support.provision import provision
from support.rows import audit_events, user_id
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

NEW_PASSWORD = "a-brand-new-password-1"


def _parties(server: LiveServer) -> tuple[dict[str, Any], dict[str, Any]]:
    users, clients = provision(
        server, {"pat": {"first_name": "Pat", "last_name": "Word"}}, lambda _: {"app": ("--name", "Password App")}
    )
    return users["pat"], clients["app"]


async def _tokens(api: Backchannel, user: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
    pkce = Pkce.new()
    async with HttpBrowser(api.server, user) as browser:
        code = (await browser.authorize(code_request(client, pkce, scope="openid profile email"))).code
    return await api.tokens(client, code, pkce)


async def _browser(server: LiveServer, user: dict[str, Any]) -> HttpBrowser:
    browser = HttpBrowser(server, user)
    await browser.login()
    return browser


async def _is_signed_in(browser: HttpBrowser) -> bool:
    response = await browser.http.get("/")
    assert response.status_code in (200, 303)
    return response.status_code == 200


async def _tokens_work(api: Backchannel, client: dict[str, Any], tokens: dict[str, Any]) -> tuple[int, int]:
    """(userinfo status with the access token, refresh status with the refresh token)."""
    userinfo = await api.http.get(
        f"{api.server.url}/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    refreshed = await api.refresh(client, tokens["refresh_token"])
    return userinfo.status_code, refreshed.status_code


async def _change_own(browser: HttpBrowser, current: str, new: str, *, keep_this_session: bool) -> httpx.Response:
    page = await browser.http.get("/")
    form = next(form for form in parse_forms(page.text) if form.action == "/account/password")
    assert form.fields["keep_this_session"] == "1"
    assert 'name="keep_this_session" value="1" checked' in page.text
    data = {**form.fields, "current_password": current, "new_password": new, "new_password_again": new}
    if not keep_this_session:
        del data["keep_this_session"]
    return await browser.http.post("/account/password", data=data)


async def _can_log_in(server: LiveServer, email: str, password: str) -> bool:
    async with HttpBrowser(server, {"email": email, "password": password}) as browser:
        page = await browser.http.get("/login")
        return (await browser.submit_login(page, "/")).status_code == 303


async def test_changing_your_password_signs_out_everywhere_else_and_revokes_every_app(
    server: LiveServer, api: Backchannel
) -> None:
    user, client = _parties(server)
    tokens = await _tokens(api, user, client)
    async with await _browser(server, user) as here, await _browser(server, user) as elsewhere:
        old_cookie = dict(here.http.cookies)
        changed = await _change_own(here, user["password"], NEW_PASSWORD, keep_this_session=True)
        assert changed.status_code == 303
        assert changed.headers["location"] == "/?password=changed"
        assert dict(here.http.cookies) != old_cookie  # a fresh session for this browser
        home = await here.http.get(changed.headers["location"])
        assert home.status_code == 200
        assert "Your password was changed. You were signed out everywhere else" in page_text(home.text)
        assert not await _is_signed_in(elsewhere)
    assert await _tokens_work(api, client, tokens) == (401, 400)
    assert not await _can_log_in(server, user["email"], user["password"])
    assert await _can_log_in(server, user["email"], NEW_PASSWORD)
    # The remembered consent went too: the app must ask again.
    async with HttpBrowser(server, {**user, "password": NEW_PASSWORD}) as browser:
        outcome = await browser.authorize(code_request(client, Pkce.new(), scope="openid profile email"), decision=None)
    assert outcome.pages == ["login", "consent"]
    [(found_user_id, _, detail)] = [
        event for event in audit_events(server, "user.password_changed") if event[0] == user_id(server, user["email"])
    ]
    assert detail == {"by": "self", "signed_out_everywhere": True, "kept_this_session": True}
    assert found_user_id == user_id(server, user["email"])


async def test_unchecking_the_box_signs_this_browser_out_too(server: LiveServer, api: Backchannel) -> None:
    user, client = _parties(server)
    tokens = await _tokens(api, user, client)
    async with await _browser(server, user) as here, await _browser(server, user) as elsewhere:
        changed = await _change_own(here, user["password"], NEW_PASSWORD, keep_this_session=False)
        assert changed.headers["location"] == "/login"
        assert not await _is_signed_in(here)
        assert not await _is_signed_in(elsewhere)
    assert await _tokens_work(api, client, tokens) == (401, 400)
    details = [
        d for uid, _, d in audit_events(server, "user.password_changed") if uid == user_id(server, user["email"])
    ]
    assert details == [{"by": "self", "signed_out_everywhere": True, "kept_this_session": False}]


async def test_a_wrong_current_password_changes_nothing(server: LiveServer) -> None:
    user, _ = _parties(server)
    async with await _browser(server, user) as here:
        refused = await _change_own(here, "not-my-password", NEW_PASSWORD, keep_this_session=True)
        assert refused.status_code == 400
        assert "The current password is wrong" in page_text(refused.text)
        assert await _is_signed_in(here)
    assert await _can_log_in(server, user["email"], user["password"])


async def test_an_admin_reset_signs_the_user_out_and_revokes_every_app(server: LiveServer, api: Backchannel) -> None:
    user, client = _parties(server)
    tokens = await _tokens(api, user, client)
    person = user_id(server, user["email"])
    async with (
        await _browser(server, user) as users_browser,
        await _browser(server, {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}) as admin,
    ):
        page = await admin.http.get(f"/admin/users/{person}")
        form = next(form for form in parse_forms(page.text) if form.action == f"/admin/users/{person}/password")
        reset = await admin.http.post(form.action, data={**form.fields, "password": NEW_PASSWORD})
        assert reset.status_code == 303
        assert reset.headers["location"] == f"/admin/users/{person}?notice=password"
        assert not await _is_signed_in(users_browser)
        assert await _is_signed_in(admin)
    assert await _tokens_work(api, client, tokens) == (401, 400)
    details = [d for uid, _, d in audit_events(server, "user.password_changed") if uid == person]
    assert details == [{"by": "admin", "signed_out_everywhere": True, "actor": f"admin:{ADMIN_EMAIL}"}]


async def test_the_command_line_reset_signs_the_user_out_and_revokes_every_app(
    server: LiveServer, api: Backchannel
) -> None:
    user, client = _parties(server)
    tokens = await _tokens(api, user, client)
    async with await _browser(server, user) as users_browser:
        server.cli("user", "set-password", user["email"], "--password-stdin", input=NEW_PASSWORD + "\n")
        assert not await _is_signed_in(users_browser)
    assert await _tokens_work(api, client, tokens) == (401, 400)
    details = [
        d for uid, _, d in audit_events(server, "user.password_changed") if uid == user_id(server, user["email"])
    ]
    assert details == [{"by": "cli", "signed_out_everywhere": True, "actor": f"cli:{getpass.getuser()}"}]
