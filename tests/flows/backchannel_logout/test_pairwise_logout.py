"""A pairwise client (OpenID Connect Core §8) is told of a logout by the sub its id_token gave it, and its
id_token as a logout hint names the user logged in (RP-Initiated Logout §2), so no confirmation is asked."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from logout_support import QUICK_DELIVERY, check_delivery, logout_client, receiver, sign_in

from support.backends import FLOW_BACKENDS
from support.browser import HttpBrowser
from support.server import LiveServer


@pytest.mark.parametrize("backend", FLOW_BACKENDS)
async def test_a_pairwise_clients_logout_token_names_the_user_by_its_pairwise_sub(
    backend: str, start_server: Callable[..., LiveServer]
) -> None:
    server = start_server(backend, **QUICK_DELIVERY)
    user = server.create_user()
    with receiver() as app:
        client = logout_client(server, app.uri, "--subject-type", "pairwise", name="Pairwise, told of logouts")
        async with HttpBrowser(server, user) as browser:
            hint, id_token = await sign_in(browser, client)
            logout = await browser.http.get("/oauth/logout?" + urlencode({"id_token_hint": hint}))
            assert logout.status_code == 200, logout.text
            assert not await browser.is_logged_in()
        (delivered,) = app.wait_for(accepted=1)
    claims = check_delivery(delivered, server, client["client_id"])
    assert (claims["sub"], claims["sid"]) == (id_token["sub"], id_token["sid"])
    assert claims["sub"] != user["sub"]
