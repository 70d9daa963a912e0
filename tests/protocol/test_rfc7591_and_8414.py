"""Dynamic client registration's metadata rules (RFC 7591 §2) and the server metadata document (RFC 8414 §2)."""

from __future__ import annotations

from typing import Any

import pytest

from gatepass.protocol.errors import InvalidClientMetadata, InvalidRedirectUri
from gatepass.protocol.rfc7591_registration import parse_registration
from gatepass.protocol.rfc8414_metadata import build_authorization_server_metadata

ALLOWED = ("openid", "profile", "email")
JWKS = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}
GOOD: dict[str, Any] = {"client_name": "  Notes  ", "redirect_uris": ["https://notes.example/cb"]}


def test_the_smallest_request_gets_the_defaults() -> None:
    granted = parse_registration(dict(GOOD), allowed_scopes=ALLOWED)
    assert granted.client_name == "Notes"
    assert granted.redirect_uris == ("https://notes.example/cb",)
    assert (granted.grant_types, granted.response_types) == (("authorization_code",), ("code",))
    assert granted.token_endpoint_auth_method == "client_secret_basic" and not granted.is_public
    assert granted.scopes == ALLOWED
    assert (granted.client_uri, granted.logo_uri, granted.contacts) == (None, None, ())
    assert granted.require_pushed_authorization_requests is False


