"""Logging in and out: headless Chromium for what a person sees, plain HTTP for the exact wire details.

The session cookie is HttpOnly, SameSite=Lax, Secure when the issuer is https; CSRF on every
form; one generic message for a wrong email or password; lockout after repeated failures; `next`
redirects only to local paths.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from foundation_support import (
    BAD_LOGIN,
    CSRF_COOKIE,
    CSRF_FAILED,
    SESSION_COOKIE,
    alert_in,
    csrf_token_in,
    is_logged_in,
    login,
    next_in,
    run_concurrently,
)

from support.backends import Database
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer, unique_email

LOGIN_BUTTON = 'form[action="/login"] button[type="submit"]'
SESSION_SET_COOKIE = re.compile(rf"^{SESSION_COOKIE}=[A-Za-z0-9_-]{{43,}}; HttpOnly; Path=/; SameSite=lax$")
LOCKOUT_FAILURES = 3
HTTPS_ISSUER = "https://login.example.com"


@dataclass(frozen=True)
class People:
    person: dict[str, Any]
    disabled: dict[str, Any]


@pytest.fixture(scope="module")
def people(sqlite_server: LiveServer) -> People:
    person, disabled = run_concurrently(sqlite_server.create_user, sqlite_server.create_user)
    sqlite_server.cli("user", "disable", disabled["email"])
    return People(person, disabled)


def set_cookie_headers(response: httpx.Response, name: str) -> list[str]:
    return [value for value in response.headers.get_list("set-cookie") if value.startswith(f"{name}=")]


async def submit_login(page: Any, server: LiveServer, email: str, password: str) -> Any:
    """Fill and send the login form; returns the response to the POST."""
    await page.fill("#email", email)
    await page.fill("#password", password)

    def is_login_post(response: Any) -> bool:
        return bool(response.url == f"{server.url}/login" and response.request.method == "POST")

    async with page.expect_navigation(), page.expect_response(is_login_post) as info:
        await page.click(LOGIN_BUTTON)
    return await info.value


# -- in the browser ---------------------------------------------------------------------------


async def test_admin_logs_in_sees_their_email_then_logs_out(page: Any, server: LiveServer) -> None:
    await page.goto(f"{server.url}/login")
    assert await page.title() == "Log in · Gatepass"
    response = await submit_login(page, server, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert response.status == 303
    assert page.url == f"{server.url}/"
    assert await page.text_content("header .who") == ADMIN_EMAIL
    assert f"You are logged in to Gatepass as {ADMIN_EMAIL}." in await page.inner_text("main")

    cookies = {cookie["name"]: cookie for cookie in await page.context.cookies()}
    session = cookies[SESSION_COOKIE]
    assert (session["httpOnly"], session["sameSite"], session["secure"], session["path"]) == (True, "Lax", False, "/")
    assert (cookies[CSRF_COOKIE]["httpOnly"], cookies[CSRF_COOKIE]["sameSite"]) == (True, "Lax")

    async with page.expect_navigation():
        await page.click('header form[action="/logout"] button')
    assert await page.inner_text("h1") == "You are logged out"
    assert SESSION_COOKIE not in {cookie["name"] for cookie in await page.context.cookies()}
    await page.goto(f"{server.url}/")
    assert page.url == f"{server.url}/login"
    assert await page.locator("header .who").count() == 0


async def test_wrong_password_and_unknown_email_show_the_same_message(
    page: Any, sqlite_server: LiveServer, people: People
) -> None:
    await page.goto(f"{sqlite_server.url}/login")
    wrong_password = await submit_login(page, sqlite_server, people.person["email"], "not-the-password")
    assert wrong_password.status == 401
    assert await page.inner_text("p[role=alert]") == BAD_LOGIN
    assert await page.input_value("#email") == people.person["email"]

    unknown_email = await submit_login(page, sqlite_server, unique_email("nobody"), "not-the-password")
    assert unknown_email.status == 401
    assert await page.inner_text("p[role=alert]") == BAD_LOGIN
    assert SESSION_COOKIE not in {cookie["name"] for cookie in await page.context.cookies()}


async def test_disabled_user_cannot_log_in(page: Any, sqlite_server: LiveServer, people: People) -> None:
    await page.goto(f"{sqlite_server.url}/login")
    response = await submit_login(page, sqlite_server, people.disabled["email"], people.disabled["password"])
    assert response.status == 401
    assert await page.inner_text("p[role=alert]") == BAD_LOGIN
    assert page.url == f"{sqlite_server.url}/login"


async def test_login_goes_on_to_a_local_next_path_but_never_off_site(
    page: Any, sqlite_server: LiveServer, people: People
) -> None:
    await page.goto(f"{sqlite_server.url}/login?next={quote('//evil.example/steal')}")
    await submit_login(page, sqlite_server, people.person["email"], people.person["password"])
    assert page.url == f"{sqlite_server.url}/"

    await page.goto(f"{sqlite_server.url}/login?switch=1&next={quote('/?from=login')}")
    await submit_login(page, sqlite_server, people.person["email"], people.person["password"])
    assert page.url == f"{sqlite_server.url}/?from=login"


async def test_forged_csrf_token_is_rejected_and_does_not_log_in(
    page: Any, sqlite_server: LiveServer, people: People
) -> None:
    await page.goto(f"{sqlite_server.url}/login")
    await page.evaluate("document.querySelector('input[name=csrf_token]').value = 'forged'")
    response = await submit_login(page, sqlite_server, people.person["email"], people.person["password"])
    assert response.status == 400
    assert await page.inner_text("p[role=alert]") == CSRF_FAILED
    await page.goto(f"{sqlite_server.url}/")
    assert page.url == f"{sqlite_server.url}/login"


async def test_login_form_posted_from_another_site_is_rejected(
    page: Any, sqlite_server: LiveServer, people: People
) -> None:
    """Login CSRF: another site makes the browser log in as the attacker, with the attacker's valid token."""
    with httpx.Client(base_url=sqlite_server.url) as attacker:
        token = csrf_token_in(attacker.get("/login").text)
    attack = f"""<form method="post" action="{sqlite_server.url}/login">
      <input name="csrf_token" value="{token}"><input name="email" value="{people.person["email"]}">
      <input name="password" value="{people.person["password"]}"></form>
      <script>document.forms[0].submit()</script>"""

    async def serve_attack(route: Any) -> None:
        await route.fulfill(status=200, content_type="text/html", body=attack)

    await page.goto(f"{sqlite_server.url}/login")  # the victim's browser already holds its own CSRF cookie
    await page.route("http://evil.example/**", serve_attack)
    async with page.expect_response(f"{sqlite_server.url}/login") as info:
        await page.goto("http://evil.example/")
    response = await info.value
    assert response.request.method == "POST"
    assert response.status == 400
    await page.wait_for_url(f"{sqlite_server.url}/login")
    assert await page.inner_text("p[role=alert]") == CSRF_FAILED
    await page.goto(f"{sqlite_server.url}/")
    assert page.url == f"{sqlite_server.url}/login"


