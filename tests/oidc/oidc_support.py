"""Helpers for the OpenID Connect tests: a cookie-keeping HTTP "browser", token calls, id_token checks.

Everything goes over real HTTP to a running `gatepass serve`. id_tokens are checked only with
PyJWT and joserfc against the published JWKS (or, for HS256, the client secret), never with
Gatepass's own code. The browser logs in and answers the consent page by parsing the HTML forms.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import httpx
import jwt
from joserfc import jwt as jose_jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet, OctKey
from joserfc.jwt import JWTClaimsRegistry

from support import REDIRECT_URI, LiveServer

AUTHORIZE = "/oauth/authorize"
TOKEN = "/oauth/token"
REVOKE = "/oauth/revoke"
USERINFO = "/oauth/userinfo"
LOGOUT = "/oauth/logout"
FRAPPE_OPENID_PROFILE = "/api/method/frappe.integrations.oauth2.openid_profile"
DISCOVERY = "/.well-known/openid-configuration"
RFC8414_METADATA = "/.well-known/oauth-authorization-server"
POST_LOGOUT_URI = "http://127.0.0.1:9999/logged-out"
ALL_SCOPES = "openid profile email roles"
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256", "EdDSA")
#: A role the users get besides the built-in System Manager (the seeds' app servers sync it).
SALES_ROLE = "Sales Manager"


# -- PKCE and hashes --------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        return cls(verifier, b64url(hashlib.sha256(verifier.encode("ascii")).digest()))

    @property
    def params(self) -> dict[str, str]:
        return {"code_challenge": self.challenge, "code_challenge_method": "S256"}


def half_hash(value: str, alg: str) -> str:
    """OIDC Core §3.1.3.6 at_hash: the left half of the hash that the JOSE alg uses, base64url.

    SHA-256 for RS256, ES256 and HS256; SHA-512 for EdDSA with Ed25519.
    """
    digest = (hashlib.sha512 if alg == "EdDSA" else hashlib.sha256)(value.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


# -- HTML forms -------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
        elif tag == "input" and self.forms and "name" in values:
            self.forms[-1].fields[values["name"]] = values.get("value", "")


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def find_form(page: str, action: str) -> Form | None:
    parser = _FormParser()
    parser.feed(page)
    return next((form for form in parser.forms if form.action == action), None)


def page_text(page: str) -> str:
    """The visible text of an HTML page, entities decoded and whitespace folded."""
    parser = _TextParser()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def response_params(location: str) -> dict[str, str]:
    """An authorization or logout response carried by a redirect: fragment if there is one, else query."""
    parts = urlsplit(location)
    return dict(parse_qsl(parts.fragment or parts.query, keep_blank_values=True))


def without_query(location: str) -> str:
    return location.split("#", 1)[0].split("?", 1)[0]


# -- a browser without JavaScript -------------------------------------------------------------


@dataclass
class Outcome:
    """Where the authorization server left the browser, and which pages it showed on the way."""

    response: httpx.Response
    pages: list[str]

    @property
    def location(self) -> str:
        location: str | None = self.response.headers.get("location")
        assert location is not None, f"no redirect: {self.response.status_code} {page_text(self.response.text)[:400]}"
        return location

    @property
    def params(self) -> dict[str, str]:
        return response_params(self.location)

    @property
    def code(self) -> str:
        params = self.params
        assert "code" in params, f"no code in {self.location}"
        return params["code"]


class Browser:
    """Keeps cookies, follows the server's own redirects, logs in and answers consent by its forms."""

    def __init__(self, server: LiveServer, user: Mapping[str, Any] | None = None) -> None:
        self.server = server
        self.user = user
        self.http = httpx.AsyncClient(base_url=server.url, follow_redirects=False, timeout=30)

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def login(self) -> None:
        """Log in directly from the login page, outside any authorization request."""
        page = await self.http.get("/login")
        response = await self.submit_login(page)
        assert response.status_code == 303, page_text(response.text)

    async def submit_login(self, page: httpx.Response) -> httpx.Response:
        assert self.user is not None, "this browser has no user to log in with"
        form = find_form(page.text, "/login")
        assert form is not None, f"no login form: {page_text(page.text)[:400]}"
        data = {**form.fields, "email": self.user["email"], "password": self.user["password"]}
        return await self.http.post("/login", data=data)

    async def is_logged_in(self) -> bool:
        """The account page answers only a live session; otherwise it sends the browser to /login."""
        response = await self.http.get("/")
        assert response.status_code in (200, 303), response.status_code
        return response.status_code == 200

    async def authorize(self, params: Mapping[str, str], *, decision: str | None = "allow") -> Outcome:
        """Send an authorization request and play the user: log in when asked, answer the consent page.

        With ``decision=None`` the consent page is returned as it is.
        """
        return await self.follow(await self.http.get(f"{AUTHORIZE}?{urlencode(dict(params))}"), decision=decision)

    async def authorize_url(self, url: str, *, decision: str | None = "allow") -> Outcome:
        """Like ``authorize`` for a complete URL that a client library built."""
        return await self.follow(await self.http.get(url), decision=decision)

    async def follow(self, response: httpx.Response, *, decision: str | None = "allow") -> Outcome:
        pages: list[str] = []
        for _ in range(12):
            location = response.headers.get("location")
            if response.is_redirect and location is not None:
                target = urlsplit(urljoin(self.server.url + "/", location))
                if f"{target.scheme}://{target.netloc}" != self.server.url:
                    return Outcome(response, pages)
                response = await self.http.get(location)
                continue
            if response.status_code == 200 and find_form(response.text, "/login") is not None:
                pages.append("login")
                response = await self.submit_login(response)
                continue
            consent = find_form(response.text, "/oauth/consent")
            if response.status_code == 200 and consent is not None:
                pages.append("consent")
                if decision is None:
                    return Outcome(response, pages)
                response = await self.http.post("/oauth/consent", data={**consent.fields, "decision": decision})
                continue
            return Outcome(response, pages)
        raise AssertionError("too many redirects inside the authorization server")


