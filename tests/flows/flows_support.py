"""Helpers for the flow tests: a cookie-keeping HTTP "browser", PKCE pairs, back-channel calls.

Everything goes over real HTTP to a running `gatepass serve`; nothing here knows Gatepass's code.
The HTTP browser logs in and answers the consent page by parsing the HTML forms, the way a
person's browser would submit them, so most flows need no real browser.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import secrets
import ssl
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import authlib.deprecate  # noqa: F401  (Authlib's own warning filter first, so the one below wins)
import httpx

from support import REDIRECT_URI, LiveServer, unique_email
from support.cli import run_gatepass_batch

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 package, which is not released; its httpx fallback is what we test.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated", category=DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client as AsyncOAuth2Client

AUTHORIZE = "/oauth/authorize"
TOKEN = "/oauth/token"
REVOKE = "/oauth/revoke"
INTROSPECT = "/oauth/introspect"
FRAPPE = "/api/method/frappe.integrations.oauth2"
FRAPPE_AUTHORIZE = f"{FRAPPE}.authorize"
FRAPPE_TOKEN = f"{FRAPPE}.get_token"
FRAPPE_REVOKE = f"{FRAPPE}.revoke_token"
FRAPPE_INTROSPECT = f"{FRAPPE}.introspect_token"
INACTIVE = {"active": False}
BASIC_CHALLENGE = 'Basic realm="gatepass", charset="UTF-8"'
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
PASSWORD = "correct-horse-1"
#: Made once and shared: each new httpx client would otherwise load the CA bundle again (slow),
#: although every URL here is plain http on 127.0.0.1.
SSL_CONTEXT = ssl.create_default_context()


# -- PKCE -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str
    method: str = "S256"

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))

    @property
    def params(self) -> dict[str, str]:
        return {"code_challenge": self.challenge, "code_challenge_method": self.method}


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


def parse_forms(page: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(page)
    return parser.forms


def page_text(page: str) -> str:
    """The visible text of an HTML page: tags removed, entities decoded, white space folded."""
    parser = _TextParser()
    parser.feed(page)
    return " ".join("".join(parser.parts).split())


_INLINE = frozenset({"a", "b", "code", "em", "i", "mark", "small", "span", "strong"})


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("style", "script", "title")
        if tag not in _INLINE:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script", "title")
        if tag not in _INLINE:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


# -- the authorization endpoint over plain HTTP ------------------------------------------------


def redirect_params(location: str) -> dict[str, str]:
    """The authorization response carried by a redirect, from the fragment if there is one."""
    parts = urlsplit(location)
    return dict(parse_qsl(parts.fragment or parts.query, keep_blank_values=True))


def is_client_redirect(location: str | None, redirect_uri: str = REDIRECT_URI) -> bool:
    return location is not None and location.split("?", 1)[0].split("#", 1)[0] == redirect_uri


@dataclass
class AuthorizationOutcome:
    """Where the authorization endpoint left the browser."""

    response: httpx.Response
    #: Pages shown on the way: "login", "consent".
    pages: list[str]

    @property
    def location(self) -> str:
        location: str | None = self.response.headers.get("location")
        assert location is not None, f"no redirect: {self.response.status_code} {page_text(self.response.text)[:500]}"
        return location

    @property
    def params(self) -> dict[str, str]:
        return redirect_params(self.location)

    @property
    def code(self) -> str:
        params = self.params
        assert "code" in params, f"no code in {self.location}"
        return params["code"]

    @property
    def saw_consent(self) -> bool:
        return "consent" in self.pages


class HttpBrowser:
    """A browser without JavaScript: keeps cookies, follows the server's own redirects, fills forms."""

    def __init__(self, server: LiveServer, user: Mapping[str, Any] | None = None) -> None:
        self.server = server
        self.user = user
        # No keep-alive (see the `http` fixture): shared browsers sit idle between tests.
        self.http = httpx.AsyncClient(
            base_url=server.url,
            follow_redirects=False,
            timeout=60,
            limits=httpx.Limits(max_keepalive_connections=0),
            verify=SSL_CONTEXT,
        )

    async def __aenter__(self) -> HttpBrowser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def login(self) -> None:
        """Log in directly, without an authorization request."""
        page = await self.http.get("/login")
        response = await self._submit_login(page, "/")
        assert response.status_code == 303, page_text(response.text)

    async def _submit_login(self, page: httpx.Response, next_url: str) -> httpx.Response:
        assert self.user is not None, "this browser has no user to log in with"
        form = next(f for f in parse_forms(page.text) if f.action == "/login")
        data = {**form.fields, "email": self.user["email"], "password": self.user["password"], "next": next_url}
        return await self.http.post("/login", data=data)

    async def authorize(
        self,
        params: Mapping[str, str],
        *,
        path: str = AUTHORIZE,
        decision: str | None = "allow",
        method: str = "GET",
    ) -> AuthorizationOutcome:
        """Send an authorization request and play the user: log in, then Allow (or Deny) on consent.

        With ``decision=None`` the consent page is returned as is (an outcome without a redirect).
        """
        if method == "POST":
            response = await self.http.post(path, data=dict(params))
        else:
            response = await self.http.get(f"{path}?{urlencode(dict(params))}")
        return await self.follow(response, decision=decision)

    async def authorize_url(self, url: str, *, decision: str | None = "allow") -> AuthorizationOutcome:
        """Like ``authorize`` for a complete URL built by a client library."""
        return await self.follow(await self.http.get(url), decision=decision)

    async def follow(self, response: httpx.Response, *, decision: str | None = "allow") -> AuthorizationOutcome:
        pages: list[str] = []
        for _ in range(10):
            location = response.headers.get("location")
            if response.status_code in (302, 303) and location is not None:
                target = urlsplit(urljoin(self.server.url + "/", location))
                if f"{target.scheme}://{target.netloc}" != self.server.url:
                    return AuthorizationOutcome(response, pages)
                if target.path == "/login":
                    pages.append("login")
                    login_page = await self.http.get(location)
                    if login_page.status_code != 200:
                        response = login_page
                        continue
                    next_url = dict(parse_qsl(target.query)).get("next", "/")
                    response = await self._submit_login(login_page, next_url)
                    continue
                response = await self.http.get(location)
                continue
            forms = [f for f in parse_forms(response.text) if f.action == "/oauth/consent"]
            if response.status_code == 200 and forms:
                pages.append("consent")
                if decision is None:
                    return AuthorizationOutcome(response, pages)
                response = await self.http.post("/oauth/consent", data={**forms[0].fields, "decision": decision})
                continue
            return AuthorizationOutcome(response, pages)
        raise AssertionError("too many redirects inside the authorization server")