# -- over HTTP: exact messages, statuses and headers ----------------------------------------------


def test_session_cookie_is_httponly_samesite_lax_and_not_secure_on_http(
    sqlite_server: LiveServer, people: People
) -> None:
    with httpx.Client(base_url=sqlite_server.url) as browser:
        page = browser.get("/login")
        assert page.headers["cache-control"] == "no-store"
        assert set_cookie_headers(page, CSRF_COOKIE)[0].endswith("; HttpOnly; Path=/; SameSite=lax")
        response = login(browser, people.person["email"], people.person["password"])
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    [session_cookie] = set_cookie_headers(response, SESSION_COOKIE)
    assert SESSION_SET_COOKIE.match(session_cookie), session_cookie


def test_wrong_password_and_unknown_email_give_identical_pages(sqlite_server: LiveServer, people: People) -> None:
    unknown = unique_email("nobody")
    with httpx.Client(base_url=sqlite_server.url) as browser:
        wrong_password = login(browser, people.person["email"], "not-the-password")
        unknown_email = login(browser, unknown, "not-the-password")
    assert (wrong_password.status_code, unknown_email.status_code) == (401, 401)
    assert alert_in(wrong_password.text) == alert_in(unknown_email.text) == BAD_LOGIN

    def normalised(response: httpx.Response, email: str) -> str:
        return response.text.replace(csrf_token_in(response.text), "TOKEN").replace(email, "EMAIL")

    assert normalised(wrong_password, people.person["email"]) == normalised(unknown_email, unknown)
    assert set_cookie_headers(wrong_password, SESSION_COOKIE) == set_cookie_headers(unknown_email, SESSION_COOKIE) == []


