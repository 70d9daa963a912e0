"""Pairwise subject identifiers (OpenID Connect Core §8, §8.1): a pairwise client is told a ``sub`` of its
sector's own, the same in its id_token (checked with PyJWT and joserfc), at userinfo, at Frappe's
openid_profile and in introspection; clients of one sector (one sector identifier document, served here by
a real HTTP server) are told the same one, clients of other sectors another, a public client the user's own.
Registrations the sector rules refuse say why."""

from __future__ import annotations

import base64
import hmac
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from oidc_support import FRAPPE_OPENID_PROFILE, USERINFO, authentication_request, verify_id_token

from support.backchannel import Backchannel
from support.browser import HttpBrowser
from support.pkce import Pkce
from support.server import LiveServer, unique_email

#: Redirect URIs of four apps: two of their own sectors, two vouched for by one sector document.
APP_ONE = "https://one.example/callback"
APP_TWO = "https://two.example/callback"
SHOP = "https://shop.example/callback"
SHOP_ADMIN = "https://admin.shop-tools.example/callback"


@dataclass(frozen=True)
class SectorServer:
    """A client's server publishing sector identifier documents, one per path."""

    url: str

    def uri(self, path: str) -> str:
        return f"{self.url}/{path}"


@pytest.fixture(scope="module")
def sector_server() -> Iterator[SectorServer]:
    documents = {
        "/shop-sector.json": json.dumps([SHOP, SHOP_ADMIN]),
        "/shop-only.json": json.dumps([SHOP]),
        "/not-a-list.json": json.dumps({"redirect_uris": [SHOP, SHOP_ADMIN]}),
    }

    class Documents(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = documents.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write((body or "{}").encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    listener = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Documents)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    yield SectorServer(f"http://127.0.0.1:{listener.server_address[1]}")
    listener.shutdown()
    listener.server_close()


def _client(server: LiveServer, name: str, *redirects: str, pairwise: bool = True, sector_uri: str = "") -> Any:
    args = [arg for uri in redirects for arg in ("--redirect-uri", uri)]
    if pairwise:
        args += ["--subject-type", "pairwise"]
    if sector_uri:
        args += ["--sector-identifier-uri", sector_uri]
    return server.create_client(*args, name=name)


@dataclass(frozen=True)
class Seen:
    """The ``sub`` one client was told for the user, in each place it is told it."""

    id_token: str
    userinfo: str
    openid_profile: str
    introspection: str
    refresh_introspection: str

    @property
    def everywhere(self) -> str:
        """The one sub, after checking that every place said it."""
        assert len({self.id_token, self.userinfo, self.openid_profile, self.introspection}) == 1, self
        assert self.refresh_introspection == self.id_token, self
        return self.id_token


async def _seen_by(api: Backchannel, user: dict[str, Any], client: dict[str, Any], redirect_uri: str) -> Seen:
    server = api.server
    pkce = Pkce.new()
    async with HttpBrowser(server, user) as browser:
        outcome = await browser.authorize(authentication_request(client, pkce, redirect_uri=redirect_uri))
    tokens = await api.tokens(client, outcome.code, pkce, redirect_uri=redirect_uri)
    claims = verify_id_token(tokens["id_token"], server, client["client_id"])
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    userinfo = await api.http.get(server.url + USERINFO, headers=bearer)
    assert userinfo.status_code == 200, userinfo.text
    profile = await api.http.get(server.url + FRAPPE_OPENID_PROFILE, headers=bearer)
    assert profile.status_code == 200, profile.text
    introspected = await api.introspect(client, tokens["access_token"])
    refresh_introspected = await api.introspect(client, tokens["refresh_token"], token_type_hint="refresh_token")
    assert introspected["active"] and refresh_introspected["active"]
    return Seen(
        claims["sub"],
        userinfo.json()["sub"],
        profile.json()["sub"],
        introspected["sub"],
        refresh_introspected["sub"],
    )


async def test_pairwise_subs_are_one_per_sector_and_agree_everywhere(
    server: LiveServer, api: Backchannel, sector_server: SectorServer
) -> None:
    user = server.create_user(unique_email("pairwise"))
    shop_sector = sector_server.uri("shop-sector.json")
    one = _client(server, "Pairwise One", APP_ONE)
    two = _client(server, "Pairwise Two", APP_TWO)
    shop = _client(server, "Shop", SHOP, sector_uri=shop_sector)
    shop_admin = _client(server, "Shop Admin", SHOP_ADMIN, sector_uri=shop_sector)
    public = _client(server, "Public RP", APP_ONE, pairwise=False)

    sub_one = (await _seen_by(api, user, one, APP_ONE)).everywhere
    sub_two = (await _seen_by(api, user, two, APP_TWO)).everywhere
    sub_shop = (await _seen_by(api, user, shop, SHOP)).everywhere
    sub_shop_admin = (await _seen_by(api, user, shop_admin, SHOP_ADMIN)).everywhere
    sub_public = (await _seen_by(api, user, public, APP_ONE)).everywhere

    assert sub_public == user["sub"]
    # One sector (the host of the sector identifier URI), one sub; other sectors, other subs.
    assert sub_shop == sub_shop_admin
    assert len({sub_one, sub_two, sub_shop, user["sub"]}) == 4
    assert len(sub_one) == 43  # HMAC-SHA-256, base64url without padding


async def test_a_pairwise_sub_is_stable_and_another_user_has_another(
    sqlite_server: LiveServer, sqlite_api: Backchannel
) -> None:
    alice, bob = sqlite_server.create_user(unique_email("alice")), sqlite_server.create_user(unique_email("bob"))
    one = _client(sqlite_server, "Pairwise Stable", APP_ONE)
    first = (await _seen_by(sqlite_api, alice, one, APP_ONE)).everywhere
    again = (await _seen_by(sqlite_api, alice, one, APP_ONE)).everywhere
    other = (await _seen_by(sqlite_api, bob, one, APP_ONE)).everywhere
    assert first == again
    assert other != first


async def test_a_pairwise_sub_is_the_documented_hmac_so_it_survives_upgrades(
    sqlite_server: LiveServer, sqlite_api: Backchannel
) -> None:
    """The formula is a promise: changing it would give every user of every pairwise app a new sub."""
    user = sqlite_server.create_user(unique_email("pairwise-formula"))
    one = _client(sqlite_server, "Pairwise Formula", APP_ONE)
    told = (await _seen_by(sqlite_api, user, one, APP_ONE)).everywhere
    instance_secret = (sqlite_server.var_dir / "instance_secret").read_bytes().strip()
    key = hmac.digest(instance_secret, b"gatepass/pairwise-subject", "sha256")
    digest = hmac.digest(key, f"one.example\0{user['sub']}".encode(), "sha256")
    assert told == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def test_a_resource_server_is_told_the_sub_the_tokens_client_is_told(
    sqlite_server: LiveServer, sqlite_api: Backchannel
) -> None:
    user = sqlite_server.create_user(unique_email("pairwise-rs"))
    one = _client(sqlite_server, "Pairwise For RS", APP_ONE)
    resource_server = sqlite_server.create_client(
        "--grant-type", "client_credentials", "--resource-server", name="Pairwise RS"
    )
    pkce = Pkce.new()
    async with HttpBrowser(sqlite_server, user) as browser:
        outcome = await browser.authorize(authentication_request(one, pkce, redirect_uri=APP_ONE))
    tokens = await sqlite_api.tokens(one, outcome.code, pkce, redirect_uri=APP_ONE)
    claims = verify_id_token(tokens["id_token"], sqlite_server, one["client_id"])
    seen = await sqlite_api.introspect(resource_server, tokens["access_token"])
    assert seen["sub"] == claims["sub"] != user["sub"]


async def test_a_pairwise_clients_jwt_access_token_carries_its_pairwise_sub(
    server: LiveServer, api: Backchannel
) -> None:
    user = server.create_user(unique_email("pairwise-jwt"))
    client = server.create_client(
        *("--redirect-uri", APP_TWO, "--subject-type", "pairwise", "--access-token-format", "jwt"),
        name="Pairwise JWT",
    )
    seen = await _seen_by(api, user, client, APP_TWO)
    pkce = Pkce.new()
    async with HttpBrowser(server, user) as browser:
        outcome = await browser.authorize(authentication_request(client, pkce, redirect_uri=APP_TWO))
    access_token = (await api.tokens(client, outcome.code, pkce, redirect_uri=APP_TWO))["access_token"]
    # RFC 9068 §4, as a resource server checks it: a published key, typ at+jwt, this issuer and audience.
    assert jwt.get_unverified_header(access_token)["typ"] == "at+jwt"
    keys = jwt.PyJWKClient(f"{server.url}/.well-known/jwks.json", cache_jwk_set=False)
    claims = jwt.decode(
        access_token,
        keys.get_signing_key_from_jwt(access_token).key,
        algorithms=["RS256"],
        issuer=server.url,
        audience=f"{server.url}/api/resource",
    )
    assert claims["sub"] == seen.everywhere != user["sub"]


def _refusal(server: LiveServer, *args: str) -> str:
    result = server.cli("client", "add", "--name", "Refused", "--subject-type", "pairwise", *args, check=False)
    assert result.returncode != 0, result.stdout
    return result.stderr.strip()


def test_redirect_uris_on_several_hosts_need_a_sector_identifier_uri(sqlite_server: LiveServer) -> None:
    refusal = _refusal(sqlite_server, "--redirect-uri", SHOP, "--redirect-uri", SHOP_ADMIN)
    assert refusal == (
        "Error: The redirect URIs are on several hosts (admin.shop-tools.example, shop.example): a pairwise client "
        "with them needs a sector_identifier_uri listing them all (OpenID Connect Core, section 8.1)"
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(
            "shop-only.json",
            "Error: The document at sector_identifier_uri {uri} does not list the redirect URI "
            f"{SHOP_ADMIN}; list every redirect URI of the client there",
            id="a-redirect-uri-missing",
        ),
        pytest.param(
            "not-a-list.json",
            "Error: The sector_identifier_uri {uri} must answer a JSON array of redirect URIs",
            id="not-an-array",
        ),
        pytest.param(
            "nowhere.json",
            "Error: The sector identifier URI {uri} could not be read: it answered HTTP 404",
            id="not-found",
        ),
    ],
)
def test_a_sector_document_that_does_not_vouch_for_every_redirect_uri_is_refused(
    sqlite_server: LiveServer, sector_server: SectorServer, path: str, expected: str
) -> None:
    uri = sector_server.uri(path)
    refusal = _refusal(
        sqlite_server, "--redirect-uri", SHOP, "--redirect-uri", SHOP_ADMIN, "--sector-identifier-uri", uri
    )
    assert refusal == expected.format(uri=uri)


