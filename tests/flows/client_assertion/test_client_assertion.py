"""Client authentication with a signed JWT (RFC 7523 §2.2; OpenID Connect Core §9), over HTTP with
Authlib's client: private_key_jwt with keys registered inline, client_secret_jwt with the client's secret,
and the assertions the server refuses, each saying what is wrong."""

from __future__ import annotations

import http.server
import json
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.oauth2.rfc7523 import ClientSecretJWT, PrivateKeyJWT
from flows_support import AsyncOAuth2Client
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from support.backchannel import SSL_CONTEXT, TOKEN
from support.server import LiveServer, unique_email

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _jwt_client(server: LiveServer, tmp_path: Path, *args: str) -> dict[str, Any]:
    user = server.create_user(unique_email("assertion"))
    return server.create_client(
        "--grant-type", "client_credentials", "--service-user", user["email"], "--scope", "all", *args
    )


def _key_client(server: LiveServer, tmp_path: Path, key: RSAKey) -> dict[str, Any]:
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    return _jwt_client(server, tmp_path, "--auth-method", "private_key_jwt", "--jwks-file", str(jwks_file))


def _assertion(client_id: str, key: Any, alg: str = "RS256", **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": "", "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}
    claims.update(changes)
    header = {"alg": alg, **({"kid": key.kid} if getattr(key, "kid", None) else {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwt.encode(header, {k: v for k, v in claims.items() if v is not None}, key, algorithms=[alg])


async def _token_request(server: LiveServer, client_id: str, assertion: str) -> httpx.Response:
    async with httpx.AsyncClient(verify=SSL_CONTEXT, timeout=30) as http:
        return await http.post(
            server.url + TOKEN,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
            },
        )


def _short_lived() -> dict[str, int]:
    return {"exp": int(time.time()) + 120}


def _refused(response: httpx.Response, description: str) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "invalid_client"
    assert description in body["error_description"], body


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "app-key-1"})


async def test_authlib_private_key_jwt_gets_a_token_with_keys_registered_inline(
    sqlite_server: LiveServer, tmp_path: Path, key: RSAKey
) -> None:
    client = _key_client(sqlite_server, tmp_path, key)
    token_url = sqlite_server.url + TOKEN
    async with AsyncOAuth2Client(
        verify=SSL_CONTEXT,
        client_id=client["client_id"],
        client_secret=key.as_dict(private=True),
        # Authlib's assertions live an hour by default; Gatepass takes at most five minutes.
        token_endpoint_auth_method=PrivateKeyJWT(token_url, claims=_short_lived()),
        scope="all",
    ) as oauth:
        token = await oauth.fetch_token(token_url, grant_type="client_credentials")
    assert (token["token_type"], token["scope"]) == ("Bearer", "all")


async def test_authlib_client_secret_jwt_gets_a_token_with_the_clients_secret(
    sqlite_server: LiveServer, tmp_path: Path
) -> None:
    client = _jwt_client(sqlite_server, tmp_path, "--auth-method", "client_secret_jwt")
    token_url = sqlite_server.url + TOKEN
    async with AsyncOAuth2Client(
        verify=SSL_CONTEXT,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        token_endpoint_auth_method=ClientSecretJWT(token_url, claims=_short_lived()),
        scope="all",
    ) as oauth:
        token = await oauth.fetch_token(token_url, grant_type="client_credentials")
    assert token["token_type"] == "Bearer"


async def test_refused_assertions_say_what_is_wrong(sqlite_server: LiveServer, tmp_path: Path, key: RSAKey) -> None:
    client = _key_client(sqlite_server, tmp_path, key)
    client_id, issuer = client["client_id"], sqlite_server.url
    replayed = _assertion(client_id, key, aud=issuer)
    assert (await _token_request(sqlite_server, client_id, replayed)).status_code == 200
    _refused(await _token_request(sqlite_server, client_id, replayed), "was used already")
    stranger = RSAKey.generate_key(2048, parameters={"kid": "app-key-1"})
    cases = [
        (_assertion(client_id, key, aud="https://elsewhere.example"), "aud must be this server's issuer"),
        (_assertion(client_id, key, aud=issuer, iat=int(time.time()) - 200, exp=int(time.time()) - 100), "expired"),
        (_assertion(client_id, key, aud=issuer, exp=None), "must have an exp claim"),
        (_assertion(client_id, stranger, aud=issuer), "does not match the client's registered keys"),
        (_assertion(client_id, key, aud=issuer, sub="someone-else"), "iss and sub must both be the client_id"),
        (
            f"eyJhbGciOiJub25lIn0.{_assertion(client_id, key, aud=issuer).split('.')[1]}.",
            "must be signed",
        ),
        (_assertion(client_id, OctKey.import_key(b"x" * 32), "HS256", aud=issuer), "must be signed with one of"),
    ]
    for assertion, description in cases:
        _refused(await _token_request(sqlite_server, client_id, assertion), description)


