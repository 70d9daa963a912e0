"""The authorization request: phase 1 (client and redirect URI), phase 2 (everything else), the response redirect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gatepass.protocol.errors import (
    AccessDenied,
    ConsentRequired,
    InteractionRequired,
    InvalidClient,
    InvalidGrant,
    InvalidRedirectUri,
    InvalidRequest,
    InvalidScope,
    InvalidTarget,
    LoginRequired,
    OAuthError,
    RequestNotSupported,
    RequestUriNotSupported,
    ServerError,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from gatepass.protocol.rfc6749.authorization import (
    PROMPT_VALUES,
    REDIRECTABLE_ERRORS,
    build_authorization_redirect,
    check_client_and_redirect,
    is_redirectable,
    validate_authorization_request,
)
from gatepass.protocol.rfc6749.redirect_uri import RedirectUriNotRegistered
from gatepass.protocol.rfc7636_pkce import s256_challenge
from gatepass.protocol.rfc9207_issuer import with_issuer
from gatepass.protocol.values import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_IMPLICIT,
    AuthorizationRequest,
    ClientInfo,
)

REDIRECT_URI = "https://app.example.com/callback"
CHALLENGE = s256_challenge("v" * 43)
PLAIN_CHALLENGE = "p" * 43

IMPLICIT_CLIENT: dict[str, Any] = {
    "grant_types": (GRANT_AUTHORIZATION_CODE, GRANT_IMPLICIT),
    "response_types": ("code", "token", "id_token", "id_token token"),
}
PUBLIC_CLIENT: dict[str, Any] = {"client_type": "public", "token_endpoint_auth_method": "none", "secret_digest": None}

CODE_REQUEST = {
    "response_type": "code",
    "client_id": "app-1",
    "redirect_uri": REDIRECT_URI,
    "scope": "openid profile",
    "state": "af0ifjsldkj",
    "code_challenge": CHALLENGE,
    "code_challenge_method": "S256",
}


def _params(**changes: str | None) -> dict[str, str]:
    """CODE_REQUEST with some parameters changed; None removes one."""
    params = {**CODE_REQUEST, **changes}
    return {name: value for name, value in params.items() if value is not None}


# Phase 1 ------------------------------------------------------------------------------------------------------------


# is_redirectable None: not pinned; phase-1 errors are never redirected whatever the class says.
PHASE1_FAILURES: dict[str, tuple[dict[str, str], dict[str, Any] | None, type[OAuthError], str, str, bool | None]] = {
    "missing client_id": (
        {"response_type": "code"},
        None,
        InvalidRequest,
        "invalid_request",
        "Missing required parameter 'client_id'",
        None,
    ),
    "unknown client": (
        {"client_id": "nope"},
        None,
        InvalidClient,
        "invalid_client",
        "No client is registered with client_id 'nope'",
        False,
    ),
    "disabled client": (
        {"client_id": "app-1"},
        {"is_enabled": False},
        InvalidClient,
        "invalid_client",
        "The client 'Example App' is disabled; ask the administrator to enable it",
        False,
    ),
    "unregistered redirect_uri": (
        {"client_id": "app-1", "redirect_uri": "https://evil.example/callback"},
        {},
        RedirectUriNotRegistered,
        "invalid_redirect_uri",
        "redirect_uri does not exactly match any redirect URI registered for this client",
        False,
    ),
    "no redirect_uri and several registered without default": (
        {"client_id": "app-1"},
        {"redirect_uris": ("https://app.example.com/a", "https://app.example.com/b")},
        InvalidRequest,
        "invalid_request",
        "redirect_uri is required: this client has no default redirect URI",
        None,
    ),
}


@pytest.mark.parametrize(
    ("params", "client_overrides", "error_class", "wire_code", "description", "is_redirectable"),
    list(PHASE1_FAILURES.values()),
    ids=list(PHASE1_FAILURES),
)
def test_phase1_rejects_before_any_redirect_uri_is_trusted(
    make_client: Callable[..., ClientInfo],
    params: dict[str, str],
    client_overrides: dict[str, Any] | None,
    error_class: type[OAuthError],
    wire_code: str,
    description: str,
    is_redirectable: bool | None,
) -> None:
    client = None if client_overrides is None else make_client(**client_overrides)

    with pytest.raises(error_class) as caught:
        check_client_and_redirect(params, client)

    assert type(caught.value) is error_class
    assert caught.value.error == wire_code
    assert caught.value.description == description
    if is_redirectable is not None:
        assert caught.value.redirectable is is_redirectable


def test_phase1_checks_client_id_before_the_client_record(make_client: Callable[..., ClientInfo]) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_client_and_redirect({}, make_client())

    assert caught.value.description == "Missing required parameter 'client_id'"


def test_phase1_unknown_client_is_401(make_client: Callable[..., ClientInfo]) -> None:
    with pytest.raises(InvalidClient) as caught:
        check_client_and_redirect({"client_id": "nope"}, None)

    assert caught.value.status_code == 401


PHASE1_SUCCESSES: dict[str, tuple[dict[str, str], dict[str, Any], str]] = {
    "registered redirect_uri sent": ({"client_id": "app-1", "redirect_uri": REDIRECT_URI}, {}, REDIRECT_URI),
    "no redirect_uri: the only registered one": ({"client_id": "app-1"}, {}, REDIRECT_URI),
    "no redirect_uri: the default": (
        {"client_id": "app-1"},
        {
            "redirect_uris": ("https://app.example.com/a", "https://app.example.com/b"),
            "default_redirect_uri": "https://app.example.com/a",
        },
        "https://app.example.com/a",
    ),
    "loopback redirect on another port": (
        {"client_id": "app-1", "redirect_uri": "http://127.0.0.1:49152/cb"},
        {"redirect_uris": ("http://127.0.0.1/cb",)},
        "http://127.0.0.1:49152/cb",
    ),
}


@pytest.mark.parametrize(
    ("params", "client_overrides", "redirect_uri"), list(PHASE1_SUCCESSES.values()), ids=list(PHASE1_SUCCESSES)
)
def test_phase1_returns_the_client_and_the_verified_redirect_uri(
    make_client: Callable[..., ClientInfo], params: dict[str, str], client_overrides: dict[str, Any], redirect_uri: str
) -> None:
    client = make_client(**client_overrides)

    assert check_client_and_redirect(params, client) == (client, redirect_uri)


# Phase 2: success ---------------------------------------------------------------------------------------------------


def test_phase2_returns_the_full_authorization_request(make_client: Callable[..., ClientInfo]) -> None:
    params = _params(
        nonce="n-0S6_WzA2Mj",
        prompt="login consent",
        max_age="3600",
        login_hint="ada@example.com",
        resource="https://api.example.com/",
    )

    request = validate_authorization_request(params, make_client(), REDIRECT_URI)

    assert request == AuthorizationRequest(
        client_id="app-1",
        response_type="code",
        redirect_uri=REDIRECT_URI,
        redirect_uri_was_sent=True,
        scopes=("openid", "profile"),
        state="af0ifjsldkj",
        code_challenge=CHALLENGE,
        code_challenge_method="S256",
        nonce="n-0S6_WzA2Mj",
        prompt=frozenset({"login", "consent"}),
        max_age=3600,
        login_hint="ada@example.com",
        resource="https://api.example.com/",
    )
    assert request.target.use_fragment is False


PHASE2_SUCCESSES: dict[str, tuple[dict[str, str | None], dict[str, Any], dict[str, Any]]] = {
    "no scope sent: the client's registered scopes": (
        {"scope": None},
        {},
        {"scopes": ("openid", "profile", "email")},
    ),
    "blank scope sent: the client's registered scopes": (
        {"scope": "   "},
        {},
        {"scopes": ("openid", "profile", "email")},
    ),
    "repeated scope kept once": ({"scope": "email email openid"}, {}, {"scopes": ("email", "openid")}),
    "redirect_uri not sent is recorded": ({"redirect_uri": None}, {}, {"redirect_uri_was_sent": False}),
    "confidential client exempted from PKCE": (
        {"code_challenge": None, "code_challenge_method": None},
        {"require_pkce": False},
        {"code_challenge": None, "code_challenge_method": None},
    ),
    "public client with S256": (
        {},
        PUBLIC_CLIENT,
        {"code_challenge": CHALLENGE, "code_challenge_method": "S256"},
    ),
    "plain PKCE for a client that allows it": (
        {"code_challenge": PLAIN_CHALLENGE, "code_challenge_method": "plain"},
        {"allow_plain_pkce": True},
        {"code_challenge": PLAIN_CHALLENGE, "code_challenge_method": "plain"},
    ),
    "prompt=none alone": ({"prompt": "none"}, {}, {"prompt": frozenset({"none"})}),
    "prompt select_account": ({"prompt": "select_account"}, {}, {"prompt": frozenset({"select_account"})}),
    "prompt with extra spaces": ({"prompt": " login  consent "}, {}, {"prompt": frozenset({"login", "consent"})}),
    "prompt not sent": ({"prompt": None}, {}, {"prompt": frozenset()}),
    "max_age zero": ({"max_age": "0"}, {}, {"max_age": 0}),
    "max_age with leading zeros": ({"max_age": "000000300"}, {}, {"max_age": 300}),
    "max_age of nine digits": ({"max_age": "999999999"}, {}, {"max_age": 999999999}),
    "max_age not sent": ({"max_age": None}, {}, {"max_age": None}),
    "no state": ({"state": None}, {}, {"state": None}),
    "response_mode=query with code": ({"response_mode": "query"}, {}, {"response_type": "code"}),
    "code without nonce is fine": ({"nonce": None}, {}, {"nonce": None}),
}


@pytest.mark.parametrize(
    ("changes", "client_overrides", "expected"), list(PHASE2_SUCCESSES.values()), ids=list(PHASE2_SUCCESSES)
)
def test_phase2_accepts_and_records(
    make_client: Callable[..., ClientInfo],
    changes: dict[str, str | None],
    client_overrides: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    request = validate_authorization_request(_params(**changes), make_client(**client_overrides), REDIRECT_URI)

    assert {name: getattr(request, name) for name in expected} == expected


IMPLICIT_SUCCESSES: dict[str, tuple[dict[str, str | None], str]] = {
    "token": ({"response_type": "token"}, "token"),
    "id_token with nonce": ({"response_type": "id_token", "nonce": "n-1"}, "id_token"),
    "id_token token with nonce": ({"response_type": "id_token token", "nonce": "n-1"}, "id_token token"),
    "token id_token is normalised": ({"response_type": "token id_token", "nonce": "n-1"}, "id_token token"),
    "response_mode=fragment with token": ({"response_type": "token", "response_mode": "fragment"}, "token"),
}


@pytest.mark.parametrize(("changes", "response_type"), list(IMPLICIT_SUCCESSES.values()), ids=list(IMPLICIT_SUCCESSES))
def test_implicit_response_types_use_the_fragment_and_need_no_pkce(
    make_client: Callable[..., ClientInfo], changes: dict[str, str | None], response_type: str
) -> None:
    params = _params(code_challenge=None, code_challenge_method=None, **changes)

    request = validate_authorization_request(params, make_client(**IMPLICIT_CLIENT), REDIRECT_URI)

    assert request.response_type == response_type
    assert request.code_challenge is None
    assert request.target.use_fragment is True


# Phase 2: failures --------------------------------------------------------------------------------------------------

PKCE_REQUIRED = "code_challenge is required: send code_challenge and code_challenge_method=S256 (RFC 7636)"
NOT_IMPLICIT = "the implicit flow must be switched on for the client"
MAX_AGE = "max_age must be a whole number of seconds"

PHASE2_FAILURES: dict[str, tuple[dict[str, str | None], dict[str, Any], type[OAuthError], str, str]] = {
    "response_type missing": (
        {"response_type": None},
        {},
        InvalidRequest,
        "invalid_request",
        "Missing required parameter 'response_type'",
    ),
    "response_type unknown": (
        {"response_type": "device"},
        {},
        UnsupportedResponseType,
        "unsupported_response_type",
        "response_type 'device' is not supported; use code (or, for legacy implicit clients, token)",
    ),
    "hybrid response_type unsupported": (
        {"response_type": "code id_token", "nonce": "n-1"},
        IMPLICIT_CLIENT,
        UnsupportedResponseType,
        "unsupported_response_type",
        "response_type 'code id_token' is not supported; use code (or, for legacy implicit clients, token)",
    ),
    "response_type echoed through the description charset": (
        {"response_type": 'co"de'},
        {},
        UnsupportedResponseType,
        "unsupported_response_type",
        "response_type 'co'de' is not supported; use code (or, for legacy implicit clients, token)",
    ),
    "code for a client without the authorization_code grant": (
        {},
        {"grant_types": (GRANT_CLIENT_CREDENTIALS,)},
        UnauthorizedClient,
        "unauthorized_client",
        "This client is not allowed to use response_type=code",
    ),
    "code for a client without the code response type": (
        {},
        {"response_types": ("token",)},
        UnauthorizedClient,
        "unauthorized_client",
        "This client is not allowed to use response_type=code",
    ),
    "token for a client without implicit": (
        {"response_type": "token"},
        {},
        UnauthorizedClient,
        "unauthorized_client",
        f"This client is not allowed to use response_type=token; {NOT_IMPLICIT}",
    ),
    "implicit client without that response type": (
        {"response_type": "id_token", "nonce": "n-1"},
        {"grant_types": (GRANT_AUTHORIZATION_CODE, GRANT_IMPLICIT), "response_types": ("code", "token")},
        UnauthorizedClient,
        "unauthorized_client",
        f"This client is not allowed to use response_type=id_token; {NOT_IMPLICIT}",
    ),
    "scope not registered": (
        {"scope": "openid admin"},
        {},
        InvalidScope,
        "invalid_scope",
        "Scope 'admin' is not registered for this client; allowed: openid profile email",
    ),
    "scope with a forbidden character": (
        {"scope": 'openid "x"'},
        {},
        InvalidScope,
        "invalid_scope",
        "Scope ''x'' has characters that RFC 6749 section 3.3 does not allow",
    ),
    "response_mode form_post": (
        {"response_mode": "form_post"},
        {},
        InvalidRequest,
        "invalid_request",
        "response_mode 'form_post' is not supported; use query or fragment",
    ),
    "response_mode=query with token": (
        {"response_type": "token", "response_mode": "query", "code_challenge": None, "code_challenge_method": None},
        IMPLICIT_CLIENT,
        InvalidRequest,
        "invalid_request",
        "response_mode=query is not allowed when tokens are returned",
    ),
    "response_mode=query with id_token": (
        {"response_type": "id_token", "response_mode": "query", "nonce": "n-1"},
        IMPLICIT_CLIENT,
        InvalidRequest,
        "invalid_request",
        "response_mode=query is not allowed when tokens are returned",
    ),
    "public client without PKCE": (
        {"code_challenge": None, "code_challenge_method": None},
        PUBLIC_CLIENT,
        InvalidRequest,
        "invalid_request",
        PKCE_REQUIRED,
    ),
    "public client cannot be exempted from PKCE": (
        {"code_challenge": None, "code_challenge_method": None},
        {**PUBLIC_CLIENT, "require_pkce": False},
        InvalidRequest,
        "invalid_request",
        PKCE_REQUIRED,
    ),
    "confidential client without PKCE by default": (
        {"code_challenge": None, "code_challenge_method": None},
        {},
        InvalidRequest,
        "invalid_request",
        PKCE_REQUIRED,
    ),
    "exempted client still gets its challenge checked": (
        {"code_challenge": "short", "code_challenge_method": "S256"},
        {"require_pkce": False},
        InvalidRequest,
        "invalid_request",
        "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]",
    ),
    "plain PKCE for a client that does not allow it": (
        {"code_challenge": PLAIN_CHALLENGE, "code_challenge_method": "plain"},
        {},
        InvalidRequest,
        "invalid_request",
        "code_challenge_method=plain is not allowed for this client; use S256",
    ),
    "code_challenge_method without code_challenge": (
        {"code_challenge": None},
        {"require_pkce": False},
        InvalidRequest,
        "invalid_request",
        "code_challenge_method was sent without code_challenge",
    ),
    "id_token without nonce": (
        {"response_type": "id_token"},
        IMPLICIT_CLIENT,
        InvalidRequest,
        "invalid_request",
        "nonce is required when an id_token is returned from the authorization endpoint",
    ),
    "id_token token without nonce": (
        {"response_type": "id_token token"},
        IMPLICIT_CLIENT,
        InvalidRequest,
        "invalid_request",
        "nonce is required when an id_token is returned from the authorization endpoint",
    ),
    "id_token without the openid scope": (
        {"response_type": "id_token", "nonce": "n-1", "scope": "profile"},
        IMPLICIT_CLIENT,
        InvalidScope,
        "invalid_scope",
        "response_type with id_token requires the openid scope",
    ),
    "prompt value unknown": (
        {"prompt": "login popup"},
        {},
        InvalidRequest,
        "invalid_request",
        "prompt value 'popup' is not supported; use none, login or consent",
    ),
    "prompt=none with login": (
        {"prompt": "none login"},
        {},
        InvalidRequest,
        "invalid_request",
        "prompt=none cannot be combined with other prompt values",
    ),
    "prompt=none with consent, none last": (
        {"prompt": "consent none"},
        {},
        InvalidRequest,
        "invalid_request",
        "prompt=none cannot be combined with other prompt values",
    ),
    "max_age negative": ({"max_age": "-1"}, {}, InvalidRequest, "invalid_request", MAX_AGE),
    "max_age fractional": ({"max_age": "1.5"}, {}, InvalidRequest, "invalid_request", MAX_AGE),
    "max_age text": ({"max_age": "an hour"}, {}, InvalidRequest, "invalid_request", MAX_AGE),
    "max_age with sign": ({"max_age": "+60"}, {}, InvalidRequest, "invalid_request", MAX_AGE),
    "max_age of ten digits": ({"max_age": "1234567890"}, {}, InvalidRequest, "invalid_request", MAX_AGE),
    "max_age blank": ({"max_age": " "}, {}, InvalidRequest, "invalid_request", MAX_AGE),
}


@pytest.mark.parametrize(
    ("changes", "client_overrides", "error_class", "wire_code", "description"),
    list(PHASE2_FAILURES.values()),
    ids=list(PHASE2_FAILURES),
)
def test_phase2_rejects_with_a_redirectable_error(
    make_client: Callable[..., ClientInfo],
    changes: dict[str, str | None],
    client_overrides: dict[str, Any],
    error_class: type[OAuthError],
    wire_code: str,
    description: str,
) -> None:
    with pytest.raises(error_class) as caught:
        validate_authorization_request(_params(**changes), make_client(**client_overrides), REDIRECT_URI)

    assert type(caught.value) is error_class
    assert caught.value.error == wire_code
    assert caught.value.description == description
    assert caught.value.redirectable is True


def test_prompt_values_are_the_oidc_core_ones() -> None:
    assert frozenset({"none", "login", "consent", "select_account"}) == PROMPT_VALUES


def test_response_mode_fragment_with_code_puts_the_response_in_the_fragment(
    make_client: Callable[..., ClientInfo],
) -> None:
    request = validate_authorization_request(_params(response_mode="fragment"), make_client(), REDIRECT_URI)

    assert request.target.use_fragment is True


def test_max_age_with_a_non_ascii_digit_is_invalid_request(make_client: Callable[..., ClientInfo]) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_authorization_request(_params(max_age="²"), make_client(), REDIRECT_URI)

    assert caught.value.description == MAX_AGE


# The response redirect ----------------------------------------------------------------------------------------------

REDIRECTS: dict[str, tuple[str, dict[str, str | None], bool, str]] = {
    "code in the query": (
        "https://app.example.com/cb",
        {"code": "SplxlOBeZQQYbYS6WxSbIA", "state": "xyz"},
        False,
        "https://app.example.com/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz",
    ),
    "registered query is kept before the response": (
        "https://app.example.com/cb?tenant=7",
        {"code": "abc", "state": "xyz"},
        False,
        "https://app.example.com/cb?tenant=7&code=abc&state=xyz",
    ),
    "absent values are left out": (
        "https://app.example.com/cb",
        {"code": "abc", "state": None},
        False,
        "https://app.example.com/cb?code=abc",
    ),
    "values are form-encoded": (
        "https://app.example.com/cb",
        {"error": "access_denied", "error_description": "The user said no & left", "state": "a/b=c"},
        False,
        "https://app.example.com/cb?error=access_denied&error_description=The+user+said+no+%26+left&state=a%2Fb%3Dc",
    ),
    "loopback port kept": (
        "http://127.0.0.1:49152/cb",
        {"code": "abc"},
        False,
        "http://127.0.0.1:49152/cb?code=abc",
    ),
    "private-use scheme": ("com.example.app:/cb", {"code": "abc"}, False, "com.example.app:/cb?code=abc"),
    "implicit token in the fragment": (
        "https://app.example.com/cb",
        {"access_token": "2YotnFZFEjr1zCsicMWpAA", "token_type": "Bearer", "expires_in": "3600", "state": "xyz"},
        True,
        "https://app.example.com/cb#access_token=2YotnFZFEjr1zCsicMWpAA&token_type=Bearer&expires_in=3600&state=xyz",
    ),
    "fragment response keeps the registered query": (
        "https://app.example.com/cb?tenant=7",
        {"access_token": "at", "state": "xyz"},
        True,
        "https://app.example.com/cb?tenant=7#access_token=at&state=xyz",
    ),
}


@pytest.mark.parametrize(
    ("redirect_uri", "response", "use_fragment", "expected"), list(REDIRECTS.values()), ids=list(REDIRECTS)
)
def test_build_authorization_redirect_adds_the_response_to_the_registered_uri(
    redirect_uri: str, response: dict[str, str | None], use_fragment: bool, expected: str
) -> None:
    assert build_authorization_redirect(redirect_uri, response, use_fragment=use_fragment) == expected


def test_error_redirect_carries_the_issuer(make_client: Callable[..., ClientInfo]) -> None:
    error = InvalidScope("Scope 'admin' is not registered for this client")
    response = with_issuer({**error.to_dict(), "state": "xyz"}, "https://id.example.com")

    location = build_authorization_redirect("https://app.example.com/cb", response, use_fragment=False)

    assert location == (
        "https://app.example.com/cb?error=invalid_scope"
        "&error_description=Scope+%27admin%27+is+not+registered+for+this+client"
        "&state=xyz&iss=https%3A%2F%2Fid.example.com"
    )


REDIRECTED_TO_A_TRUSTED_CLIENT = [
    InvalidRequest,
    UnauthorizedClient,
    AccessDenied,
    UnsupportedResponseType,
    InvalidScope,
    ServerError,
    InteractionRequired,
    LoginRequired,
    ConsentRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    InvalidTarget,
]


@pytest.mark.parametrize("error_class", REDIRECTED_TO_A_TRUSTED_CLIENT, ids=lambda cls: cls.error)
def test_client_visible_errors_are_redirected_to_a_trusted_client_only(
    make_client: Callable[..., ClientInfo], error_class: type[OAuthError]
) -> None:
    error = error_class("Something the client can act on")

    assert is_redirectable(error, make_client())
    assert is_redirectable(error, make_client(is_dynamically_registered=True, has_completed_authorization=True))
    # RFC 9700 §4.11.2: a self-registered client no one has used yet could be an open redirector.
    assert not is_redirectable(error, make_client(is_dynamically_registered=True))


@pytest.mark.parametrize(
    "error",
    [InvalidClient("unknown"), InvalidRedirectUri("mismatch"), InvalidGrant("a token endpoint code")],
    ids=["invalid_client", "invalid_redirect_uri", "not-on-the-list"],
)
def test_errors_about_the_client_or_its_uri_and_unknown_errors_are_never_redirected(
    make_client: Callable[..., ClientInfo], error: OAuthError
) -> None:
    assert not is_redirectable(error, make_client())


def test_redirectable_errors_are_exactly_the_documented_list() -> None:
    assert (
        frozenset(
            {
                "invalid_request",
                "unauthorized_client",
                "access_denied",
                "unsupported_response_type",
                "invalid_scope",
                "server_error",
                "temporarily_unavailable",
                "interaction_required",
                "login_required",
                "consent_required",
                "request_not_supported",
                "request_uri_not_supported",
                "invalid_target",
            }
        )
        == REDIRECTABLE_ERRORS
    )


@pytest.mark.parametrize(
    ("changes", "error_class", "description"),
    [
        (
            {"request": "eyJhbGciOiJub25lIn0.e30."},
            RequestNotSupported,
            "A request object cannot be sent inside another one",
        ),
        (
            {"request_uri": "https://app.example.com/r.jwt"},
            RequestUriNotSupported,
            "Only a request_uri from this server's pushed authorization request endpoint is accepted: send the "
            "request object by value (request), or push it",
        ),
        (
            {"request": "x", "response_type": None},
            RequestNotSupported,
            "A request object cannot be sent inside another one",
        ),
    ],
    ids=["request", "request_uri", "request-before-other-checks"],
)
def test_phase2_refuses_request_objects_it_did_not_read_rather_than_ignoring_them(
    make_client: Callable[..., ClientInfo],
    changes: dict[str, str | None],
    error_class: type[OAuthError],
    description: str,
) -> None:
    with pytest.raises(error_class) as caught:
        validate_authorization_request(_params(**changes), make_client(), REDIRECT_URI)

    assert caught.value.description == description


def test_phase1_refuses_a_stored_redirect_uri_that_goes_elsewhere(make_client: Callable[..., ClientInfo]) -> None:
    legacy = "https://app.example.com:443@evil.com/cb"

    with pytest.raises(InvalidRedirectUri) as caught:
        check_client_and_redirect(_params(redirect_uri=legacy), make_client(redirect_uris=(legacy,)))

    assert caught.value.redirectable is False
    assert caught.value.description == (
        "The redirect URI registered for this app is not safe to use; the administrator must change it"
    )
    assert caught.value.detail is not None and "a browser would go to 'evil.com'" in caught.value.detail
