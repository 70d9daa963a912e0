"""Request objects (OIDC Core §6) are refused, not ignored, until they are built.

A server that silently ignored ``request`` or ``request_uri`` would act on the plain parameters
instead of those the client put (and perhaps signed) in the object. OIDC Core §3.1.2.6 names the
answers: request_not_supported and request_uri_not_supported, redirected like any other error
the client may see (to its verified redirect URI only), and discovery says that neither is
supported. A request_uri from the pushed authorization request endpoint (RFC 9126) is another
matter: tests/flows/pushed_authorization/ covers it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from support.browser import FRAPPE_AUTHORIZE, HttpBrowser, assert_error_page, assert_error_redirect, code_request
from support.pkce import Pkce
from support.server import LiveServer

REQUEST_OBJECT = "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCBhZG1pbiJ9."
CASES = {
    "request": (
        {"request": REQUEST_OBJECT},
        "request_not_supported",
        "The request parameter (a request object) is not supported; send plain parameters",
    ),
    "request_uri": (
        {"request_uri": "https://app.example.com/request.jwt"},
        "request_uri_not_supported",
        "The request_uri parameter is not supported; send plain parameters",
    ),
}


@pytest.fixture(scope="module")
def client(server: LiveServer) -> dict[str, Any]:
    return server.create_client(name="Request Object App")


@pytest.mark.parametrize(("extra", "error", "description"), list(CASES.values()), ids=list(CASES))
async def test_request_object_parameters_are_refused_to_the_verified_redirect_uri(
    server: LiveServer, client: dict[str, Any], extra: dict[str, str], error: str, description: str
) -> None:
    request = {**code_request(client, Pkce.new()), **extra}
    async with HttpBrowser(server) as browser:
        outcome = await browser.authorize(request)
        frappe = await browser.authorize({**code_request(client, Pkce.new()), **extra}, path=FRAPPE_AUTHORIZE)
    assert outcome.pages == []
    assert_error_redirect(outcome, server, error, description, state=request["state"])
    assert frappe.params["error"] == error


async def test_request_object_is_refused_even_for_a_logged_in_user_with_consent_given(
    server: LiveServer, client: dict[str, Any]
) -> None:
    async with HttpBrowser(server, server.create_user()) as browser:
        first = await browser.authorize(code_request(client, Pkce.new()))
        assert "code" in first.params
        request = {**code_request(client, Pkce.new()), "request": REQUEST_OBJECT}
        refused = await browser.authorize(request)
    assert_error_redirect(refused, server, *CASES["request"][1:], state=request["state"])


async def test_request_object_for_an_unverified_redirect_uri_is_a_page(
    server: LiveServer, client: dict[str, Any]
) -> None:
    request = {**code_request(client, Pkce.new(), redirect_uri="https://evil.example/cb"), "request": REQUEST_OBJECT}
    async with HttpBrowser(server) as browser:
        outcome = await browser.authorize(request)
    assert_error_page(outcome.response, "Error code: invalid_redirect_uri")


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"])
async def test_discovery_says_request_objects_are_not_supported(server: LiveServer, path: str) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        metadata = (await http.get(path)).json()
    assert metadata["request_parameter_supported"] is False
    assert metadata["request_uri_parameter_supported"] is False
    assert "request_object_signing_alg_values_supported" not in metadata