def test_empty_email_or_password_asks_for_both(sqlite_server: LiveServer, people: People) -> None:
    with httpx.Client(base_url=sqlite_server.url) as browser:
        response = login(browser, people.person["email"], "")
    assert response.status_code == 400
    assert alert_in(response.text) == "Enter your email and password."


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/path",
        "https://evil.example",
        "http:evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        " //evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
    ids=[
        "protocol-relative",
        "protocol-relative-path",
        "absolute-https",
        "scheme-without-slashes",
        "backslash",
        "backslash-slash",
        "double-backslash",
        "tab-inside-slashes",
        "leading-space",
        "javascript",
        "relative-host",
    ],
)
def test_next_off_site_is_replaced_by_the_home_page(sqlite_server: LiveServer, people: People, target: str) -> None:
    with httpx.Client(base_url=sqlite_server.url) as browser:
        page = browser.get("/login", params={"next": target})
        assert page.status_code == 200
        assert next_in(page.text) == "/"
        response = login(browser, people.person["email"], people.person["password"], next_url=target)
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        already_logged_in = browser.get("/login", params={"next": target})
    assert already_logged_in.status_code == 303
    assert already_logged_in.headers["location"] == "/"


@pytest.mark.parametrize(
    "target",
    ["/", "/?tab=apps", "/oauth/authorize?client_id=abc&state=xyz&scope=openid%20email"],
    ids=["home", "home-with-query", "authorize-request"],
)
def test_next_local_path_is_followed_after_login(sqlite_server: LiveServer, people: People, target: str) -> None:
    with httpx.Client(base_url=sqlite_server.url) as browser:
        assert next_in(browser.get("/login", params={"next": target}).text) == target
        response = login(browser, people.person["email"], people.person["password"], next_url=target)
    assert response.status_code == 303
    assert response.headers["location"] == target


@pytest.mark.parametrize(
    "form",
    [{}, {"csrf_token": ""}, {"csrf_token": "forged"}],
    ids=["missing-token", "empty-token", "forged-token"],
)
def test_login_without_a_valid_csrf_token_is_400_and_does_not_log_in(
    sqlite_server: LiveServer, people: People, form: dict[str, str]
) -> None:
    with httpx.Client(base_url=sqlite_server.url) as browser:
        browser.get("/login")
        assert CSRF_COOKIE in browser.cookies
        response = browser.post(
            "/login", data={**form, "email": people.person["email"], "password": people.person["password"]}
        )
        assert response.status_code == 400
        assert alert_in(response.text) == CSRF_FAILED
        assert set_cookie_headers(response, SESSION_COOKIE) == []
        assert not is_logged_in(browser)


def test_csrf_token_of_another_browser_is_rejected(sqlite_server: LiveServer, people: People) -> None:
    with httpx.Client(base_url=sqlite_server.url) as attacker:
        token = csrf_token_in(attacker.get("/login").text)
    with httpx.Client(base_url=sqlite_server.url) as victim:
        victim.get("/login")
        response = victim.post(
            "/login",
            data={"csrf_token": token, "email": people.person["email"], "password": people.person["password"]},
        )
        assert response.status_code == 400
        assert alert_in(response.text) == CSRF_FAILED
        assert not is_logged_in(victim)
    with httpx.Client(base_url=sqlite_server.url) as no_cookie:
        response = no_cookie.post(
            "/login",
            data={"csrf_token": token, "email": people.person["email"], "password": people.person["password"]},
        )
    assert response.status_code == 400
    assert alert_in(response.text) == CSRF_FAILED


def test_logout_without_a_valid_csrf_token_keeps_the_session(sqlite_server: LiveServer, people: People) -> None:
    with httpx.Client(base_url=sqlite_server.url) as browser:
        assert login(browser, people.person["email"], people.person["password"]).status_code == 303
        response = browser.post("/logout", data={"csrf_token": "forged"})
        assert response.status_code == 400
        assert alert_in(response.text) == CSRF_FAILED
        assert is_logged_in(browser)