def test_what_is_asked_within_bounds_is_granted_and_unknown_scopes_are_dropped() -> None:
    granted = parse_registration(
        {
            **GOOD,
            "redirect_uris": ["https://notes.example/cb", "https://notes.example/cb", "http://127.0.0.1:8765/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
            "scope": "openid email admin",
            "client_uri": "https://notes.example",
            "logo_uri": "https://notes.example/logo.png",
            "contacts": ["ops@notes.example"],
        },
        allowed_scopes=ALLOWED,
    )
    assert granted.redirect_uris == ("https://notes.example/cb", "http://127.0.0.1:8765/cb")
    assert granted.grant_types == ("authorization_code", "refresh_token")
    assert granted.is_public and granted.scopes == ("openid", "email")
    assert (granted.client_uri, granted.contacts) == ("https://notes.example", ("ops@notes.example",))


def test_a_client_may_register_for_jwt_authentication_with_its_keys() -> None:
    granted = parse_registration(
        {
            **GOOD,
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": JWKS,
            "token_endpoint_auth_signing_alg": "EdDSA",
        },
        allowed_scopes=ALLOWED,
    )
    assert (granted.token_endpoint_auth_method, granted.jwks, granted.jwks_uri) == ("private_key_jwt", JWKS, None)
    assert granted.token_endpoint_auth_signing_alg == "EdDSA"
    by_uri = parse_registration(
        {**GOOD, "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://notes.example/jwks"},
        allowed_scopes=ALLOWED,
    )
    assert (by_uri.jwks, by_uri.jwks_uri) == (None, "https://notes.example/jwks")
    assert parse_registration({**GOOD, "token_endpoint_auth_method": "client_secret_jwt"}, allowed_scopes=ALLOWED)


def test_a_client_may_ask_to_be_held_to_pushed_authorization_requests() -> None:
    granted = parse_registration({**GOOD, "require_pushed_authorization_requests": True}, allowed_scopes=ALLOWED)
    assert granted.require_pushed_authorization_requests is True


@pytest.mark.parametrize(
    ("body", "error", "says"),
    [
        ([], InvalidClientMetadata, "JSON object"),
        ({"client_name": "X"}, InvalidRedirectUri, "redirect_uris is required"),
        ({**GOOD, "redirect_uris": "https://notes.example/cb"}, InvalidClientMetadata, "list of strings"),
        ({**GOOD, "redirect_uris": ["https://notes.example/cb#frag"]}, InvalidRedirectUri, "has a fragment"),
        ({**GOOD, "grant_types": ["client_credentials"]}, InvalidClientMetadata, "cannot be registered"),
        ({**GOOD, "grant_types": ["refresh_token"]}, InvalidClientMetadata, "must include authorization_code"),
        ({**GOOD, "response_types": ["token"]}, InvalidClientMetadata, "only the authorization code flow"),
        ({**GOOD, "token_endpoint_auth_method": "tls_client_auth"}, InvalidClientMetadata, "must be one of"),
        ({**GOOD, "token_endpoint_auth_method": "private_key_jwt"}, InvalidClientMetadata, "jwks or jwks_uri"),
        ({**GOOD, "jwks": JWKS, "jwks_uri": "https://notes.example/jwks"}, InvalidClientMetadata, "not both"),
        ({**GOOD, "jwks": {"kty": "RSA"}}, InvalidClientMetadata, "must be a JWK Set"),
        ({**GOOD, "jwks_uri": "http://127.0.0.1/jwks"}, InvalidClientMetadata, "https URL"),
        (
            {
                **GOOD,
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": JWKS,
                "token_endpoint_auth_signing_alg": "none",
            },
            InvalidClientMetadata,
            "must be one of RS256, PS256, ES256, EdDSA",
        ),
        ({**GOOD, "token_endpoint_auth_signing_alg": "RS256"}, InvalidClientMetadata, "applies only to"),
        ({**GOOD, "client_name": " "}, InvalidClientMetadata, "client_name is required"),
        ({**GOOD, "client_name": "x" * 141}, InvalidClientMetadata, "1 to 140 characters"),
        ({**GOOD, "scope": ["openid"]}, InvalidClientMetadata, "space-separated string"),
        ({**GOOD, "scope": "admin"}, InvalidClientMetadata, "None of the requested scopes"),
        ({**GOOD, "client_uri": "http://notes.example"}, InvalidClientMetadata, "https URL"),
        ({**GOOD, "logo_uri": 'https://notes.example/"onerror'}, InvalidClientMetadata, "percent-encode"),
        ({**GOOD, "contacts": [f"a{n}@x.example" for n in range(21)]}, InvalidClientMetadata, "list at most 20"),
        ({**GOOD, "contacts": ["a" * 255]}, InvalidClientMetadata, "at most 254 characters"),
        (
            {**GOOD, "require_pushed_authorization_requests": "true"},
            InvalidClientMetadata,
            "require_pushed_authorization_requests must be true or false",
        ),
    ],
)
def test_metadata_that_cannot_be_registered_is_refused_with_what_to_fix(
    body: object, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        parse_registration(body, allowed_scopes=ALLOWED)


def test_the_metadata_document_names_the_issuer_its_endpoints_and_what_it_supports() -> None:
    issuer = "https://id.example"
    metadata = build_authorization_server_metadata(issuer, scopes=("openid", "all"), id_token_algorithms=("RS256",))
    assert metadata["issuer"] == issuer
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri", "revocation_endpoint"):
        assert metadata[endpoint].startswith(issuer + "/"), endpoint
    assert metadata["scopes_supported"] == ["openid", "all"]
    assert metadata["code_challenge_methods_supported"] == ["S256"], "plain is never advertised"
    assert metadata["response_types_supported"] == ["code", "token", "id_token", "id_token token"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "none" in metadata["token_endpoint_auth_methods_supported"]
    for endpoint in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        assert {"private_key_jwt", "client_secret_jwt"} <= set(metadata[f"{endpoint}_auth_methods_supported"])
        assert "none" not in metadata[f"{endpoint}_auth_signing_alg_values_supported"], "never unsigned"
    assert metadata["pushed_authorization_request_endpoint"] == "https://id.example/oauth/par"
    assert metadata["require_pushed_authorization_requests"] is False
    assert metadata["device_authorization_endpoint"] == "https://id.example/oauth/device_authorization"
    assert "urn:ietf:params:oauth:grant-type:device_code" in metadata["grant_types_supported"]
    par_everywhere = build_authorization_server_metadata(
        issuer, scopes=("openid",), id_token_algorithms=("RS256",), is_par_required=True
    )
    assert par_everywhere["require_pushed_authorization_requests"] is True
    without_implicit = build_authorization_server_metadata(
        issuer, scopes=("openid",), id_token_algorithms=("ES256",), has_implicit=False
    )
    assert without_implicit["response_types_supported"] == ["code"]


def test_registration_endpoint_is_left_out_when_registration_is_off_never_null() -> None:
    issuer = "https://id.example"
    off = build_authorization_server_metadata(issuer, scopes=("openid",), id_token_algorithms=("RS256",))
    assert "registration_endpoint" not in off
    assert [name for name, value in off.items() if value is None] == []
    on = build_authorization_server_metadata(
        issuer, scopes=("openid",), id_token_algorithms=("RS256",), registration_endpoint=f"{issuer}/oauth/register"
    )
    assert on["registration_endpoint"] == "https://id.example/oauth/register"
    assert {name: value for name, value in on.items() if name != "registration_endpoint"} == off