def code_request(
    client: Mapping[str, Any], pkce: Pkce, *, scope: str = ALL_SCOPES, nonce: str | None = None, **extra: str
) -> dict[str, str]:
    """An authorization code request with PKCE, a fresh state and (unless given) a fresh nonce."""
    return {
        "client_id": client["client_id"],
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": secrets.token_urlsafe(12),
        "nonce": nonce or secrets.token_urlsafe(12),
        **pkce.params,
        **extra,
    }


# -- back channel -----------------------------------------------------------------------------


async def redeem(server: LiveServer, client: Mapping[str, Any], code: str, pkce: Pkce) -> dict[str, Any]:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": pkce.verifier,
    }
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post(TOKEN, data=data, auth=(client["client_id"], client["client_secret"]))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refresh(server: LiveServer, client: Mapping[str, Any], refresh_token: str) -> dict[str, Any]:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post(TOKEN, data=data, auth=(client["client_id"], client["client_secret"]))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def revoke(server: LiveServer, client: Mapping[str, Any], token: str) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post(REVOKE, data={"token": token}, auth=(client["client_id"], client["client_secret"]))
    assert response.status_code == 200, response.text


@dataclass
class CodeFlow:
    """One authorization code flow: what was sent, where the browser landed, what the token endpoint gave."""

    request: dict[str, str]
    outcome: Outcome
    tokens: dict[str, Any]

    @property
    def nonce(self) -> str:
        return self.request["nonce"]

    @property
    def id_token(self) -> str:
        id_token: str = self.tokens["id_token"]
        return id_token


async def code_flow(browser: Browser, client: Mapping[str, Any], *, scope: str = ALL_SCOPES, **extra: str) -> CodeFlow:
    pkce = Pkce.new()
    request = code_request(client, pkce, scope=scope, **extra)
    outcome = await browser.authorize(request)
    assert outcome.params["state"] == request["state"]
    tokens = await redeem(browser.server, client, outcome.code, pkce)
    return CodeFlow(request, outcome, tokens)


# -- id_token checks with PyJWT and joserfc ---------------------------------------------------


_discovered: dict[str, dict[str, Any]] = {}


def discovery(server: LiveServer) -> dict[str, Any]:
    """The server's OpenID Provider metadata, fetched once per server (it never changes while it runs)."""
    if server.url not in _discovered:
        response = httpx.get(server.url + DISCOVERY)
        assert response.status_code == 200, response.text
        _discovered[server.url] = response.json()
    return _discovered[server.url]


def published_jwks(server: LiveServer) -> dict[str, Any]:
    response = httpx.get(discovery(server)["jwks_uri"])
    assert response.status_code == 200, response.text
    jwks: dict[str, Any] = response.json()
    return jwks


@contextlib.contextmanager
def eddsa_allowed() -> Iterator[None]:
    # joserfc flags the "EdDSA" name as superseded by RFC 9864's "Ed25519"; the provider publishes
    # "EdDSA" because relying parties (PyJWT, Authlib) still use it.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
        yield


def verify_with_pyjwt(id_token: str, server: LiveServer, client_id: str, alg: str) -> dict[str, Any]:
    """PyJWKClient against the published jwks_uri; only the client's algorithm is accepted."""
    jwks_client = jwt.PyJWKClient(discovery(server)["jwks_uri"], cache_jwk_set=False)
    signing_key = jwks_client.get_signing_key_from_jwt(id_token)
    claims: dict[str, Any] = jwt.decode(
        id_token,
        signing_key.key,
        algorithms=[alg],
        audience=client_id,
        issuer=server.url,
        options={"require": ["iss", "sub", "aud", "exp", "iat"]},
    )
    return claims


def verify_with_joserfc(id_token: str, jwks: dict[str, Any], issuer: str, client_id: str, alg: str) -> dict[str, Any]:
    """joserfc with a KeySet built from the published JWKS, then an explicit claims registry."""
    key_set = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    with eddsa_allowed():
        token = jose_jwt.decode(id_token, key_set, algorithms=[alg])
    registry = JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
    )
    registry.validate(token.claims)
    return dict(token.claims)


