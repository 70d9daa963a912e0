"""Deeply nested JSON, clients that hang up mid-body and an unexpected failure: a clear answer, never a 500 leak.

STYLE.md §3: every client-visible failure is a typed error in the endpoint's shape; anything
unexpected is a generic server_error with the request id, under the same security headers as
every other answer, and its traceback goes to the log once.
"""

from __future__ import annotations

import base64
import html
import json
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from support.logs import LogWindow
from support.server import LiveServer

DEEP = 1400  # past CPython's recursion limit, and still short enough for a query parameter (4096 characters)
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
    "frame-ancestors 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


DUPLICATE_AUD = b'{"aud": 1, "aud": 2}'


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _alert(page: str) -> str:
    start = page.index('role="alert">') + len('role="alert">')
    return html.unescape(page[start : page.index("</p>", start)])


# -- id_token_hint at the end-session endpoint (no login needed) --------------------------------


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        (
            f"{_b64(b'{}')}.{_b64(_nested(DEEP).encode())}.sig",
            "id_token_hint is not a JWT: its payload nests arrays and objects more than 32 levels deep",
        ),
        (
            f"{_b64(_nested(DEEP).encode())}.{_b64(b'{}')}.sig",
            "id_token_hint is not a JWT: its header nests arrays and objects more than 32 levels deep",
        ),
        (
            f"{_b64(b'{}')}.{_b64(DUPLICATE_AUD)}.sig",
            "id_token_hint is not a JWT: its payload has the member 'aud' more than once; send each member once",
        ),
    ],
    ids=["deep-payload", "deep-header", "duplicate-claim"],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_deeply_nested_id_token_hint_gets_the_logout_error_page(
    sqlite_server: LiveServer, method: str, hint: str, message: str
) -> None:
    log = LogWindow(sqlite_server)
    if method == "GET":
        response = httpx.get(f"{sqlite_server.url}/oauth/logout", params={"id_token_hint": hint})
    else:
        response = httpx.post(f"{sqlite_server.url}/oauth/logout", data={"id_token_hint": hint})
    assert response.status_code == 400
    assert _alert(response.text) == message
    assert "Traceback" not in log.wait_for("/oauth/logout 400")


# -- the document API's fields, filters and or_filters --------------------------------------------


@pytest.mark.parametrize("parameter", ["filters", "or_filters", "fields"])
def test_deeply_nested_list_parameters_are_a_validation_error_naming_the_parameter(
    server: LiveServer, api_token: str, parameter: str
) -> None:
    log = LogWindow(server)
    response = httpx.get(
        f"{server.url}/api/resource/ToDo",
        params={parameter: _nested(10_000)},
        headers={"Authorization": f"Bearer {api_token}"},
    )
    message = f"{parameter}: nests arrays and objects more than 32 levels deep"
    assert response.status_code == 417, response.text
    assert {key: response.json()[key] for key in ("exc_type", "field", "error_description")} == {
        "exc_type": "ValidationError",
        "field": parameter,
        "error_description": message,
    }
    assert "Traceback" not in log.wait_for("/api/resource/ToDo 417")


def test_a_deeply_nested_document_body_is_refused_as_not_an_object(server: LiveServer, api_token: str) -> None:
    response = httpx.post(
        f"{server.url}/api/resource/ToDo",
        content=_nested(10_000),
        headers={"Authorization": f"Bearer {api_token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 417
    assert response.json()["error_description"] == "body: send a JSON object of field values"


# -- a client that hangs up before sending its whole body -----------------------------------------


def _hang_up_mid_body(server: LiveServer, path: str) -> None:
    url = urlsplit(server.url)
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=5) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
            "grant_type=client_cred".encode()
        )
        time.sleep(0.2)  # let the endpoint start reading the body before the client goes


@pytest.mark.parametrize("path", ["/oauth/token", "/login"])
def test_a_client_hanging_up_mid_body_is_logged_at_info_without_a_traceback(
    sqlite_server: LiveServer, path: str
) -> None:
    log = LogWindow(sqlite_server)
    _hang_up_mid_body(sqlite_server, path)
    logged = log.wait_for(f"POST {path} ")
    disconnects = [json.loads(line) for line in logged.splitlines() if "client disconnected" in line]
    assert [entry["level"] for entry in disconnects] == ["info"]
    assert "Traceback" not in logged
    assert f"POST {path} 500" not in logged
    # The server is fine afterwards.
    assert httpx.get(f"{sqlite_server.url}/healthz").status_code == 200


# -- a failure nothing expected: the 500 keeps the security headers ------------------------------


@pytest.fixture
def broken_settings_server(start_server: Callable[..., LiveServer]) -> Iterator[LiveServer]:
    """A server whose runtime settings row is not the object the code expects: reading it raises."""
    server = start_server("sqlite", GATEPASS_DATABASE_READ_CACHE="off")
    database = server.database.url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO runtime_settings (key, value, updated_at) VALUES ('registration_mode', '[1]', ?)",
            ("2026-01-01 00:00:00.000000",),
        )
    yield server


def test_an_unexpected_error_is_a_generic_500_with_the_security_headers(broken_settings_server: LiveServer) -> None:
    log = LogWindow(broken_settings_server)
    response = httpx.post(f"{broken_settings_server.url}/oauth/register", json={"client_name": "x"})
    request_id = response.headers["x-request-id"]
    assert response.status_code == 500
    assert response.json() == {
        "error": "server_error",
        "error_description": f"Unexpected server error (request {request_id})",
    }
    assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS
    assert response.headers["cache-control"] == "no-store"
    logged = log.wait_for("POST /oauth/register 500")
    # The traceback is in the log once, with the request id; the client saw none of it.
    assert logged.count("Traceback") == 1
    assert f"unhandled error in request {request_id}" in logged
    assert "Traceback" not in response.text
