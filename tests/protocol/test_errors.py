"""OAuthError: wire codes, statuses, redirectability and the RFC 6749 §5.2 description charset."""

from __future__ import annotations

import inspect
import re

import pytest

from gatepass.protocol import errors
from gatepass.protocol.errors import (
    AccessDenied,
    ConsentRequired,
    InsufficientScope,
    InteractionRequired,
    InvalidClient,
    InvalidClientMetadata,
    InvalidGrant,
    InvalidRedirectUri,
    InvalidRequest,
    InvalidRequestUri,
    InvalidScope,
    InvalidTarget,
    InvalidToken,
    LoginRequired,
    OAuthError,
    ServerError,
    SlowDown,
    TemporarilyUnavailable,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    UnsupportedTokenType,
)

# RFC 6749 §5.2: error_description = *( %x20-21 / %x23-5B / %x5D-7E )
RFC6749_DESCRIPTION = re.compile(r"^[\x20-\x21\x23-\x5b\x5d-\x7e]*$")

SIMPLE_ERRORS: dict[str, tuple[type[OAuthError], str, int, bool]] = {
    "invalid_request": (InvalidRequest, "invalid_request", 400, True),
    "invalid_client is 401 and never redirected": (InvalidClient, "invalid_client", 401, False),
    "invalid_grant": (InvalidGrant, "invalid_grant", 400, True),
    "unauthorized_client": (UnauthorizedClient, "unauthorized_client", 400, True),
    "unsupported_grant_type": (UnsupportedGrantType, "unsupported_grant_type", 400, True),
    "unsupported_response_type": (UnsupportedResponseType, "unsupported_response_type", 400, True),
    "unsupported_token_type": (UnsupportedTokenType, "unsupported_token_type", 400, True),
    "invalid_scope": (InvalidScope, "invalid_scope", 400, True),
    "access_denied": (AccessDenied, "access_denied", 403, True),
    "server_error is 500": (ServerError, "server_error", 500, True),
    "temporarily_unavailable is 503": (TemporarilyUnavailable, "temporarily_unavailable", 503, True),
    "invalid_redirect_uri is never redirected": (InvalidRedirectUri, "invalid_redirect_uri", 400, False),
    "invalid_token is 401": (InvalidToken, "invalid_token", 401, True),
    "interaction_required": (InteractionRequired, "interaction_required", 400, True),
    "login_required": (LoginRequired, "login_required", 400, True),
    "consent_required": (ConsentRequired, "consent_required", 400, True),
    "invalid_target": (InvalidTarget, "invalid_target", 400, True),
    "invalid_request_uri is never redirected": (InvalidRequestUri, "invalid_request_uri", 400, False),
    "invalid_client_metadata": (InvalidClientMetadata, "invalid_client_metadata", 400, True),
}


@pytest.mark.parametrize(
    ("error_class", "wire_code", "status_code", "is_redirectable"),
    list(SIMPLE_ERRORS.values()),
    ids=list(SIMPLE_ERRORS),
)
def test_error_class_carries_its_wire_code_status_and_redirectability(
    error_class: type[OAuthError], wire_code: str, status_code: int, is_redirectable: bool
) -> None:
    error = error_class("Something is wrong")

    assert isinstance(error, OAuthError)
    assert error.error == wire_code
    assert error.status_code == status_code
    assert error.redirectable is is_redirectable
    assert error.to_dict() == {"error": wire_code, "error_description": "Something is wrong"}


def _declared_error_classes() -> list[type[OAuthError]]:
    return [
        value
        for _, value in inspect.getmembers(errors, inspect.isclass)
        if issubclass(value, OAuthError) and value is not OAuthError and value.__module__ == errors.__name__
    ]


@pytest.mark.parametrize("error_class", _declared_error_classes(), ids=lambda cls: cls.__name__)
def test_error_class_is_named_after_its_wire_code_in_camel_case(error_class: type[OAuthError]) -> None:
    assert error_class.__name__ == "".join(part.capitalize() for part in error_class.error.split("_"))


def test_base_error_defaults_to_server_error_400_and_redirectable() -> None:
    error = OAuthError("Unexpected")

    assert (error.error, error.status_code, error.redirectable) == ("server_error", 400, True)


SANITISED: dict[str, tuple[str, str]] = {
    "allowed printable ASCII is kept": (
        "Scope 'read' is not allowed [see docs] ~ ok!",
        "Scope 'read' is not allowed [see docs] ~ ok!",
    ),
    "double quote becomes apostrophe": ('Bad value "x"', "Bad value 'x'"),
    "backslash becomes apostrophe": ("C:\\path", "C:'path"),
    "newline cannot split the header": ("line one\nline two", "line one'line two"),
    "carriage return and tab": ("a\r\tb", "a''b"),
    "DEL control character": ("a\x7fb", "a'b"),
    "non-ASCII letter": ("Café client", "Caf' client"),
    "section sign": ("RFC 6749 §5.2", "RFC 6749 '5.2"),
    "empty stays empty": ("", ""),
}


@pytest.mark.parametrize(("raw", "expected"), list(SANITISED.values()), ids=list(SANITISED))
def test_description_is_limited_to_the_rfc6749_error_description_charset(raw: str, expected: str) -> None:
    error = InvalidRequest(raw)

    assert error.description == expected
    assert RFC6749_DESCRIPTION.match(error.description)
    assert error.to_dict()["error_description"] == expected


def test_detail_is_kept_verbatim_for_logs_and_never_put_in_the_response_body() -> None:
    error = InvalidClient("Client authentication failed", detail='client_id="évil"\nsecond line')

    assert error.detail == 'client_id="évil"\nsecond line'
    assert error.to_dict() == {"error": "invalid_client", "error_description": "Client authentication failed"}


def test_detail_defaults_to_none() -> None:
    assert InvalidGrant("The code expired").detail is None


def test_insufficient_scope_carries_the_scope_needed() -> None:
    error = InsufficientScope("The token lacks the write scope", scope="documents:write")

    assert (error.error, error.status_code, error.redirectable) == ("insufficient_scope", 403, True)
    assert error.scope == "documents:write"
    assert error.description == "The token lacks the write scope"


def test_slow_down_is_429_and_carries_retry_after_seconds() -> None:
    error = SlowDown("Too many requests", retry_after_seconds=30, detail="bucket=token")

    assert (error.error, error.status_code) == ("slow_down", 429)
    assert error.retry_after_seconds == 30
    assert error.detail == "bucket=token"


def test_oauth_error_is_an_exception_that_can_be_raised_and_caught_by_base_class() -> None:
    with pytest.raises(OAuthError) as caught:
        raise InvalidScope("Scope 'admin' is not registered")

    assert type(caught.value) is InvalidScope
    assert caught.value.error == "invalid_scope"
