"""Every page a person sees passes axe-core at WCAG 2.1 AA, and the main journeys work by keyboard alone.

axe-core is the npm package (node_modules/, installed by `make test`), injected into Debian's
headless Chromium; nothing is downloaded at test time.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyotp
import pytest
from console_support import (
    admin_paths,
    console_client,
    console_user,
    exchange_code,
    query_of,
    settle_on_the_unreachable_callback,
    shot,
    user_id_of,
)

from support.backends import require
from support.console import ConsoleSession, log_in_page
from support.pkce import s256
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, REDIRECT_URI, LiveServer

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent.parent.parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def axe_source() -> str:
    require(None if AXE.exists() else f"{AXE} is missing: run `npm ci` (make test does)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A page whose context lets the test inject axe-core past the server's strict CSP."""
    context = await browser.new_context(bypass_csp=True)
    yield await context.new_page()
    await context.close()


async def violations(page: Any, axe_source: str) -> list[str]:
    """axe-core's WCAG 2.1 AA violations on the page as it is now, one readable line each."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(content=axe_source)
    found = await page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
        ".map(v => v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))",
        WCAG_21_AA,
    )
    return [str(line) for line in found]


async def assert_accessible(page: Any, axe_source: str, where: str) -> None:
    found = await violations(page, axe_source)
    assert not found, f"{where} ({page.url}):\n" + "\n".join(found)


def _authorization_url(server: LiveServer, client_id: str, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email roles",
        "state": secrets.token_urlsafe(8),
        "code_challenge": s256(secrets.token_urlsafe(48)),
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{server.url}/oauth/authorize?{urlencode(params)}"


async def _fixtures(server: LiveServer) -> tuple[dict[str, Any], str]:
    user, client_id, _ = await _user_and_client(server)
    return user, client_id


async def _user_and_client(server: LiveServer) -> tuple[dict[str, Any], str, str]:
    async with ConsoleSession(server) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        user = await console_user(admin, first_name="Ada")
        client_id, secret = await console_client(admin, f"Reader {secrets.token_hex(3)}")
    assert secret is not None
    return user, client_id, secret


async def test_login_consent_error_and_account_pages_pass_axe(
    sqlite_server: LiveServer, page: Any, axe_source: str
) -> None:
    user, client_id = await _fixtures(sqlite_server)

    await page.goto(f"{sqlite_server.url}/login")
    await assert_accessible(page, axe_source, "login")
    await page.fill("#email", user["email"])
    await page.fill("#password", "not-the-password")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log in", exact=True).click()
    await assert_accessible(page, axe_source, "login with an error")

    await page.goto(_authorization_url(sqlite_server, "no-such-client"))
    await assert_accessible(page, axe_source, "authorization error page")

    await page.goto(_authorization_url(sqlite_server, client_id))
    await log_in_page(page, user["email"], user["password"])
    await assert_accessible(page, axe_source, "consent")
    # The app's name is not a link and must not look like one.
    name_color, heading_color = await page.locator("h1 .app").evaluate(
        "e => [getComputedStyle(e).color, getComputedStyle(e.closest('h1')).color]"
    )
    assert name_color == heading_color
    assert await page.locator("h1 a").count() == 0

    await page.goto(f"{sqlite_server.url}/")
    await assert_accessible(page, axe_source, "account home")
    await page.goto(f"{sqlite_server.url}/account/passkeys")
    await assert_accessible(page, axe_source, "passkeys (none yet, and the form to add one)")
    await page.goto(f"{sqlite_server.url}/oauth/logout")
    await assert_accessible(page, axe_source, "logout confirmation")


async def test_every_console_page_passes_axe(sqlite_server: LiveServer, page: Any, axe_source: str) -> None:
    user, client_id = await _fixtures(sqlite_server)
    async with ConsoleSession(sqlite_server) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        user_id = await user_id_of(admin, user["email"])
    await page.goto(f"{sqlite_server.url}/login")
    await log_in_page(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    paths = admin_paths(client_id=client_id, user_id=user_id, doctype="Note", provider="new", grant_id=1)
    failures: list[str] = []
    for method, path in paths:
        if method != "GET" or path.startswith("/admin/providers/new/"):
            continue
        response = await page.goto(f"{sqlite_server.url}{path}")
        if response.status >= 400:
            continue
        found = await violations(page, axe_source)
        if found:
            failures.append(f"{path}:\n  " + "\n  ".join(found))
    await shot(page, "console-last-axe-page")
    assert not failures, "\n".join(failures)


async def test_keyboard_alone_logs_in_and_allows(sqlite_server: LiveServer, page: Any) -> None:
    user, client_id = await _fixtures(sqlite_server)
    await page.goto(_authorization_url(sqlite_server, client_id))
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.id || document.activeElement.textContent")
    assert focused, "Tab moves the focus somewhere visible"
    await page.focus("#email")
    await page.keyboard.type(user["email"])
    await page.keyboard.press("Tab")
    await page.keyboard.type(user["password"])
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    allow = page.get_by_role("button", name="Allow")
    await allow.focus()
    outline = await allow.evaluate("b => getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth")
    assert not outline.startswith("none"), f"the focused Allow button shows a focus ring, got {outline}"
    async with page.expect_response(lambda r: r.url.endswith("/oauth/consent")) as consent:
        await page.keyboard.press("Enter")
    answer = await consent.value
    assert answer.status == 303
    assert answer.headers["location"].startswith(f"{REDIRECT_URI}?code=")


_CONTRAST = """(pair) => {
  const rgb = (css) => css.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
  const luminance = (css) => { const [r, g, b] = rgb(css).map(channel); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const [a, b] = pair.map(luminance).sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


async def test_field_borders_and_the_focus_ring_reach_three_to_one(sqlite_server: LiveServer, page: Any) -> None:
    """WCAG 2.1 SC 1.4.11 (non-text contrast), which axe-core does not measure."""
    await page.goto(f"{sqlite_server.url}/login")
    email = page.locator("#email")
    border, background = await email.evaluate(
        "e => [getComputedStyle(e).borderTopColor, getComputedStyle(e.closest('main')).backgroundColor]"
    )
    assert await page.evaluate(_CONTRAST, [border, background]) >= 3, (border, background)
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    ring = await page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineColor]; }"
    )
    assert ring[0] != "none", "the element reached by Tab shows a focus ring"
    assert await page.evaluate(_CONTRAST, [ring[1], background]) >= 3, (ring, background)


