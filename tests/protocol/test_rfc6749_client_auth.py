"""Client authentication (RFC 6749 §2.3): parsing Basic / post / none, then checking against the registration."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from gatepass.protocol.errors import InvalidClient, InvalidRequest, OAuthError
from gatepass.protocol.rfc6749.client_auth import (
    ClientCredentials,
    check_client_authentication,
    parse_client_credentials,
)
from gatepass.protocol.tokens import token_digest
from gatepass.protocol.values import AUTH_BASIC, AUTH_NONE, AUTH_POST, ClientInfo
from support.backchannel import BASIC_CLIENT_USED_POST, POST_CLIENT_USED_BASIC


def basic(raw: str | bytes) -> str:
    """An Authorization header whose base64 payload is exactly ``raw`` (already form-encoded by the caller)."""
    payload = raw.encode("utf-8") if isinstance(raw, str) else raw
    return "Basic " + base64.b64encode(payload).decode("ascii")


PARSED: dict[str, tuple[str | None, dict[str, str], ClientCredentials]] = {
    "Basic": (basic("app-1:s3cret"), {}, ClientCredentials("app-1", "s3cret", AUTH_BASIC)),
    "Basic with form-urlencoded id and secret": (
        basic("my%3Aclient:p%40ss+w%2Brd%25"),
        {},
        ClientCredentials("my:client", "p@ss w+rd%", AUTH_BASIC),
    ),
    "Basic splits on the first colon only": (basic("app-1:a:b:c"), {}, ClientCredentials("app-1", "a:b:c", AUTH_BASIC)),
    "Basic with non-ASCII secret": (basic("app-1:pässwörd"), {}, ClientCredentials("app-1", "pässwörd", AUTH_BASIC)),
    "Basic with an empty secret": (basic("app-1:"), {}, ClientCredentials("app-1", "", AUTH_BASIC)),
    "Basic scheme is case-insensitive": (
        "bAsIc " + base64.b64encode(b"app-1:s3cret").decode(),
        {},
        ClientCredentials("app-1", "s3cret", AUTH_BASIC),
    ),
    "Basic with the same client_id in the body": (
        basic("app-1:s3cret"),
        {"client_id": "app-1"},
        ClientCredentials("app-1", "s3cret", AUTH_BASIC),
    ),
    "client_secret_post": (
        None,
        {"client_id": "app-1", "client_secret": "s3cret"},
        ClientCredentials("app-1", "s3cret", AUTH_POST),
    ),
    "none: client_id only": (None, {"client_id": "app-1"}, ClientCredentials("app-1", None, AUTH_NONE)),
    "a Bearer header is not client authentication": (
        "Bearer abc",
        {"client_id": "app-1", "client_secret": "s3cret"},
        ClientCredentials("app-1", "s3cret", AUTH_POST),
    ),
    "empty header": ("", {"client_id": "app-1"}, ClientCredentials("app-1", None, AUTH_NONE)),
}


@pytest.mark.parametrize(("authorization", "form", "expected"), list(PARSED.values()), ids=list(PARSED))
def test_parse_client_credentials_names_the_method_used(
    authorization: str | None, form: dict[str, str], expected: ClientCredentials
) -> None:
    assert parse_client_credentials(authorization, form) == expected


NO_CREDENTIALS = "Client authentication is required: send client_id (and client_secret) by HTTP Basic or in the body"

UNPARSABLE: dict[str, tuple[str | None, dict[str, str], type[OAuthError], str]] = {
    "Basic and client_secret in the body": (
        basic("app-1:s3cret"),
        {"client_secret": "s3cret"},
        InvalidRequest,
        "Send the client secret in the Authorization header or the body, not both",
    ),
    "Basic and another client_id in the body": (
        basic("app-1:s3cret"),
        {"client_id": "app-2"},
        InvalidRequest,
        "client_id in the body differs from the one in the Authorization header",
    ),
    "body client_id compared after url-decoding Basic": (
        basic("my%3Aclient:s3cret"),
        {"client_id": "my%3Aclient"},
        InvalidRequest,
        "client_id in the body differs from the one in the Authorization header",
    ),
    "Basic that is not base64": (
        "Basic not*base64!",
        {},
        InvalidClient,
        "The Basic Authorization header is not valid base64 of client_id:client_secret",
    ),
    "Basic with missing padding": (
        "Basic " + base64.b64encode(b"app-1:s3cret!").decode().rstrip("="),
        {},
        InvalidClient,
        "The Basic Authorization header is not valid base64 of client_id:client_secret",
    ),
    "Basic that is not UTF-8": (
        basic(b"app-1:\xff\xfe"),
        {},
        InvalidClient,
        "The Basic Authorization header is not valid base64 of client_id:client_secret",
    ),
    "Basic without a colon": (
        basic("app-1"),
        {},
        InvalidClient,
        "The Basic Authorization header must hold client_id:client_secret",
    ),
    "Basic with an empty client_id": (
        basic(":s3cret"),
        {},
        InvalidClient,
        "The Basic Authorization header has an empty client_id",
    ),
    "Basic with nothing after the scheme": (
        "Basic ",
        {},
        InvalidClient,
        "The Basic Authorization header must hold client_id:client_secret",
    ),
    "nothing at all": (None, {}, InvalidClient, NO_CREDENTIALS),
    "client_secret in the body without client_id": (None, {"client_secret": "s3cret"}, InvalidClient, NO_CREDENTIALS),
}


@pytest.mark.parametrize(
    ("authorization", "form", "error_class", "description"), list(UNPARSABLE.values()), ids=list(UNPARSABLE)
)
def test_parse_client_credentials_rejects_unusable_credentials(
    authorization: str | None, form: dict[str, str], error_class: type[OAuthError], description: str
) -> None:
    with pytest.raises(error_class) as caught:
        parse_client_credentials(authorization, form)

    assert type(caught.value) is error_class
    assert caught.value.description == description


def test_using_two_authentication_methods_is_invalid_request_not_invalid_client() -> None:
    with pytest.raises(OAuthError) as caught:
        parse_client_credentials(basic("app-1:s3cret"), {"client_id": "app-1", "client_secret": "s3cret"})

    assert caught.value.error == "invalid_request"
    assert caught.value.status_code == 400


PUBLIC: dict[str, Any] = {"client_type": "public", "token_endpoint_auth_method": AUTH_NONE, "secret_digest": None}

AUTHENTICATED: dict[str, tuple[dict[str, Any], str, str | None]] = {
    "Basic with the right secret": ({}, AUTH_BASIC, "correct-client-secret"),
    "post with the right secret": ({"token_endpoint_auth_method": AUTH_POST}, AUTH_POST, "correct-client-secret"),
    "public client with client_id only": (PUBLIC, AUTH_NONE, None),
    "public client with an empty Basic secret": (PUBLIC, AUTH_BASIC, ""),
    "Frappe-legacy Basic client using post": ({"is_frappe_legacy": True}, AUTH_POST, "correct-client-secret"),
    "Frappe-legacy post client using Basic": (
        {"is_frappe_legacy": True, "token_endpoint_auth_method": AUTH_POST},
        AUTH_BASIC,
        "correct-client-secret",
    ),
}


@pytest.mark.parametrize(
    ("client_overrides", "method", "secret"), list(AUTHENTICATED.values()), ids=list(AUTHENTICATED)
)
def test_check_client_authentication_returns_the_authenticated_client(
    make_client: Callable[..., ClientInfo],
    digest_key: bytes,
    client_overrides: dict[str, Any],
    method: str,
    secret: str | None,
) -> None:
    client = make_client(**client_overrides)

    assert check_client_authentication(ClientCredentials("app-1", secret, method), client, digest_key) is client


WRONG_SECRET = "Client authentication failed: unknown client or wrong client_secret"

REJECTED: dict[str, tuple[dict[str, Any] | None, str, str | None, str]] = {
    "unknown client": (
        None,
        AUTH_BASIC,
        "correct-client-secret",
        "Client authentication failed: unknown client or wrong client_secret",
    ),
    "disabled client": (
        {"is_enabled": False},
        AUTH_BASIC,
        "correct-client-secret",
        "Client authentication failed: the client is disabled",
    ),
    "wrong secret": ({}, AUTH_BASIC, "wrong-client-secret", WRONG_SECRET),
    "empty secret": ({}, AUTH_BASIC, "", WRONG_SECRET),
    "secret differing only in case": ({}, AUTH_BASIC, "CORRECT-CLIENT-SECRET", WRONG_SECRET),
    "client without a stored secret": ({"secret_digest": None}, AUTH_BASIC, "correct-client-secret", WRONG_SECRET),
    "stored digest compared, not the plaintext": (
        {"secret_digest": "correct-client-secret"},
        AUTH_BASIC,
        "correct-client-secret",
        WRONG_SECRET,
    ),
    "confidential client without a secret": (
        {},
        AUTH_NONE,
        None,
        "This client must authenticate with client_secret_basic: the client_secret is missing",
    ),
    "Basic client using post": (
        {},
        AUTH_POST,
        "correct-client-secret",
        BASIC_CLIENT_USED_POST,
    ),
    "post client using Basic": (
        {"token_endpoint_auth_method": AUTH_POST},
        AUTH_BASIC,
        "correct-client-secret",
        POST_CLIENT_USED_BASIC,
    ),
    "public client sending a secret in the body": (
        PUBLIC,
        AUTH_POST,
        "anything",
        "This is a public client: send client_id only, without a client_secret",
    ),
    "public client sending a secret by Basic": (
        PUBLIC,
        AUTH_BASIC,
        "anything",
        "This is a public client: send client_id only, without a client_secret",
    ),
    "Frappe-legacy client with the wrong secret": (
        {"is_frappe_legacy": True},
        AUTH_POST,
        "wrong-client-secret",
        WRONG_SECRET,
    ),
    "Frappe-legacy client without a secret": (
        {"is_frappe_legacy": True},
        AUTH_NONE,
        None,
        "This client must authenticate with client_secret_basic: the client_secret is missing",
    ),
}


@pytest.mark.parametrize(
    ("client_overrides", "method", "secret", "description"), list(REJECTED.values()), ids=list(REJECTED)
)
def test_check_client_authentication_rejects_as_invalid_client(
    make_client: Callable[..., ClientInfo],
    digest_key: bytes,
    client_overrides: dict[str, Any] | None,
    method: str,
    secret: str | None,
    description: str,
) -> None:
    client = None if client_overrides is None else make_client(**client_overrides)

    with pytest.raises(InvalidClient) as caught:
        check_client_authentication(ClientCredentials("app-1", secret, method), client, digest_key)

    assert caught.value.error == "invalid_client"
    assert caught.value.status_code == 401
    assert caught.value.redirectable is False
    assert caught.value.description == description


def test_unknown_client_id_goes_to_the_log_detail_not_the_description(digest_key: bytes) -> None:
    with pytest.raises(InvalidClient) as caught:
        check_client_authentication(ClientCredentials("ghost-client", "x", AUTH_BASIC), None, digest_key)

    assert caught.value.detail == "unknown client_id=ghost-client"
    assert "ghost-client" not in caught.value.description


def test_secret_is_checked_under_the_digest_key(make_client: Callable[..., ClientInfo]) -> None:
    client = make_client(secret_digest=token_digest(b"another-key", "correct-client-secret"))

    with pytest.raises(InvalidClient) as caught:
        check_client_authentication(
            ClientCredentials("app-1", "correct-client-secret", AUTH_BASIC), client, b"protocol-tests-digest-key-32byte"
        )

    assert caught.value.description == WRONG_SECRET


def test_basic_header_with_url_encoded_credentials_authenticates(
    make_client: Callable[..., ClientInfo], digest_key: bytes
) -> None:
    secret = "p@ss w+rd:%"
    client = make_client(client_id="my:client", secret_digest=token_digest(digest_key, secret))
    header = basic("my%3Aclient:p%40ss+w%2Brd%3A%25")

    credentials = parse_client_credentials(header, {})

    assert credentials == ClientCredentials("my:client", secret, AUTH_BASIC)
    assert check_client_authentication(credentials, client, digest_key) is client