def verify_id_token(id_token: str, server: LiveServer, client_id: str, alg: str = "RS256") -> dict[str, Any]:
    """Both libraries accept the token and read the same claims; the header names alg and a published kid."""
    jwks = published_jwks(server)
    header = jwt.get_unverified_header(id_token)
    assert header["alg"] == alg
    kids = {key["kid"]: key for key in jwks["keys"]}
    assert header.get("kid") in kids, f"kid {header.get('kid')!r} is not in the JWKS"
    assert kids[header["kid"]]["alg"] == alg
    by_pyjwt = verify_with_pyjwt(id_token, server, client_id, alg)
    by_joserfc = verify_with_joserfc(id_token, jwks, server.url, client_id, alg)
    assert by_pyjwt == by_joserfc
    return by_pyjwt


def verify_hs256_like_the_seeds(id_token: str, client: Mapping[str, Any]) -> dict[str, Any]:
    """The seeds' PyJWT snippet, with ``algorithms=["HS256"]`` as PyJWT 2 requires."""
    payload: dict[str, Any] = jwt.decode(
        id_token,
        audience=client["client_id"],
        key=client["client_secret"],
        algorithms=["HS256"],
        options={"verify_exp": False},  # as in the snippet
    )
    return payload


def verify_hs256_with_joserfc(id_token: str, server: LiveServer, client: Mapping[str, Any]) -> dict[str, Any]:
    token = jose_jwt.decode(id_token, OctKey.import_key(client["client_secret"]), algorithms=["HS256"])
    registry = JWTClaimsRegistry(
        iss={"essential": True, "value": server.url},
        aud={"essential": True, "value": client["client_id"]},
        exp={"essential": True},
    )
    registry.validate(token.claims)
    return dict(token.claims)


def assert_standard_claims(
    claims: Mapping[str, Any], server: LiveServer, client: Mapping[str, Any], user: Mapping[str, Any]
) -> None:
    """OIDC Core §2: iss, sub, aud, azp, and a sane iat/exp."""
    assert claims["iss"] == server.url
    assert claims["sub"] == user["sub"]
    assert claims["aud"] == client["client_id"]
    assert claims["azp"] == client["client_id"]
    assert isinstance(claims["iat"], int)
    assert isinstance(claims["exp"], int)
    assert claims["exp"] > claims["iat"]


def profile_claims(user: Mapping[str, Any]) -> dict[str, Any]:
    """The profile scope's claims (OIDC Core §5.4); picture only for a user who has one."""
    claims = {"name": user["full_name"], "given_name": user["first_name"], "family_name": user["last_name"]}
    if "picture" in user:
        claims["picture"] = user["picture"]
    return claims


def user_claims(user: Mapping[str, Any], scope: str) -> dict[str, Any]:
    """What a relying party may learn about ``user`` with ``scope`` (OIDC Core §5.4, plus Frappe's roles)."""
    scopes = scope.split()
    claims: dict[str, Any] = {"sub": user["sub"]}
    if "profile" in scopes:
        claims.update(profile_claims(user))
    if "email" in scopes:
        claims.update(email=user["email"], email_verified=True)  # users made by an admin count as verified
    if "roles" in scopes:
        claims["roles"] = sorted(user["roles"])
    return claims


def sorted_roles(claims: Mapping[str, Any]) -> dict[str, Any]:
    """The claims with the roles list sorted: the order of roles carries no meaning."""
    return {**claims, "roles": sorted(claims["roles"])} if "roles" in claims else dict(claims)


# -- provisioning -----------------------------------------------------------------------------


@dataclass
class OidcWorld:
    """A server with its users and clients, by name."""

    server: LiveServer
    users: dict[str, dict[str, Any]]
    clients: dict[str, dict[str, Any]]

    def user(self, name: str) -> dict[str, Any]:
        return self.users[name]

    def client(self, name: str) -> dict[str, Any]:
        return self.clients[name]


def provision(
    server: LiveServer, specs: Mapping[str, tuple[str, ...] | dict[str, Any]], *, roles: tuple[str, ...] = ()
) -> dict[str, dict[str, Any]]:
    """Roles, users (a dict of `create_user` keywords) and clients (`client add` arguments) in parallel processes.

    Each command is a process that spends most of its time importing Gatepass, so they overlap;
    users wait only for the roles they are given.
    """
    with ThreadPoolExecutor(max_workers=6) as pool:
        made_roles = [pool.submit(server.cli, "role", "add", role, check=False) for role in roles]

        def make(spec: tuple[str, ...] | dict[str, Any]) -> dict[str, Any]:
            if isinstance(spec, dict):
                for future in made_roles:
                    future.result()
                return server.create_user(**spec)
            return server.create_client(*spec)

        futures = {name: pool.submit(make, spec) for name, spec in specs.items()}
        return {name: future.result() for name, future in futures.items()}