def test_logout_ends_the_session_on_the_server_not_only_in_the_browser(
    sqlite_server: LiveServer, people: People
) -> None:
    with httpx.Client(base_url=sqlite_server.url) as browser:
        assert login(browser, people.person["email"], people.person["password"]).status_code == 303
        stolen = browser.cookies[SESSION_COOKIE]
        home = browser.get("/")
        response = browser.post("/logout", data={"csrf_token": csrf_token_in(home.text)})
        assert response.status_code == 200
        assert "<h1>You are logged out</h1>" in response.text
        assert set_cookie_headers(response, SESSION_COOKIE)[0].startswith(f'{SESSION_COOKIE}=""; expires=')
        assert not is_logged_in(browser)
    with httpx.Client(base_url=sqlite_server.url, cookies={SESSION_COOKIE: stolen}) as thief:
        assert not is_logged_in(thief)


def test_logging_in_again_replaces_the_old_session(sqlite_server: LiveServer, people: People) -> None:
    with httpx.Client(base_url=sqlite_server.url) as browser:
        assert login(browser, people.person["email"], people.person["password"]).status_code == 303
        first = browser.cookies[SESSION_COOKIE]
        switched = browser.get("/login", params={"switch": "1"})
        response = browser.post(
            "/login",
            data={
                "csrf_token": csrf_token_in(switched.text),
                "email": people.person["email"],
                "password": people.person["password"],
            },
        )
        assert response.status_code == 303
        assert browser.cookies[SESSION_COOKIE] != first
        assert is_logged_in(browser)
    with httpx.Client(base_url=sqlite_server.url, cookies={SESSION_COOKIE: first}) as old:
        assert not is_logged_in(old)


# -- a private server: https issuer, lockout after 3 failures --------------------------------------


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One private server for the https cookie and lockout tests (the shared ones keep the defaults)."""
    var_dir = tmp_path_factory.mktemp("gatepass-strict")
    live = LiveServer(
        "sqlite",
        var_dir,
        Database.create("sqlite", var_dir),
        extra_env={
            "GATEPASS_SERVER_ISSUER": HTTPS_ISSUER,
            "GATEPASS_SECURITY_LOGIN_FAILURES_BEFORE_LOCKOUT": str(LOCKOUT_FAILURES),
        },
    ).start()
    yield live
    live.stop()


def https_login(server: LiveServer, email: str, password: str) -> httpx.Response:
    """Log in through plain http to a server whose issuer is https: the Secure cookies are sent by hand."""
    with httpx.Client(base_url=server.url) as browser:
        page = browser.get("/login")
        [csrf_cookie] = set_cookie_headers(page, f"__Host-{CSRF_COOKIE}")
        return browser.post(
            "/login",
            data={"csrf_token": csrf_token_in(page.text), "email": email, "password": password},
            headers={"cookie": csrf_cookie.split(";", 1)[0]},
        )


def test_session_cookie_is_secure_and_host_bound_when_the_issuer_is_https(strict_server: LiveServer) -> None:
    user = strict_server.create_user()
    response = https_login(strict_server, user["email"], user["password"])
    assert response.status_code == 303
    [session_cookie] = set_cookie_headers(response, f"__Host-{SESSION_COOKIE}")
    assert re.fullmatch(
        rf"__Host-{SESSION_COOKIE}=[A-Za-z0-9_-]{{43,}}; HttpOnly; Path=/; SameSite=lax; Secure", session_cookie
    ), session_cookie


def test_repeated_failures_lock_the_email_out_with_retry_after(strict_server: LiveServer) -> None:
    user = strict_server.create_user()
    for _ in range(LOCKOUT_FAILURES):
        failed = https_login(strict_server, user["email"], "not-the-password")
        assert failed.status_code == 401
        assert alert_in(failed.text) == BAD_LOGIN

    locked = https_login(strict_server, user["email"], user["password"])
    assert locked.status_code == 429
    retry_after = int(locked.headers["retry-after"])
    assert 0 < retry_after <= 300
    assert alert_in(locked.text) == f"Too many failed attempts. Try again in {retry_after} seconds."
    assert set_cookie_headers(locked, f"__Host-{SESSION_COOKIE}") == []


def test_unknown_email_is_locked_out_like_a_known_one(strict_server: LiveServer) -> None:
    unknown = f"nobody-{secrets.token_hex(4)}@example.com"
    statuses = [https_login(strict_server, unknown, "not-the-password").status_code for _ in range(LOCKOUT_FAILURES)]
    assert statuses == [401] * LOCKOUT_FAILURES
    locked = https_login(strict_server, unknown, "not-the-password")
    assert locked.status_code == 429
    assert alert_in(locked.text) == f"Too many failed attempts. Try again in {locked.headers['retry-after']} seconds."
