"""Pushed authorization requests (RFC 9126): the push's parameters, the request_uri's form, who must
push, and when a stored push may be used."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from gatepass.protocol.errors import InvalidRequest, InvalidRequestUri, OAuthError
from gatepass.protocol.rfc9126_par import (
    REQUEST_URI_PREFIX,
    build_pushed_params,
    build_request_uri,
    check_request_uri_usable,
    is_par_required,
    parse_request_uri,
)
from gatepass.protocol.values import ClientInfo

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_a_request_uri_is_the_rfc_urn_around_the_reference_and_parses_back() -> None:
    request_uri = build_request_uri("abc-123_XYZ")
    assert request_uri == "urn:ietf:params:oauth:request_uri:abc-123_XYZ"
    assert parse_request_uri(request_uri) == "abc-123_XYZ"


@pytest.mark.parametrize(
    "value",
    ["https://app.example/request.jwt", REQUEST_URI_PREFIX, "urn:ietf:params:oauth:request_uri", "abc"],
    ids=["a URL", "no reference", "no colon", "a bare reference"],
)
def test_a_request_uri_not_of_this_form_is_invalid_request_uri(value: str) -> None:
    with pytest.raises(InvalidRequestUri, match="request_uri must be a value this server returned"):
        parse_request_uri(value)


def test_the_pushed_request_keeps_its_parameters_without_the_clients_credentials() -> None:
    form = {
        "client_id": "app-1",
        "client_secret": "s3cret",
        "client_assertion": "eyJ...",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "response_type": "code",
        "state": "xyz",
    }
    assert build_pushed_params(form, "app-1") == {"client_id": "app-1", "response_type": "code", "state": "xyz"}


def test_the_pushed_request_names_its_client_when_it_authenticated_by_basic() -> None:
    assert build_pushed_params({"response_type": "code"}, "app-1") == {"response_type": "code", "client_id": "app-1"}


def test_a_push_must_not_carry_a_request_uri() -> None:
    with pytest.raises(InvalidRequest) as raised:
        build_pushed_params({"request_uri": build_request_uri("x"), "response_type": "code"}, "app-1")
    assert raised.value.description == "request_uri cannot be pushed; push the authorization request's own parameters"


@pytest.mark.parametrize(
    ("for_every_client", "for_this_client", "is_required"),
    [(False, False, False), (True, False, True), (False, True, True), (True, True, True)],
    ids=["neither", "the server", "the client", "both"],
)
def test_par_is_required_by_the_server_or_by_the_clients_registration(
    make_client: Callable[..., ClientInfo], for_every_client: bool, for_this_client: bool, is_required: bool
) -> None:
    client = make_client(require_pushed_authorization_requests=for_this_client)
    assert is_par_required(client, is_required_for_every_client=for_every_client) is is_required


def _check(**overrides: object) -> None:
    arguments: dict[str, object] = {
        "pushed_by": "app-1",
        "presented_by": "app-1",
        "expires_at": NOW + timedelta(seconds=60),
        "consumed_at": None,
        "now": NOW,
    }
    check_request_uri_usable(**{**arguments, **overrides})  # type: ignore[arg-type]


def test_an_unused_unexpired_push_may_be_used_by_the_client_that_pushed_it() -> None:
    _check()
    _check(now=NOW + timedelta(seconds=59))


@pytest.mark.parametrize(
    ("overrides", "error", "description"),
    [
        (
            {"presented_by": None},
            InvalidRequest,
            "Missing required parameter 'client_id': send it with request_uri",
        ),
        ({"presented_by": "app-2"}, InvalidRequestUri, "This request_uri was pushed by another client"),
        (
            {"consumed_at": NOW},
            InvalidRequestUri,
            "This request_uri was used already; each is good for one authorization request, so push the request again",
        ),
        (
            {"now": NOW + timedelta(seconds=60)},
            InvalidRequestUri,
            "This request_uri expired; push the authorization request again and use it at once",
        ),
    ],
    ids=["no client_id", "another client", "used", "expired at its expiry"],
)
def test_a_push_that_may_not_be_used_says_why(
    overrides: dict[str, object], error: type[OAuthError], description: str
) -> None:
    with pytest.raises(error) as raised:
        _check(**overrides)
    assert raised.value.description == description


def test_invalid_request_uri_is_never_redirected() -> None:
    # RFC 9126 §4: the redirect URI is among the parameters the request_uri stood for.
    assert InvalidRequestUri("x").redirectable is False
    assert InvalidRequestUri("x").error == "invalid_request_uri"