def test_an_unreachable_sector_identifier_uri_is_refused(sqlite_server: LiveServer) -> None:
    nowhere = "http://127.0.0.1:9/sector.json"
    refusal = _refusal(sqlite_server, "--redirect-uri", SHOP, "--sector-identifier-uri", nowhere)
    assert refusal == f"Error: The sector identifier URI {nowhere} could not be read: ConnectError"


def test_a_sector_identifier_uri_must_be_https(sqlite_server: LiveServer) -> None:
    refusal = _refusal(sqlite_server, "--redirect-uri", SHOP, "--sector-identifier-uri", "http://shop.example/s.json")
    assert refusal == "Error: The sector identifier URI must be an https URL (http only on this machine)"


def test_a_client_made_pairwise_later_is_checked_and_shows_its_sector(
    sqlite_server: LiveServer, sector_server: SectorServer
) -> None:
    client = _client(sqlite_server, "Later Pairwise", SHOP, SHOP_ADMIN, pairwise=False)
    refused = sqlite_server.cli("client", "update", client["client_id"], "--subject-type", "pairwise", check=False)
    assert refused.returncode != 0
    assert "needs a sector_identifier_uri" in refused.stderr
    uri = sector_server.uri("shop-sector.json")
    updated = sqlite_server.cli(
        "client", "update", client["client_id"], "--subject-type", "pairwise", "--sector-identifier-uri", uri, "--json"
    )
    shown = json.loads(updated.stdout)
    assert (shown["subject_type"], shown["sector_identifier_uri"], shown["pairwise_sector"]) == (
        "pairwise",
        uri,
        "127.0.0.1",
    )


