"""Every route in the route table, fed input that has broken servers: no 5xx, and no traceback in the log.

The routes come from build_routes() itself, so a new endpoint is fuzzed the day it is added. Each
gets, in its path, query, body and credentials: JSON nested 10,000 deep, NUL, lone surrogates
(percent-encoded as %ED%A0%80 and as JSON escapes), bytes that are not UTF-8, and bodies cut
short by a client that hangs up. Run on SQLite and PostgreSQL (whose text refuses NUL), each
server with registration open so that its parser is reached too.
"""

from __future__ import annotations

import base64
import html
import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import httpx
import pytest
from starlette.routing import Mount, Route

from gatepass.app import build_routes
from support.logs import LogWindow
from support.provision import issue_api_token
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, OPEN_REGISTRATION, LiveServer

DEEP = "[" * 10_000 + "]" * 10_000
#: Deep enough to break a recursive parser, short enough for a query value (parameters stop at 4096).
DEEP_QUERY = "[" * 1_300 + "]" * 1_300
DEEP_HINT = "e30." + base64.urlsafe_b64encode(DEEP_QUERY.encode()).decode().rstrip("=") + ".sig"
_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")
_WRITES = ("POST", "PUT", "PATCH", "DELETE")
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

#: The JSON-shaped parameters of the document API and of OAuth, in bodies and queries.
_JSON_NAMES = ("filters", "or_filters", "fields", "data", "claims", "request", "redirect_uris", "resource")
_OAUTH_JSON_NAMES = ("claims", "request", "redirect_uris", "resource")

PATH_VALUES = {"nul": "a%00b", "surrogate": "a%ED%A0%80b", "bad-utf8": "a%FF%FEb"}
QUERIES = {
    "nul": "client_id=%00&next=%2F%00&token=a%00b&q=%00",
    "surrogate-and-bad-utf8": "client_id=%ED%A0%80&next=%FF&state=%C3%28&q=%ED%BF%BF",
    # Brackets left unescaped: escaped, the longest of these would pass the client's limit on URLs.
    "deep-json-lists": "&".join(f"{name}={DEEP_QUERY}" for name in ("filters", "or_filters", "fields", "data")),
    "deep-json-oauth": "&".join(f"{name}={DEEP_QUERY}" for name in _OAUTH_JSON_NAMES) + f"&id_token_hint={DEEP_HINT}",
    "json-escapes": "filters=" + quote('[["name", "=", "a\\u0000"]]') + "&fields=" + quote('["\\ud800"]'),
}
BODIES: dict[str, tuple[bytes, str]] = {
    "deep-array": (DEEP.encode(), JSON),
    "deep-object": (('{"a":' * 10_000 + "1" + "}" * 10_000).encode(), JSON),
    "json-escapes": (
        b'{"client_name": "a\\u0000", "name": "\\ud800", "title": "\\udc00x", "description": "\\u0000",'
        b' "redirect_uris": ["https://a.example/\\ud800"], "contacts": ["\\u0000"]}',
        JSON,
    ),
    "json-bad-utf8": (b'{"client_name": "\xff\xfe", "redirect_uris": ["https://a.example/cb"]}', JSON),
    "json-truncated": (b'{"client_name": "app", "redirect_uris": ["https://a.exa', JSON),
    "form-nul-and-surrogates": (
        b"grant_type=%00&client_id=%ED%A0%80&email=a%00%40example.com&password=%00&token=%ED%BF%BF&csrf_token=%00",
        FORM,
    ),
    "form-bad-utf8": (b"grant_type=\xff\xfe&client_id=\xc3\x28&email=\xed\xa0\x80&token=\x00", FORM),
    "form-deep-json": (
        ("&".join(f"{name}={quote(DEEP_QUERY)}" for name in _JSON_NAMES) + f"&id_token_hint={DEEP_HINT}").encode(),
        FORM,
    ),
}
AUTHORIZATIONS = {
    "basic-nul": b"Basic " + base64.b64encode(b"\x00:\x00"),
    "basic-surrogate-bytes": b"Basic " + base64.b64encode(b"\xed\xa0\x80:x"),
    "token-bad-utf8": b"token \xff\xfe:\xed\xa0",
}


@dataclass(frozen=True)
class Endpoint:
    template: str
    methods: tuple[str, ...]
    #: False for a second path to a handler already fuzzed (Frappe's paths, /api/v1, trailing slashes):
    #: its path is still fuzzed, since the edge tells endpoints apart by path.
    is_first_path_of_handler: bool = True

    def path(self, value: str) -> str:
        def fill(match: re.Match[str]) -> str:
            return "1" if match.group(2) == "int" else value

        return _PLACEHOLDER.sub(fill, self.template)

    @property
    def has_parameters(self) -> bool:
        return "{" in self.template