async def test_a_private_key_jwt_client_sending_a_secret_is_refused(
    sqlite_server: LiveServer, tmp_path: Path, key: RSAKey
) -> None:
    client = _key_client(sqlite_server, tmp_path, key)
    async with httpx.AsyncClient(verify=SSL_CONTEXT, timeout=30) as http:
        response = await http.post(
            sqlite_server.url + TOKEN,
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client.get("client_secret") or "a-guess"),
        )
    _refused(response, "registered for private_key_jwt")


@pytest.fixture
def jwks_server(key: RSAKey) -> Iterator[str]:
    """Where a client publishes its keys: a small HTTP server on this machine."""
    body = json.dumps({"keys": [key.as_dict(private=False)]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()


async def test_private_key_jwt_with_keys_read_from_the_clients_jwks_uri(
    sqlite_server: LiveServer, tmp_path: Path, key: RSAKey, jwks_server: str
) -> None:
    client = _jwt_client(sqlite_server, tmp_path, "--auth-method", "private_key_jwt", "--jwks-uri", jwks_server)
    for _ in range(2):  # the second from the worker's cache
        assertion = _assertion(client["client_id"], key, aud=sqlite_server.url + TOKEN)
        response = await _token_request(sqlite_server, client["client_id"], assertion)
        assert response.status_code == 200, response.text


async def test_a_jwks_uri_that_does_not_answer_is_named_in_the_refusal(
    sqlite_server: LiveServer, tmp_path: Path, key: RSAKey
) -> None:
    nowhere = "http://127.0.0.1:9/jwks.json"
    client = _jwt_client(sqlite_server, tmp_path, "--auth-method", "private_key_jwt", "--jwks-uri", nowhere)
    response = await _token_request(sqlite_server, client["client_id"], _assertion(client["client_id"], key))
    _refused(response, f"The client's jwks_uri {nowhere} could not be read")


async def _post(server: LiveServer, path: str, data: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(verify=SSL_CONTEXT, timeout=30) as http:
        return await http.post(server.url + path, data=data)


async def test_a_self_registered_client_authenticates_by_assertion_at_revocation_introspection_and_par(
    sqlite_open_registration_server: LiveServer, key: RSAKey
) -> None:
    server = sqlite_open_registration_server
    jwks = {"keys": [key.as_dict(private=False)]}
    async with httpx.AsyncClient(verify=SSL_CONTEXT, timeout=30) as http:
        registered = await http.post(
            server.url + "/oauth/register",
            json={
                "client_name": "Signed App",
                "redirect_uris": ["https://signed.example/cb"],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": jwks,
                "token_endpoint_auth_signing_alg": "RS256",
            },
        )
    assert registered.status_code == 201, registered.text
    body = registered.json()
    assert (body["token_endpoint_auth_method"], body["jwks"], body["token_endpoint_auth_signing_alg"]) == (
        "private_key_jwt",
        jwks,
        "RS256",
    )
    client_id = body["client_id"]

    def signed(path: str) -> dict[str, str]:
        return {
            "token": "not-a-token-of-ours",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": _assertion(client_id, key, aud=server.url + path),
        }

    revoked = await _post(server, "/oauth/revoke", signed("/oauth/revoke"))
    assert revoked.status_code == 200, revoked.text
    introspected = await _post(server, "/oauth/introspect", signed("/oauth/introspect"))
    assert (introspected.status_code, introspected.json()) == (200, {"active": False})
    pushed = await _post(
        server,
        "/oauth/par",
        {
            "response_type": "code",
            "redirect_uri": "https://signed.example/cb",
            "scope": "openid",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": _assertion(client_id, key, aud=server.url),
        },
    )
    assert pushed.status_code == 201, pushed.text
    assert pushed.json()["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    replay = signed("/oauth/revoke")
    assert (await _post(server, "/oauth/revoke", replay)).status_code == 200
    _refused(await _post(server, "/oauth/revoke", replay), "was used already")
