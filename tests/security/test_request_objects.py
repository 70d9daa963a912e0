"""Request objects (RFC 9101) are read, never ignored: only a signed one counts, and a request_uri that is
not this server's own (from a push, RFC 9126) is refused rather than fetched or ignored.

A server that silently ignored ``request`` or ``request_uri`` would act on the plain parameters instead of
those the client signed. An unsigned object is refused as invalid_request_object on a page (the redirect
URI it names is unproven); a request_uri by reference is answered request_uri_not_supported (OIDC Core
§3.1.2.6), redirected like any other error the client may see, to its verified redirect URI only.
tests/flows/request_objects/ covers signed objects end to end.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from support.browser import FRAPPE_AUTHORIZE, HttpBrowser, assert_error_page, assert_error_redirect, code_request
from support.pkce import Pkce
from support.server import LiveServer

UNSIGNED = "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCBhZG1pbiJ9."
FOREIGN_REQUEST_URI = {"request_uri": "https://app.example.com/request.jwt"}
NOT_SUPPORTED = (
    "request_uri_not_supported",
    "Only a request_uri from this server's pushed authorization request endpoint is accepted: send the "
    "request object by value (request), or push it",
)


@pytest.fixture(scope="module")
def client(server: LiveServer) -> dict[str, Any]:
    return server.create_client(name="Request Object App")


async def test_a_request_uri_by_reference_is_refused_to_the_verified_redirect_uri(
    server: LiveServer, client: dict[str, Any]
) -> None:
    request = {**code_request(client, Pkce.new()), **FOREIGN_REQUEST_URI}
    async with HttpBrowser(server) as browser:
        outcome = await browser.authorize(request)
        frappe = await browser.authorize(
            {**code_request(client, Pkce.new()), **FOREIGN_REQUEST_URI}, path=FRAPPE_AUTHORIZE
        )
    assert outcome.pages == []
    assert_error_redirect(outcome, server, *NOT_SUPPORTED, state=request["state"])
    assert frappe.params["error"] == NOT_SUPPORTED[0]


async def test_an_unsigned_request_object_is_refused_even_for_a_logged_in_user_with_consent_given(
    server: LiveServer, client: dict[str, Any]
) -> None:
    async with HttpBrowser(server, server.create_user()) as browser:
        first = await browser.authorize(code_request(client, Pkce.new()))
        assert "code" in first.params
        refused = await browser.authorize({**code_request(client, Pkce.new()), "request": UNSIGNED})
    assert_error_page(
        refused.response,
        "Error code: invalid_request_object",
        "The request object must be signed: alg none is not accepted",
    )


async def test_a_request_uri_for_an_unverified_redirect_uri_is_a_page(
    server: LiveServer, client: dict[str, Any]
) -> None:
    request = {**code_request(client, Pkce.new(), redirect_uri="https://evil.example/cb"), **FOREIGN_REQUEST_URI}
    async with HttpBrowser(server) as browser:
        outcome = await browser.authorize(request)
    assert_error_page(outcome.response, "Error code: invalid_redirect_uri")


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"])
async def test_discovery_says_request_objects_by_value_only(server: LiveServer, path: str) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        metadata = (await http.get(path)).json()
    assert metadata["request_parameter_supported"] is True
    assert metadata["request_uri_parameter_supported"] is False
    assert "none" not in metadata["request_object_signing_alg_values_supported"]
