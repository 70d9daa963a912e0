"""At a phone's 390 px nothing on a page a person sees makes the page scroll sideways."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

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

from support.console import ConsoleSession, log_in_page
from support.pkce import s256
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, REDIRECT_URI, LiveServer

pytestmark = pytest.mark.browser

PHONE_WIDTH = 390

#: The widest element that sticks out of the viewport, for a message that says where to look.
_OVERFLOW = """(width) => {
  const page = document.scrollingElement.scrollWidth;
  if (page <= width) return null;
  let worst = null;
  for (const element of document.querySelectorAll('body *')) {
    const right = element.getBoundingClientRect().right;
    if (right > width + 1 && (!worst || right > worst.right)) {
      worst = {right, tag: element.tagName.toLowerCase() + (element.className ? '.' + element.className : ''),
               text: (element.textContent || '').trim().slice(0, 60)};
    }
  }
  return {page, worst};
}"""


@pytest.fixture
async def phone(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport={"width": PHONE_WIDTH, "height": 844})
    yield await context.new_page()
    await context.close()


async def _connect_an_app(
    server: LiveServer, phone: Any, user: dict[str, Any], client_id: str, secret: str
) -> dict[str, Any] | None:
    """The user allows the app and the app redeems its code, so Connected apps has a row.

    Returns how the consent page overflowed, if it did.
    """
    verifier = secrets.token_urlsafe(48)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email roles all",
        "state": "narrow",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    await phone.goto(f"{server.url}/oauth/authorize?{urlencode(params)}")
    await log_in_page(phone, user["email"], user["password"])
    consent_overflow: dict[str, Any] | None = await phone.evaluate(_OVERFLOW, PHONE_WIDTH)
    async with phone.expect_response(lambda r: r.url.endswith("/oauth/consent")) as consent:
        await phone.get_by_role("button", name="Allow").click()
    code = query_of((await consent.value).headers["location"])["code"]
    await settle_on_the_unreachable_callback(phone)
    await exchange_code(server, client_id, secret, code, verifier)
    return consent_overflow


async def test_no_page_scrolls_sideways_at_390_px(sqlite_server: LiveServer, phone: Any) -> None:
    async with ConsoleSession(sqlite_server) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        user = await console_user(admin, first_name="Ada")
        client_id, secret = await console_client(admin, f"A rather long application name {secrets.token_hex(8)}")
        user_id = await user_id_of(admin, user["email"])
    assert secret is not None
    failures: list[str] = []
    await phone.goto(f"{sqlite_server.url}/login")
    found = await phone.evaluate(_OVERFLOW, PHONE_WIDTH)
    if found:
        failures.append(f"/login: {found}")
    found = await _connect_an_app(sqlite_server, phone, user, client_id, secret)
    if found:
        failures.append(f"consent: {found}")
    await phone.goto(f"{sqlite_server.url}/")
    assert await phone.get_by_role("button", name="Revoke access of ", exact=False).count() == 1
    await shot(phone, "narrow-connected-apps")
    found = await phone.evaluate(_OVERFLOW, PHONE_WIDTH)
    if found:
        failures.append(f"/ (connected apps): {found}")
    await phone.context.clear_cookies()
    await phone.goto(f"{sqlite_server.url}/login")
    await log_in_page(phone, ADMIN_EMAIL, ADMIN_PASSWORD)
    paths = [
        "/",
        *(
            path
            for method, path in admin_paths(client_id=client_id, user_id=user_id, doctype="Note", provider="new")
            if method == "GET" and not path.startswith("/admin/providers/new/")
        ),
    ]
    for path in paths:
        response = await phone.goto(f"{sqlite_server.url}{path}")
        if response.status >= 400:
            continue
        found = await phone.evaluate(_OVERFLOW, PHONE_WIDTH)
        if found:
            failures.append(f"{path}: {found}")
            await shot(phone, f"narrow{path.replace('/', '-')}")
    assert not failures, "\n".join(failures)
