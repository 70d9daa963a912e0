"""The docs page in a real browser: Swagger UI runs under its CSP and its Authorize button works."""

from __future__ import annotations

from typing import Any

import pytest

from support.server import LiveServer


@pytest.mark.browser
async def test_the_authorize_button_gets_a_token_from_gatepass_and_lists_todos(
    sqlite_server: LiveServer, page: Any
) -> None:
    server = sqlite_server
    user = server.create_user()
    client = server.create_client(
        "--public", "--redirect-uri", f"{server.url}/api/docs/oauth2-redirect", "--scope", "all", name="API docs"
    )
    blocked: list[str] = []
    page.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    )
    await page.goto(f"{server.url}/api/docs?client_id={client['client_id']}")
    await page.click(".scheme-container .btn.authorize")
    async with page.expect_popup() as opened:
        await page.click(".auth-container .btn.modal-btn.auth.authorize")
    popup = await opened.value
    await popup.fill("input[name=email]", user["email"])
    await popup.fill("input[name=password]", user["password"])
    await popup.click("form[action='/login'] button[type=submit]")
    # Waiting from before the click: the redirect page closes the popup at once, maybe before a later wait began.
    async with popup.expect_event("close"):
        await popup.click("button[name=decision][value=allow]")
    await page.wait_for_selector(".auth-container .btn.modal-btn.auth:has-text('Logout')")
    await page.click(".btn-done")
    await page.click("#operations-ToDo-get_list_ToDo .opblock-summary")
    await page.click("#operations-ToDo-get_list_ToDo .try-out__btn")
    await page.click("#operations-ToDo-get_list_ToDo .execute")
    status = await page.wait_for_selector(
        "#operations-ToDo-get_list_ToDo .live-responses-table tbody .response-col_status"
    )
    assert (await status.inner_text()).strip() == "200"
    assert blocked == []
