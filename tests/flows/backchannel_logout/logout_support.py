"""A relying party's back-channel logout endpoint, run in the test process, and the checks it makes.

The receiver is a real HTTP server on a free port: Gatepass POSTs logout tokens to it as it would to an app.
It can answer 500 (a receiver that is having trouble) until told otherwise. Each token it accepts is checked
as Back-Channel Logout 1.0 §2.6 tells a relying party to, with PyJWT against the published JWKS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import jwt

from support.backchannel import Backchannel
from support.browser import HttpBrowser, code_request
from support.pkce import Pkce
from support.server import LiveServer, free_port

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: Fast enough that a test never waits long for a retry; the delays themselves are never asserted.
QUICK_DELIVERY = {
    "GATEPASS_TOKENS_BACKCHANNEL_LOGOUT_POLL_SECONDS": "1",
    "GATEPASS_TOKENS_BACKCHANNEL_LOGOUT_FIRST_RETRY_SECONDS": "1",
}
#: How long a test waits for something the server does in the background before it fails.
PATIENCE_SECONDS = 60


@dataclass(frozen=True)
class Received:
    """One POST to the logout endpoint."""

    content_type: str
    form: dict[str, list[str]]
    answered: int

    @property
    def logout_token(self) -> str:
        (token,) = self.form["logout_token"]
        return token


class LogoutReceiver:
    """An app's back-channel logout endpoint: it records every POST and answers 200, or 500 while failing."""

    path = "/backchannel-logout"

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.is_failing = False
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def start(self) -> LogoutReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                status = 500 if receiver.is_failing else 200
                receiver._record(Received(self.headers.get("Content-Type", ""), parse_qs(body), status))
                self.send_response(status)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _record(self, received: Received) -> None:
        with self._changed:
            self.received.append(received)
            self._changed.notify_all()

    def accepted(self) -> list[Received]:
        with self._changed:
            return [item for item in self.received if item.answered == 200]

    def wait_for(self, *, accepted: int = 0, refused: int = 0) -> list[Received]:
        """Block until at least ``accepted`` POSTs were answered 200 and ``refused`` answered 500."""
        deadline = time.monotonic() + PATIENCE_SECONDS
        with self._changed:
            while True:
                answers = [item.answered for item in self.received]
                if answers.count(200) >= accepted and answers.count(500) >= refused:
                    return [item for item in self.received if item.answered == 200]
                left = deadline - time.monotonic()
                assert left > 0, f"the receiver got {answers}, waiting for {accepted} accepted and {refused} refused"
                self._changed.wait(left)


@contextmanager
def receiver() -> Iterator[LogoutReceiver]:
    started = LogoutReceiver().start()
    try:
        yield started
    finally:
        started.stop()


def check_logout_token(token: str, server: LiveServer, client_id: str) -> dict[str, Any]:
    """Back-Channel Logout 1.0 §2.6, as a relying party validates a logout token; returns its claims."""
    header = jwt.get_unverified_header(token)
    # §2.4 and RFC 8725 §3.11: explicitly typed, so it cannot pass for an id_token or be taken for one.
    assert header["typ"] == "logout+jwt"
    jwks_uri = httpx.get(server.url + "/.well-known/openid-configuration").json()["jwks_uri"]
    signing_key = jwt.PyJWKClient(jwks_uri, cache_jwk_set=False).get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],
        audience=client_id,
        issuer=server.url,
        options={"require": ["iss", "aud", "iat", "exp", "jti", "events"]},
    )
    # §2.6 step 4-7: the event is there with an object, it names the user or the session, and no nonce.
    assert claims["events"] == {BACKCHANNEL_LOGOUT_EVENT: {}}
    assert "sub" in claims or "sid" in claims
    assert "nonce" not in claims
    return claims


def check_delivery(received: Received, server: LiveServer, client_id: str) -> dict[str, Any]:
    """§2.5: a form POST whose only parameter is logout_token; returns the token's claims."""
    assert received.content_type == "application/x-www-form-urlencoded"
    assert set(received.form) == {"logout_token"}
    return check_logout_token(received.logout_token, server, client_id)


def logout_client(server: LiveServer, logout_uri: str, *extra: str, name: str = "Told of logouts") -> dict[str, Any]:
    """A trusted web app (no consent screen) with a back-channel logout URI, registered with the CLI."""
    return server.create_client("--backchannel-logout-uri", logout_uri, "--skip-authorization", *extra, name=name)


async def sign_in(browser: HttpBrowser, client: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The user signs in to the app (authorization code flow): the id_token and its claims (PyJWT-verified)."""
    pkce = Pkce.new()
    outcome = await browser.authorize(code_request(client, pkce, scope="openid"))
    async with httpx.AsyncClient(timeout=30) as http:
        tokens = await Backchannel(http, browser.server).tokens(client, outcome.code, pkce)
    return tokens["id_token"], id_token_claims(tokens["id_token"], browser.server, client["client_id"])


def id_token_claims(id_token: str, server: LiveServer, client_id: str) -> dict[str, Any]:
    jwks_uri = httpx.get(server.url + "/.well-known/openid-configuration").json()["jwks_uri"]
    key = jwt.PyJWKClient(jwks_uri, cache_jwk_set=False).get_signing_key_from_jwt(id_token)
    claims: dict[str, Any] = jwt.decode(id_token, key.key, algorithms=["RS256"], audience=client_id, issuer=server.url)
    return claims


def authorization_url(server: LiveServer, client: Mapping[str, Any], pkce: Pkce) -> str:
    return f"{server.url}/oauth/authorize?{urlencode(code_request(client, pkce, scope='openid'))}"