def endpoints() -> list[Endpoint]:
    """Every route of build_routes(); a mount stands for the files under it."""
    found: list[Endpoint] = []
    seen: set[tuple[object, tuple[str, ...]]] = set()
    for route in build_routes():
        if isinstance(route, Route):
            methods = tuple(sorted(set(route.methods or ()) - {"HEAD"}))
            found.append(Endpoint(route.path, methods, (route.endpoint, methods) not in seen))
            seen.add((route.endpoint, methods))
        elif isinstance(route, Mount):
            found.append(Endpoint(route.path + "/{path:path}", ("GET",)))
        else:  # a new kind of route must be taught to this test, not skipped by it
            raise AssertionError(f"unknown route type {type(route).__name__}")
    return found


def test_the_fuzzed_routes_are_the_route_table() -> None:
    templates = {endpoint.template for endpoint in endpoints()}
    assert {
        "/oauth/token",
        "/oauth/register",
        "/oauth/register/{client_id}",
        "/login/{provider}/start",
        "/api/resource/{doctype}/{name}",
        "/oauth/logout",
        "/static/{path:path}",
    } <= templates
    assert len(templates) >= 40


# -- the servers ----------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def fuzzed(request: pytest.FixtureRequest, start_server: Callable[..., LiveServer]) -> Iterator[tuple[LiveServer, str]]:
    """A private server with open registration, and a bearer token with scope all for the document API."""
    server = start_server(request.param, **OPEN_REGISTRATION).open_registration()
    yield server, issue_api_token(server, name="Fuzz")


# -- the requests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    method: str
    target: str
    body: bytes | None = None
    content_type: str | None = None
    authorization: bytes | None = None


def probes(endpoint: Endpoint, token: str) -> Iterator[Probe]:
    bearer = f"Bearer {token}".encode() if endpoint.template.startswith("/api/") else None
    plain = endpoint.path("x")
    for method in endpoint.methods:
        if endpoint.has_parameters:
            for value in PATH_VALUES.values():
                yield Probe(method, endpoint.path(value), authorization=bearer)
        if not endpoint.is_first_path_of_handler:
            continue
        for query in QUERIES.values():
            yield Probe(method, f"{plain}?{query}", authorization=bearer)
        for authorization in AUTHORIZATIONS.values():
            yield Probe(method, plain, authorization=authorization)
        if method in _WRITES:
            for body, content_type in BODIES.values():
                yield Probe(method, plain, body, content_type, bearer)


def send(http: httpx.Client, probe: Probe) -> httpx.Response:
    headers: dict[bytes, bytes] = {}
    if probe.content_type:
        headers[b"Content-Type"] = probe.content_type.encode()
    if probe.authorization:
        headers[b"Authorization"] = probe.authorization
    request = http.build_request(probe.method, probe.target, content=probe.body, headers=headers)
    # httpx would re-quote the path; the bytes must reach the server as written here.
    request.url = request.url.copy_with(raw_path=probe.target.encode("latin-1"))
    return http.send(request)


def log_in_as_admin(http: httpx.Client) -> None:
    """A console session on every probe: pages then get past "log in first" to their own input handling."""
    page = http.get("/login").text
    csrf = html.unescape(re.search(r'name="csrf_token" value="([^"]*)"', page).group(1))  # type: ignore[union-attr]
    response = http.post("/login", data={"csrf_token": csrf, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 303, response.text[:300]


def hang_up_mid_body(server: LiveServer, method: str, path: str) -> None:
    url = urlsplit(server.url)
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=5) as connection:
        connection.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: {JSON}\r\n"
            "Content-Length: 5000\r\n\r\n".encode()
            + b'{"client_name": "half'
        )
        time.sleep(0.02)


def test_no_route_answers_bad_input_with_a_5xx_or_a_traceback(fuzzed: tuple[LiveServer, str]) -> None:
    server, token = fuzzed
    log = LogWindow(server)
    every_probe = [probe for endpoint in endpoints() for probe in probes(endpoint, token)]
    with httpx.Client(base_url=server.url, timeout=30) as http:
        log_in_as_admin(http)
        # The server is asynchronous: a few requests at once keep it busy without a queue building up.
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda probe: (probe, send(http, probe)), every_probe))
            list(
                pool.map(
                    lambda args: hang_up_mid_body(server, *args),
                    [
                        (method, endpoint.path("x"))
                        for endpoint in endpoints()
                        for method in endpoint.methods
                        if method in _WRITES and endpoint.is_first_path_of_handler
                    ],
                )
            )
        # Still logged in: the console's handlers, not only its login check, saw every probe.
        assert http.get("/admin").status_code == 200
        # A last request, so the log has caught up with the hang-ups once it is logged.
        assert http.get("/healthz?fuzz=done").status_code == 200
    failures = [
        f"{probe.method} {probe.target[:120]} {probe.content_type}: {response.status_code} {response.text[:200]}"
        for probe, response in answers
        if response.status_code >= 500
    ]
    logged = log.wait_for("/healthz")
    assert failures == [], f"{len(failures)} of {len(answers)} requests got a 5xx:\n" + "\n".join(failures[:20])
    statuses = [
        json.loads(line).get("http", {}).get("status", 0) for line in logged.splitlines() if line.startswith("{")
    ]
    assert [status for status in statuses if status >= 500] == []
    assert "Traceback" not in logged
    assert "dependency unavailable" not in logged
    assert len(answers) > 500