async def test_keyboard_alone_creates_a_client_and_revokes_an_app(sqlite_server: LiveServer, page: Any) -> None:
    user, client_id, secret = await _user_and_client(sqlite_server)
    await page.goto(f"{sqlite_server.url}/login?next=/admin/clients/new")
    await page.focus("#email")
    await page.keyboard.type(ADMIN_EMAIL)
    await page.keyboard.press("Tab")
    await page.keyboard.type(ADMIN_PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/admin/clients/new")
    app_name = f"Keyboard App {secrets.token_hex(3)}"
    await page.focus("#app_name")
    await page.keyboard.type(app_name)
    await page.focus("#redirect_uris")
    await page.keyboard.type(REDIRECT_URI)
    await page.get_by_role("button", name="Create client").focus()
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert app_name in await page.inner_text("main"), (await page.locator(".error").all_inner_texts(), page.url)

    verifier = secrets.token_urlsafe(48)
    await page.goto(_authorization_url(sqlite_server, client_id, prompt="login", code_challenge=s256(verifier)))
    await page.focus("#email")
    await page.keyboard.type(user["email"])
    await page.keyboard.press("Tab")
    await page.keyboard.type(user["password"])
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    async with page.expect_response(lambda r: r.url.endswith("/oauth/consent")) as consent:
        await page.get_by_role("button", name="Allow").focus()
        await page.keyboard.press("Enter")
    code = query_of((await consent.value).headers["location"])["code"]
    await settle_on_the_unreachable_callback(page)
    await exchange_code(sqlite_server, client_id, secret, code, verifier)
    await page.goto(f"{sqlite_server.url}/")
    revoke = page.get_by_role("button", name="Revoke access of ", exact=False)
    assert await revoke.count() == 1, await page.inner_text("body")
    await revoke.focus()
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.get_by_role("button", name="Revoke access", exact=True).focus()
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await page.get_by_role("button", name="Revoke access of ", exact=False).count() == 0


async def test_two_factor_pages_pass_axe(sqlite_server: LiveServer, page: Any, axe_source: str) -> None:
    user = sqlite_server.create_user()
    await page.goto(f"{sqlite_server.url}/login?next=/account/two-factor")
    await log_in_page(page, user["email"], user["password"])
    await assert_accessible(page, axe_source, "set up two-factor login (QR code and key)")
    secret = (await page.text_content("#totp-secret") or "").strip()
    await page.fill("#code", pyotp.TOTP(secret).now())
    async with page.expect_navigation():
        await page.click("form[action$='/enrol'] button[type=submit]")
    await assert_accessible(page, axe_source, "recovery codes")
    await page.goto(f"{sqlite_server.url}/account/two-factor")
    await assert_accessible(page, axe_source, "managing two-factor login")
    await page.context.clear_cookies()
    await page.goto(f"{sqlite_server.url}/login")
    await log_in_page(page, user["email"], user["password"])
    assert page.url.startswith(f"{sqlite_server.url}/login/second-factor")
    await assert_accessible(page, axe_source, "the second step of a login")