def code_request(
    client: Mapping[str, Any],
    pkce: Pkce | None = None,
    *,
    scope: str | None = "openid profile email",
    redirect_uri: str | None = REDIRECT_URI,
    **extra: str,
) -> dict[str, str]:
    """An authorization request for response_type=code, with a fresh state."""
    params = {"client_id": client["client_id"], "response_type": "code", "state": secrets.token_urlsafe(12)}
    if redirect_uri is not None:
        params["redirect_uri"] = redirect_uri
    if scope is not None:
        params["scope"] = scope
    if pkce is not None:
        params.update(pkce.params)
    params.update(extra)
    return params


_LOGGED_IN: dict[tuple[str, str], HttpBrowser] = {}


async def logged_in(server: LiveServer, user: Mapping[str, Any]) -> HttpBrowser:
    """A browser of ``user``'s, logged in once per server and shared: for tests that do not watch the login."""
    key = (server.url, user["email"])
    if key not in _LOGGED_IN:
        browser = HttpBrowser(server, user)
        await browser.login()
        _LOGGED_IN[key] = browser
    return _LOGGED_IN[key]


async def close_logged_in() -> None:
    while _LOGGED_IN:
        await _LOGGED_IN.popitem()[1].http.aclose()


async def obtain_tokens(
    api: Backchannel, user: Mapping[str, Any], client: Mapping[str, Any], *, scope: str = "openid profile email"
) -> dict[str, Any]:
    """As ``user``, allow ``client`` and redeem the code: the token response."""
    pkce = Pkce.new()
    browser = await logged_in(api.server, user)
    code = (await browser.authorize(code_request(client, pkce, scope=scope))).code
    return await api.tokens(client, code, pkce)


# -- back channel -----------------------------------------------------------------------------


def basic(client: Mapping[str, Any]) -> httpx.BasicAuth:
    return httpx.BasicAuth(client["client_id"], client["client_secret"])


def client_auth(client: Mapping[str, Any]) -> tuple[dict[str, str], httpx.BasicAuth | None]:
    """Credentials as the client registered them: (form fields, Basic auth)."""
    method = client["token_endpoint_auth_method"]
    if method == "client_secret_basic":
        return {}, basic(client)
    if method == "client_secret_post":
        return {"client_id": client["client_id"], "client_secret": client["client_secret"]}, None
    return {"client_id": client["client_id"]}, None


