"""The FAPI 2.0 Security Profile as one client setting (``security_profile = "fapi2"``).

https://openid.net/specs/fapi-2_0-security-profile.html (Final)

What a registration must be to hold the profile is refused up front (``registration_conflict``); what a
request must be is checked where the request is judged, by the functions below, each citing its clause.
"""

from __future__ import annotations

from gatepass.protocol.errors import InvalidRequest, UnsupportedResponseType
from gatepass.protocol.values import (
    AUTH_PRIVATE_KEY_JWT,
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_REFRESH_TOKEN,
    AuthorizationRequest,
    ClientInfo,
)

SPECIFICATION = "https://openid.net/specs/fapi-2_0-security-profile.html"
FAPI2 = "fapi2"
SECURITY_PROFILES = (FAPI2,)
#: §5.4: PS256, ES256 or EdDSA (Ed25519) for every JWT; never RS256, never an HMAC, never none.
ALGORITHMS = ("PS256", "ES256", "EdDSA")
#: §5.3.2.1: authorization codes live at most 60 seconds.
CODE_LIFETIME_SECONDS = 60
#: §5.3.2.2: a pushed request's request_uri expires in under 600 seconds.
MAX_REQUEST_URI_LIFETIME_SECONDS = 599
_GRANT_TYPES = frozenset({GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN, GRANT_CLIENT_CREDENTIALS})


#: What the profile holds a client to here, each with the clause of the profile it comes from; discovery
#: publishes them and docs/fapi2.md explains them (a test keeps the two in step).
RULES = (
    {"section": "5.3.2.2", "rule": "authorization requests only through PAR (RFC 9126), signed or not"},
    {"section": "5.3.2.2", "rule": "PKCE with S256 on every authorization request"},
    {"section": "5.3.2.2", "rule": "response_type code only"},
    {"section": "5.3.2.2", "rule": "iss in every authorization response (RFC 9207)"},
    {"section": "5.3.2.2", "rule": "a pushed request's request_uri expires in under 600 seconds"},
    {"section": "5.3.2.1", "rule": "confidential clients only, authenticated with private_key_jwt"},
    {"section": "5.3.2.1", "rule": "authorization codes live at most 60 seconds"},
    {"section": "5.3.2.1", "rule": "sender-constrained access tokens: DPoP (RFC 9449) on every token request"},
    {"section": "5.3.2.1", "rule": "refresh tokens are not rotated: one refreshes until it expires or is revoked"},
    {"section": "5.4", "rule": "PS256, ES256 or EdDSA for client assertions and request objects"},
)


def is_fapi2(client: ClientInfo) -> bool:
    return client.security_profile == FAPI2


def rotates_refresh_tokens(client: ClientInfo) -> bool:
    """Whether a refresh hands the client a new refresh token and retires the one it sent.

    §5.3.2.1: no rotation, so a client that lost a response can retry with the refresh token it holds. Its
    tokens are sender-constrained and it authenticates with its private key, so a copied refresh token is of
    no use to anyone else, and rotation (RFC 9700 §4.14.2, kept for every other client) would buy nothing.
    """
    return not is_fapi2(client)


def profile_settings(profile: str) -> dict[str, bool]:
    """The client settings a profile switches on with it."""
    if profile != FAPI2:
        return {}
    # §5.3.2.2: PAR; §5.3.2.1: sender-constrained access tokens (DPoP, RFC 9449); §5.3.2.2: PKCE.
    return {"require_pushed_authorization_requests": True, "dpop_bound_access_tokens": True, "require_pkce": True}


def registration_conflict(client: ClientInfo) -> tuple[str, str] | None:
    """The first setting that keeps ``client`` from holding its profile, as (field, what to change); None when
    it can (or holds none)."""
    if client.security_profile is None:
        return None
    if client.security_profile not in SECURITY_PROFILES:
        return "security_profile", f"The security profile must be one of {', '.join(SECURITY_PROFILES)}"
    # §5.3.2.1: only confidential clients, authenticated with private_key_jwt (or mTLS, which Gatepass lacks).
    if client.token_endpoint_auth_method != AUTH_PRIVATE_KEY_JWT:
        return "token_endpoint_auth_method", "A FAPI 2.0 client must authenticate with private_key_jwt"
    for field, alg in (
        ("token_endpoint_auth_signing_alg", client.token_endpoint_auth_signing_alg),
        ("request_object_signing_alg", client.request_object_signing_alg),
    ):
        if alg is not None and alg not in ALGORITHMS:
            return field, f"A FAPI 2.0 client signs with {', '.join(ALGORITHMS)} only"
    # §5.3.2.2: response_type code only; the profile covers the code flow (and client credentials) only.
    if tuple(client.response_types) != ("code",):
        return "response_types", "A FAPI 2.0 client uses response_type code only"
    other = sorted(set(client.grant_types) - _GRANT_TYPES)
    if other:
        return "grant_types", f"A FAPI 2.0 client cannot use the {other[0]} grant"
    if client.allow_plain_pkce:
        return "allow_plain_pkce", "A FAPI 2.0 client uses PKCE with S256 only"
    for setting, value in profile_settings(FAPI2).items():
        if getattr(client, setting) != value:
            return setting, f"A FAPI 2.0 client keeps {setting} on"
    return None


def check_authorization_request(request: AuthorizationRequest) -> None:
    """The rules of §5.3.2.2 a valid OAuth authorization request may still break."""
    if request.response_type != "code":
        raise UnsupportedResponseType("A FAPI 2.0 client must use response_type=code")
    # §5.3.2.2: PKCE with S256, whatever the client's own PKCE settings say.
    if request.code_challenge is None or request.code_challenge_method != "S256":
        raise InvalidRequest("A FAPI 2.0 client must send a PKCE code_challenge with code_challenge_method=S256")


def code_lifetime_seconds(client: ClientInfo, server_default: int) -> int:
    return min(server_default, CODE_LIFETIME_SECONDS) if is_fapi2(client) else server_default


def request_uri_lifetime_seconds(client: ClientInfo, server_default: int) -> int:
    return min(server_default, MAX_REQUEST_URI_LIFETIME_SECONDS) if is_fapi2(client) else server_default


def assertion_algorithms(client: ClientInfo) -> tuple[str, ...] | None:
    """§5.4: the algs a client assertion may use under the profile; None: as the auth method allows."""
    return ALGORITHMS if is_fapi2(client) else None
