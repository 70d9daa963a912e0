"""NUL and lone surrogates are bad input, refused before any database sees them: a 400, never a fake outage.

PostgreSQL refuses both in text and a driver cannot encode a lone surrogate; the answer used to
be 503 temporarily_unavailable with Retry-After on PostgreSQL and something else elsewhere. Now
the edge (web/requests.py) refuses them in the path and the query, the I-JSON parser
(protocol/rfc7493_ijson.py) in JSON bodies, the document API in its credentials, each in the
endpoint's own error shape and the same on every backend. Only a real database failure is a 503.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterator

import httpx
import pytest

from support.logs import LogWindow
from support.server import LiveServer

NUL_IN_PATH = "The URL path contains a NUL character; no name or identifier holds one"
GOOD_METADATA = {"client_name": "Edge test", "redirect_uris": ["https://app.example.com/cb"]}


@pytest.fixture
def log(server: LiveServer) -> Iterator[LogWindow]:
    """The server log of one test, which must not call bad input an outage."""
    window = LogWindow(server)
    yield window
    logged = window.text()
    assert "dependency unavailable" not in logged
    assert "Traceback" not in logged


def _alert(page: str) -> str:
    start = page.index('role="alert">') + len('role="alert">')
    return html.unescape(page[start : page.index("</p>", start)])


@pytest.fixture(scope="module")
def open_registration(server: LiveServer) -> Iterator[None]:
    server.cli("settings", "set", "registration_mode", "open")
    try:
        yield
    finally:
        server.cli("settings", "set", "registration_mode", "off")


# -- pages: a 400 page ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login/%00/start", "/login/github%00/callback?code=x&state=y"])
def test_nul_in_the_social_login_path_is_a_400_page(server: LiveServer, log: LogWindow, path: str) -> None:
    response = httpx.get(f"{server.url}{path}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert _alert(response.text) == NUL_IN_PATH


def test_a_lone_surrogate_in_the_social_login_path_is_an_unknown_provider(server: LiveServer, log: LogWindow) -> None:
    # Percent-decoding turns %ED%A0%80 into U+FFFD replacement characters: text like any other.
    response = httpx.get(f"{server.url}/login/%ED%A0%80/start")
    assert response.status_code == 404


def test_nul_in_an_authorization_request_is_a_400_page_not_a_redirect(server: LiveServer, log: LogWindow) -> None:
    response = httpx.get(
        f"{server.url}/oauth/authorize?response_type=code&client_id=%00&redirect_uri=https://evil.example/cb"
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert _alert(response.text) == (
        "The query parameter 'client_id' contains a NUL character; no parameter value holds one"
    )


# -- OAuth endpoints: their JSON error -----------------------------------------------------------


def test_nul_in_a_client_configuration_path_is_invalid_request(server: LiveServer, log: LogWindow) -> None:
    response = httpx.get(f"{server.url}/oauth/register/%00", headers={"Authorization": "Bearer x"})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": NUL_IN_PATH}
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("raw_name", "description"),
    [
        ('"app\\u0000"', "client_name contains a NUL character, which no value may hold"),
        ('"app\\ud800"', "client_name contains a lone surrogate (U+D800 to U+DFFF), which no value may hold"),
        ('"\\udc00app"', "client_name contains a lone surrogate (U+D800 to U+DFFF), which no value may hold"),
    ],
    ids=["nul", "high-surrogate", "low-surrogate"],
)
def test_unusable_text_in_a_registration_is_invalid_client_metadata(
    server: LiveServer, open_registration: None, log: LogWindow, raw_name: str, description: str
) -> None:
    body = '{"client_name": ' + raw_name + ', "redirect_uris": ["https://app.example.com/cb"]}'
    response = httpx.post(f"{server.url}/oauth/register", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client_metadata", "error_description": description}


def test_a_surrogate_pair_is_an_ordinary_character(server: LiveServer, open_registration: None) -> None:
    body = json.dumps({**GOOD_METADATA, "client_name": "Grinning \U0001f600"})  # sent as \ud83d\ude00
    assert "\\ud83d\\ude00" in body
    response = httpx.post(f"{server.url}/oauth/register", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    assert response.json()["client_name"] == "Grinning \U0001f600"


def test_nul_in_a_token_request_is_invalid_request(server: LiveServer, log: LogWindow) -> None:
    response = httpx.post(f"{server.url}/oauth/token?client_id=%00", data={"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The query parameter 'client_id' contains a NUL character; no parameter value holds one",
    }


# -- the document API: its error shape -----------------------------------------------------------


def _document_error(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["exc_type"], body["error"], body["error_description"]) == (
        "ValidationError",
        "invalid_request",
        message,
    )
    assert json.loads(json.loads(body["_server_messages"])[0])["message"] == message


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("path", ["/api/resource/ToDo/%00", "/api/resource/%00", "/api/v1/resource/ToDo/a%00b/"])
def test_nul_in_a_document_path_is_a_400(
    server: LiveServer, api_token: str, log: LogWindow, method: str, path: str
) -> None:
    response = httpx.request(method, f"{server.url}{path}", headers={"Authorization": f"Bearer {api_token}"}, json={})
    _document_error(response, NUL_IN_PATH)


def test_nul_in_a_list_query_is_a_400(server: LiveServer, api_token: str, log: LogWindow) -> None:
    response = httpx.get(
        f"{server.url}/api/resource/ToDo?fields=%5B%22name%00%22%5D", headers={"Authorization": f"Bearer {api_token}"}
    )
    _document_error(response, "The query parameter 'fields' contains a NUL character; no parameter value holds one")


@pytest.mark.parametrize("credentials", [b"key\x00:secret", b"key:sec\x00ret"], ids=["nul-in-key", "nul-in-secret"])
def test_nul_in_a_basic_api_key_is_a_400(server: LiveServer, log: LogWindow, credentials: bytes) -> None:
    response = httpx.get(
        f"{server.url}/api/resource/ToDo",
        headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()},
    )
    _document_error(
        response,
        "The API key or secret in the Authorization header contains a NUL character; send the key pair exactly as issued",
    )


@pytest.mark.parametrize(
    ("raw_name", "message"),
    [
        ('"a\\u0000b"', "name: a name is text without '/', control characters or surrounding spaces"),
        ('"a\\ud800b"', "name: the text is not valid Unicode"),
    ],
    ids=["nul", "lone-surrogate"],
)
def test_unusable_text_in_a_document_name_is_a_validation_error(
    server: LiveServer, api_token: str, log: LogWindow, raw_name: str, message: str
) -> None:
    response = httpx.post(
        f"{server.url}/api/resource/ToDo",
        content='{"description": "x", "name": ' + raw_name + "}",
        headers={"Authorization": f"Bearer {api_token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 417, response.text
    assert (response.json()["field"], response.json()["error_description"]) == ("name", message)
    lookup = httpx.get(f"{server.url}/api/resource/ToDo/a%ED%A0%80b", headers={"Authorization": f"Bearer {api_token}"})
    assert lookup.status_code == 404