@dataclass
class Backchannel:
    """The token, revocation and introspection endpoints of one server, standard paths or Frappe's."""

    http: httpx.AsyncClient
    server: LiveServer
    token_path: str = TOKEN
    revoke_path: str = REVOKE
    introspect_path: str = INTROSPECT

    def frappe(self) -> Backchannel:
        return Backchannel(self.http, self.server, FRAPPE_TOKEN, FRAPPE_REVOKE, FRAPPE_INTROSPECT)

    async def post(self, path: str, client: Mapping[str, Any] | None, data: Mapping[str, str]) -> httpx.Response:
        """POST a form, authenticating as ``client`` registered (None: no client authentication)."""
        fields, auth = client_auth(client) if client is not None else ({}, None)
        # Set explicitly: httpx sends no Content-Type for an empty form.
        request = self.http.build_request(
            "POST", self.server.url + path, content=urlencode({**fields, **data}), headers=FORM_HEADERS
        )
        return await self.http.send(request, auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT)

    async def token(self, client: Mapping[str, Any] | None, **data: str) -> httpx.Response:
        return await self.post(self.token_path, client, data)

    async def redeem(
        self,
        client: Mapping[str, Any],
        code: str,
        pkce: Pkce | None,
        *,
        redirect_uri: str | None = REDIRECT_URI,
    ) -> httpx.Response:
        data = {"grant_type": "authorization_code", "code": code}
        if redirect_uri is not None:
            data["redirect_uri"] = redirect_uri
        if pkce is not None:
            data["code_verifier"] = pkce.verifier
        return await self.post(self.token_path, client, data)

    async def tokens(
        self, client: Mapping[str, Any], code: str, pkce: Pkce | None, *, redirect_uri: str | None = REDIRECT_URI
    ) -> dict[str, Any]:
        """Redeem a code that must succeed; returns the token response."""
        response = await self.redeem(client, code, pkce, redirect_uri=redirect_uri)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def refresh(self, client: Mapping[str, Any], refresh_token: str, **extra: str) -> httpx.Response:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
        return await self.post(self.token_path, client, data)

    async def introspect(self, client: Mapping[str, Any], token: str, **extra: str) -> dict[str, Any]:
        response = await self.post(self.introspect_path, client, {"token": token, **extra})
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body: dict[str, Any] = response.json()
        return body

    async def revoke(self, client: Mapping[str, Any] | None, token: str, **extra: str) -> httpx.Response:
        return await self.post(self.revoke_path, client, {"token": token, **extra})


def assert_oauth_error(
    response: httpx.Response, status: int, error: str, description: str, *, challenge: str | None = None
) -> None:
    """RFC 6749 §5.2: exact status, error and error_description, never cached; 401s carry a challenge."""
    expected = (status, {"error": error, "error_description": description})
    assert (response.status_code, response.json()) == expected, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers.get("www-authenticate") == challenge


def assert_error_redirect(
    outcome: AuthorizationOutcome,
    server: LiveServer,
    error: str,
    description: str,
    *,
    state: str | None,
    redirect_uri: str = REDIRECT_URI,
) -> None:
    """RFC 6749 §4.1.2.1 error response to the verified redirect URI, with iss (RFC 9207)."""
    assert outcome.response.status_code == 303
    assert is_client_redirect(outcome.location, redirect_uri), outcome.location
    expected = {"error": error, "error_description": description, "iss": server.url}
    if state is not None:
        expected["state"] = state
    assert outcome.params == expected


def assert_error_page(response: httpx.Response, *texts: str) -> str:
    """An HTML error page, never a redirect; returns its visible text."""
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    text = page_text(response.text)
    for expected in texts:
        assert expected in text, f"{expected!r} not in page: {text}"
    return text


def escape(text: str) -> str:
    return html.escape(text, quote=True)


# -- provisioning -----------------------------------------------------------------------------