async def test_registration_takes_subject_type_and_refuses_what_has_no_sector(
    sqlite_open_registration_server: LiveServer,
) -> None:
    server = sqlite_open_registration_server
    metadata = {"client_name": "Registered Pairwise", "token_endpoint_auth_method": "none"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        made = await http.post(
            "/oauth/register", json={**metadata, "redirect_uris": [APP_ONE], "subject_type": "pairwise"}
        )
        several = await http.post(
            "/oauth/register", json={**metadata, "redirect_uris": [SHOP, SHOP_ADMIN], "subject_type": "pairwise"}
        )
        unknown = await http.post(
            "/oauth/register", json={**metadata, "redirect_uris": [APP_ONE], "subject_type": "per-client"}
        )
        unreachable = await http.post(
            "/oauth/register",
            json={
                **metadata,
                "redirect_uris": [SHOP],
                "subject_type": "pairwise",
                "sector_identifier_uri": "https://127.0.0.1:9/sector.json",
            },
        )
    assert made.status_code == 201, made.text
    assert made.json()["subject_type"] == "pairwise"
    for refused in (several, unknown, unreachable):
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "invalid_client_metadata"
    assert several.json()["error_description"].startswith(
        "sector_identifier_uri: The redirect URIs are on several hosts (admin.shop-tools.example, shop.example)"
    )
    assert unknown.json()["error_description"] == "subject_type must be one of public, pairwise"
    assert unreachable.json()["error_description"] == (
        "sector_identifier_uri: The sector identifier URI https://127.0.0.1:9/sector.json could not be read: "
        "ConnectError"
    )
