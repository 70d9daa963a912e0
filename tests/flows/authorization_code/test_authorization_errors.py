"""The authorization endpoint's errors (RFC 6749 §4.1.2.1, RFC 9207, RFC 7636, OIDC Core §3.1.2.6).

Errors about the client or its redirect URI are an HTML page and never a redirect; every other
error goes back to the verified redirect URI with error, error_description, state and iss.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from flows_support import SECOND_REDIRECT

from support.backchannel import Backchannel
from support.browser import (
    AUTHORIZE,
    HttpBrowser,
    assert_error_page,
    assert_error_redirect,
    code_request,
    is_client_redirect,
    logged_in,
)
from support.html import escape, page_text
from support.pkce import Pkce
from support.provision import World
from support.server import REDIRECT_URI

ALL_SCOPES = "openid profile email roles all"


async def test_unknown_client_gets_an_error_page_and_never_a_redirect(sqlite_world: World) -> None:
    async with HttpBrowser(sqlite_world.server) as browser:
        request = {"client_id": "no-such-app", "response_type": "code", "redirect_uri": REDIRECT_URI, "state": "s1"}
        outcome = await browser.authorize(request)
    assert_error_page(
        outcome.response,
        "The app's sign-in request cannot be used",
        "No client is registered with client_id 'no-such-app'",
        "Error code: invalid_client",
    )
    assert outcome.pages == []


async def test_missing_client_id_gets_an_error_page(sqlite_world: World) -> None:
    async with HttpBrowser(sqlite_world.server) as browser:
        outcome = await browser.authorize({"response_type": "code", "redirect_uri": REDIRECT_URI})
    assert_error_page(outcome.response, "Missing required parameter 'client_id'", "Error code: invalid_request")


MISMATCHES = pytest.mark.parametrize(
    ("sent", "closest", "difference_at"),
    [
        (REDIRECT_URI + "/", REDIRECT_URI, len(REDIRECT_URI)),
        ("http://127.0.0.1:9999/callbak", REDIRECT_URI, len("http://127.0.0.1:9999/callba")),
        ("http://localhost:9999/callback", REDIRECT_URI, len("http://")),
        ("https://app.example.com/oauth/callback?next=/", SECOND_REDIRECT, len(SECOND_REDIRECT)),
        ("https://evil.example.net/oauth/callback", SECOND_REDIRECT, len("https://")),
    ],
    ids=["trailing-slash", "typo", "localhost-for-ip", "extra-query", "other-host"],
)


@MISMATCHES
async def test_unregistered_redirect_uri_page_shows_an_admin_sent_registered_and_first_difference(
    sqlite_world: World, sent: str, closest: str, difference_at: int
) -> None:
    client = sqlite_world.client("two_uris")
    browser = await logged_in(sqlite_world.server, sqlite_world.user("manager"))
    # Another error in the same request must not turn the page into a redirect.
    outcome = await browser.authorize(code_request(client, Pkce.new(), redirect_uri=sent, scope="bogus"))
    text = assert_error_page(
        outcome.response,
        "This app sent a redirect URI that is not registered",
        "redirect_uri does not exactly match any redirect URI registered for this client",
        f"Sent {sent}",
        f"Closest registered {closest}",
        f"First difference at character {difference_at + 1}:",
        f"Registered for this client {REDIRECT_URI} {SECOND_REDIRECT}",
        "Error code: invalid_redirect_uri",
    )
    assert f"<mark>{escape(sent[difference_at:] or '(end)')}</mark>" in outcome.response.text
    assert f"<mark>{escape(closest[difference_at:] or '(end)')}</mark>" in outcome.response.text
    assert "code=" not in text
    assert outcome.pages == []


@MISMATCHES
async def test_unregistered_redirect_uri_page_shows_others_only_the_closest_host_and_first_difference(
    sqlite_world: World, sent: str, closest: str, difference_at: int
) -> None:
    client = sqlite_world.client("two_uris")
    alice = await logged_in(sqlite_world.server, sqlite_world.user("alice"))
    async with HttpBrowser(sqlite_world.server) as anonymous:
        for browser in (alice, anonymous):
            outcome = await browser.authorize(code_request(client, Pkce.new(), redirect_uri=sent, scope="bogus"))
            text = assert_error_page(
                outcome.response,
                "This app sent a redirect URI that is not registered",
                f"Sent {sent}",
                f"Closest registered a URI on {urlsplit(closest).netloc}",
                f"First difference at character {difference_at + 1}: {sent}",
                "Error code: invalid_redirect_uri",
            )
            assert f"<mark>{escape(sent[difference_at:] or '(end)')}</mark>" in outcome.response.text
            # Of the registered URIs, only the closest one's host: nothing past it, and no list.
            assert "Registered for this client" not in text
            for registered in (REDIRECT_URI, SECOND_REDIRECT):
                assert registered not in text.replace(sent, "")
            assert outcome.pages == []


async def test_client_with_several_uris_and_no_default_must_send_one(sqlite_world: World) -> None:
    async with HttpBrowser(sqlite_world.server) as browser:
        outcome = await browser.authorize(code_request(sqlite_world.client("two_uris"), Pkce.new(), redirect_uri=None))
    assert_error_page(outcome.response, "redirect_uri is required: this client has no default redirect URI")


async def test_redirect_uri_may_be_left_out_when_the_client_has_a_default(sqlite_world: World) -> None:
    web, pkce = sqlite_world.client("web"), Pkce.new()
    browser = await logged_in(sqlite_world.server, sqlite_world.user("alice"))
    outcome = await browser.authorize(code_request(web, pkce, redirect_uri=None))
    assert is_client_redirect(outcome.location, REDIRECT_URI)
    assert set(outcome.params) == {"code", "state", "iss"}


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        ({"response_type": None}, "invalid_request", "Missing required parameter 'response_type'"),
        (
            {"response_type": "device"},
            "unsupported_response_type",
            "response_type 'device' is not supported; use code (or, for legacy implicit clients, token)",
        ),
        (
            {"scope": "openid admin"},
            "invalid_scope",
            f"Scope 'admin' is not registered for this client; allowed: {ALL_SCOPES}",
        ),
        (
            {"code_challenge": None, "code_challenge_method": None},
            "invalid_request",
            "code_challenge is required: send code_challenge and code_challenge_method=S256 (RFC 7636)",
        ),
        (
            {"code_challenge_method": "plain"},
            "invalid_request",
            "code_challenge_method=plain is not allowed for this client; use S256",
        ),
        (
            {"code_challenge_method": "S512"},
            "invalid_request",
            "code_challenge_method 'S512' is not supported; use S256",
        ),
        (
            {"code_challenge": None},
            "invalid_request",
            "code_challenge_method was sent without code_challenge",
        ),
        (
            {"code_challenge": "too-short"},
            "invalid_request",
            "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]",
        ),
        (
            {"prompt": "none login"},
            "invalid_request",
            "prompt=none cannot be combined with other prompt values",
        ),
        (
            {"response_mode": "form_post"},
            "invalid_request",
            "response_mode 'form_post' is not supported; use query or fragment",
        ),
    ],
    ids=[
        "missing-response-type",
        "unsupported-response-type",
        "unregistered-scope",
        "missing-pkce",
        "plain-pkce",
        "unknown-pkce-method",
        "method-without-challenge",
        "malformed-challenge",
        "prompt-none-with-login",
        "unknown-response-mode",
    ],
)
async def test_bad_request_is_redirected_with_error_state_and_iss(
    sqlite_world: World, change: dict[str, str | None], error: str, description: str
) -> None:
    # A public client: PKCE can never be switched off for it.
    request: dict[str, str | None] = {**code_request(sqlite_world.client("spa"), Pkce.new()), **change}
    async with HttpBrowser(sqlite_world.server) as browser:
        outcome = await browser.authorize({k: v for k, v in request.items() if v is not None})
    assert_error_redirect(outcome, sqlite_world.server, error, description, state=request["state"])
    assert urlsplit(outcome.location).fragment == ""
    assert outcome.pages == []


async def test_error_redirect_without_state_has_no_state(sqlite_world: World) -> None:
    request = code_request(sqlite_world.client("spa"), Pkce.new(), scope="nope")
    del request["state"]
    async with HttpBrowser(sqlite_world.server) as browser:
        outcome = await browser.authorize(request)
    assert_error_redirect(
        outcome,
        sqlite_world.server,
        "invalid_scope",
        f"Scope 'nope' is not registered for this client; allowed: {ALL_SCOPES}",
        state=None,
    )


async def test_confidential_client_needs_pkce_unless_switched_off(sqlite_world: World) -> None:
    browser = await logged_in(sqlite_world.server, sqlite_world.user("alice"))
    refused = await browser.authorize(code_request(sqlite_world.client("web"), None))
    allowed = await browser.authorize(code_request(sqlite_world.client("no_pkce"), None))
    assert refused.params["error"] == "invalid_request"
    assert refused.params["error_description"] == (
        "code_challenge is required: send code_challenge and code_challenge_method=S256 (RFC 7636)"
    )
    assert set(allowed.params) == {"code", "state", "iss"}


async def test_plain_pkce_works_for_a_client_that_allows_it(sqlite_world: World, sqlite_api: Backchannel) -> None:
    plain_client = sqlite_world.client("plain")
    pkce = Pkce.new()
    plain = Pkce(pkce.verifier, pkce.verifier, "plain")
    browser = await logged_in(sqlite_world.server, sqlite_world.user("alice"))
    outcome = await browser.authorize(code_request(plain_client, plain))
    tokens = await sqlite_api.tokens(plain_client, outcome.code, plain)
    assert tokens["token_type"] == "Bearer"


async def test_user_who_denies_sends_access_denied_with_state_and_iss(sqlite_world: World) -> None:
    request = code_request(sqlite_world.client("web"), Pkce.new(), prompt="consent")
    browser = await logged_in(sqlite_world.server, sqlite_world.user("alice"))
    outcome = await browser.authorize(request, decision="deny")
    assert outcome.saw_consent
    assert_error_redirect(
        outcome, sqlite_world.server, "access_denied", "The user denied the request", state=request["state"]
    )


async def test_successful_response_carries_code_state_and_iss_only(sqlite_world: World) -> None:
    request = code_request(sqlite_world.client("web"), Pkce.new())
    browser = await logged_in(sqlite_world.server, sqlite_world.user("alice"))
    outcome = await browser.authorize(request)
    posted = await browser.authorize(code_request(sqlite_world.client("web"), Pkce.new()), method="POST")
    assert outcome.response.status_code == 303
    assert is_client_redirect(outcome.location)
    assert set(outcome.params) == {"code", "state", "iss"}
    assert (outcome.params["state"], outcome.params["iss"]) == (request["state"], sqlite_world.server.url)
    assert len(outcome.code) >= 43
    # POST to the authorization endpoint behaves as GET.
    assert set(posted.params) == {"code", "state", "iss"}


async def test_client_with_allowed_roles_denies_users_without_them(sqlite_world: World) -> None:
    client = sqlite_world.client("roles_only")
    request = code_request(client, Pkce.new())
    async with HttpBrowser(sqlite_world.server, sqlite_world.user("alice")) as browser:
        refused = await browser.authorize(request)
    assert refused.pages == ["login"]
    assert_error_redirect(
        refused,
        sqlite_world.server,
        "access_denied",
        "This user has none of the roles this app is allowed for",
        state=request["state"],
    )
    async with HttpBrowser(sqlite_world.server, sqlite_world.user("manager")) as browser:
        allowed = await browser.authorize(code_request(client, Pkce.new()))
    assert allowed.pages == ["login", "consent"]
    assert set(allowed.params) == {"code", "state", "iss"}


async def test_prompt_none_gives_login_required_then_consent_required_then_a_code(sqlite_world: World) -> None:
    server, client, user = sqlite_world.server, sqlite_world.client("silent"), sqlite_world.user("carol")
    async with HttpBrowser(server, user) as browser:
        request = code_request(client, Pkce.new(), prompt="none")
        not_logged_in = await browser.authorize(request)
        assert_error_redirect(
            not_logged_in, server, "login_required", "The user is not logged in", state=request["state"]
        )

        await browser.login()
        request = code_request(client, Pkce.new(), prompt="none")
        not_allowed = await browser.authorize(request)
        assert_error_redirect(
            not_allowed, server, "consent_required", "The user has not yet allowed this app", state=request["state"]
        )

        allowed = await browser.authorize(code_request(client, Pkce.new()))
        assert allowed.pages == ["consent"]
        silent = await browser.authorize(code_request(client, Pkce.new(), prompt="none"))
    assert silent.pages == []
    assert set(silent.params) == {"code", "state", "iss"}


async def test_login_hint_fills_the_login_form_and_login_returns_to_the_same_request(sqlite_world: World) -> None:
    user, client = sqlite_world.user("carol"), sqlite_world.client("trusted")
    request = code_request(client, Pkce.new(), login_hint=user["email"])
    async with HttpBrowser(sqlite_world.server, user) as browser:
        first = await browser.http.get(f"{AUTHORIZE}?{urlencode(request)}")
        assert first.status_code == 303
        login = urlsplit(first.headers["location"])
        query = dict(parse_qsl(login.query))
        assert login.path == "/login"
        assert query["login_hint"] == user["email"]
        assert query["next"] == f"{AUTHORIZE}?{urlencode(request)}"
        page = await browser.http.get(first.headers["location"])
        assert f'value="{escape(user["email"])}"' in page.text
        outcome = await browser.follow(first)
    assert outcome.pages == ["login"]
    assert outcome.params["state"] == request["state"]


async def test_skip_authorization_client_never_shows_consent(sqlite_world: World) -> None:
    async with HttpBrowser(sqlite_world.server, sqlite_world.user("carol")) as browser:
        first = await browser.authorize(code_request(sqlite_world.client("trusted"), Pkce.new(), scope=ALL_SCOPES))
    assert first.pages == ["login"]
    assert set(first.params) == {"code", "state", "iss"}


async def test_consent_mode_auto_asks_once_per_scope_set(sqlite_world: World) -> None:
    client = sqlite_world.client("consent_auto")
    async with HttpBrowser(sqlite_world.server, sqlite_world.user("carol")) as browser:
        first = await browser.authorize(code_request(client, Pkce.new(), scope="openid"))
        again = await browser.authorize(code_request(client, Pkce.new(), scope="openid"))
        wider = await browser.authorize(code_request(client, Pkce.new(), scope="openid all"), decision=None)
    assert first.pages == ["login", "consent"]
    assert again.pages == []
    assert set(again.params) == {"code", "state", "iss"}
    # A scope not granted before brings the screen back, marking what is new.
    assert wider.pages == ["consent"]
    text = page_text(wider.response.text)
    assert "Act as you in the document API new" in text
    assert "Know who you are new" not in text
    # openid already let the app read the email address (Frappe's openid_profile): not new either.
    assert "See your email address new" not in text
    assert "See your email address" in text


async def test_consent_mode_force_always_asks_except_for_trusted_clients(consent_forced_world: World) -> None:
    # The server runs with `gatepass settings set consent_mode force`.
    world = consent_forced_world
    client = world.client("web")
    async with HttpBrowser(world.server, world.user("eve")) as browser:
        first = await browser.authorize(code_request(client, Pkce.new()))
        again = await browser.authorize(code_request(client, Pkce.new()))
        trusted = await browser.authorize(code_request(world.client("trusted"), Pkce.new()))
    assert first.pages == ["login", "consent"]
    # Allowed a moment ago, and asked again all the same.
    assert again.pages == ["consent"]
    assert set(again.params) == {"code", "state", "iss"}
    assert trusted.pages == []