def provision(
    server: LiveServer,
    users: Mapping[str, Mapping[str, Any]],
    clients: Callable[[Mapping[str, Mapping[str, Any]]], Mapping[str, Sequence[str]]],
    *,
    then: Sequence[Sequence[str]] = (),
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Create users, then clients (whose arguments may name those users), then run ``then`` commands.

    A user spec takes the keywords of ``LiveServer.create_user``; a client spec is the arguments of
    `gatepass client add`, with the default redirect URI added as ``LiveServer.create_client`` does.
    """
    commands: list[list[str]] = []
    planned: dict[str, dict[str, Any]] = {}
    for name, spec in users.items():
        planned[name] = {"email": spec.get("email") or unique_email(name), "password": spec.get("password", PASSWORD)}
        args = ["user", "add", planned[name]["email"], "--password", planned[name]["password"], "--json"]
        args += ["--first-name", spec.get("first_name", "Test"), "--last-name", spec.get("last_name", "User")]
        for role in spec.get("roles", ()):
            args += ["--role", role]
        commands.append(args)
    client_specs = clients(planned)
    for client_args in client_specs.values():
        needs_uri = "--redirect-uri" not in client_args and "client_credentials" not in client_args
        commands.append(
            ["client", "add", "--json", *client_args, *(["--redirect-uri", REDIRECT_URI] if needs_uri else [])]
        )
    outputs = iter(done.stdout for done in run_gatepass_batch([*commands, *then], env=server.env))
    made_users = {name: {**json.loads(next(outputs)), "password": planned[name]["password"]} for name in users}
    made_clients = {name: json.loads(next(outputs)) for name in client_specs}
    return made_users, made_clients


# -- the users and clients every flow test can use ---------------------------------------------

#: The built-in role that the role-restricted client asks for.
ADMIN_ROLE = "System Manager"
NATIVE_REDIRECTS = ("http://127.0.0.1/callback", "http://[::1]/callback", "com.example.app:/callback")
SECOND_REDIRECT = "https://app.example.com/oauth/callback"

CORE_USERS: dict[str, dict[str, Any]] = {
    "alice": {"first_name": "Alice", "last_name": "Archer"},
    "bob": {"first_name": "Bob", "last_name": "Baker"},
    "robot": {"first_name": "Shop", "last_name": "Backend"},
}


def _core_clients(users: Mapping[str, Mapping[str, Any]]) -> dict[str, Sequence[str]]:
    return {
        # A confidential web app: client_secret_basic, PKCE, code + refresh.
        "web": ("--name", "Web App"),
        "post": ("--name", "Post App", "--auth-method", "client_secret_post"),
        # A single-page or mobile app: no secret.
        "spa": ("--name", "Single Page App", "--public"),
        # A resource server that introspects tokens (of any client: an admin marked it so).
        "rs": ("--name", "Resource Server", "--grant-type", "client_credentials", "--resource-server"),
        # The seeds' shop backend: client credentials acting as a service user.
        "shop": (
            *("--name", "Shop Backend", "--grant-type", "client_credentials", "--scope", "all", "--scope", "roles"),
            *("--service-user", users["robot"]["email"]),
        ),
    }


EXTRA_USERS: dict[str, dict[str, Any]] = {
    # Each client carol uses is hers alone, so she meets each for the first time (consent, silent, ...).
    "carol": {"first_name": "Carol", "last_name": "Clerk"},
    "manager": {"first_name": "Mia", "last_name": "Manager", "roles": (ADMIN_ROLE,)},
}

EXTRA_CLIENTS: dict[str, tuple[str, ...]] = {
    "trusted": ("--name", "Trusted App", "--skip-authorization"),
    "roles_only": ("--name", "Managers Only", "--allowed-role", ADMIN_ROLE),
    "plain": ("--name", "Plain PKCE App", "--allow-plain-pkce"),
    "no_pkce": ("--name", "No PKCE App", "--no-require-pkce"),
    "legacy": ("--name", "Frappe Legacy App", "--frappe-legacy"),
    "code_only": ("--name", "Code Only App", "--grant-type", "authorization_code"),
    "no_service_user": ("--name", "Headless App", "--grant-type", "client_credentials"),
    "implicit": ("--name", "Legacy Mobile App", "--public", "--grant-type", "implicit", "--response-type", "token"),
    "native": ("--name", "Native App", "--public", *(a for uri in NATIVE_REDIRECTS for a in ("--redirect-uri", uri))),
    "two_uris": ("--name", "Two URIs App", "--redirect-uri", REDIRECT_URI, "--redirect-uri", SECOND_REDIRECT),
    # Each used by one test only, so that user and client start with no history.
    "consent_auto": ("--name", "Consent Auto App"),
    "silent": ("--name", "Silent App"),
    "browser_app": ("--name", "Browser App"),
}


@dataclass
class World:
    """A server with its users and clients, by name."""

    server: LiveServer
    users: dict[str, dict[str, Any]]
    clients: dict[str, dict[str, Any]]

    def user(self, name: str) -> dict[str, Any]:
        return self.users[name]

    def client(self, name: str) -> dict[str, Any]:
        return self.clients[name]


def make_world(server: LiveServer, *, extended: bool) -> World:
    users, clients = provision(
        server,
        {**CORE_USERS, **(EXTRA_USERS if extended else {})},
        lambda made: {**_core_clients(made), **(EXTRA_CLIENTS if extended else {})},
    )
    return World(server, users, clients)


# -- lifetimes that run out -------------------------------------------------------------------

#: Lifetimes of the expiry server: the shortest each setting accepts.
CODE_TTL_SECONDS = 10
ACCESS_TOKEN_TTL_SECONDS = 60


@dataclass
class PrivateWorld:
    """The private server's world, with a code and tokens issued early and left to expire."""

    world: World
    code: str
    pkce: Pkce
    code_issued_at: float
    tokens: dict[str, Any]
    tokens_issued_at: float

    async def wait_until(self, issued_at: float, ttl_seconds: int) -> None:
        remaining = issued_at + ttl_seconds + 1.5 - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)
