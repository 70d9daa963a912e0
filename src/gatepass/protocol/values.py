"""Frozen values that cross layers: what the protocol decides on and what it decides."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gatepass.protocol.oauth_response_modes import uses_fragment

GRANT_AUTHORIZATION_CODE = "authorization_code"
GRANT_REFRESH_TOKEN = "refresh_token"
GRANT_CLIENT_CREDENTIALS = "client_credentials"
GRANT_IMPLICIT = "implicit"
#: RFC 8628 §3.4.
GRANT_DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8693 §2.1.
GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
GRANT_TYPES = (
    GRANT_AUTHORIZATION_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_IMPLICIT,
    GRANT_DEVICE_CODE,
    GRANT_TOKEN_EXCHANGE,
)

AUTH_BASIC = "client_secret_basic"
AUTH_POST = "client_secret_post"
AUTH_NONE = "none"
#: RFC 7523 §2.2 / OpenID Connect Core §9: a JWT the client signs, with its private key or its secret.
AUTH_PRIVATE_KEY_JWT = "private_key_jwt"
AUTH_CLIENT_SECRET_JWT = "client_secret_jwt"
AUTH_METHODS = (AUTH_BASIC, AUTH_POST, AUTH_NONE)

#: What an access token is: a random reference to a row, or an RFC 9068 JWT a resource server can read.
ACCESS_TOKEN_OPAQUE = "opaque"
ACCESS_TOKEN_JWT = "jwt"
ACCESS_TOKEN_FORMATS = (ACCESS_TOKEN_OPAQUE, ACCESS_TOKEN_JWT)

RESPONSE_TYPES = ("code", "token", "id_token", "id_token token")
ID_TOKEN_ALGORITHMS = ("RS256", "ES256", "EdDSA", "HS256")


@dataclass(frozen=True)
class ClientInfo:
    """A registered client, as the protocol sees it."""

    client_id: str
    app_name: str
    client_type: str  # "confidential" | "public"
    token_endpoint_auth_method: str
    secret_digest: str | None
    redirect_uris: tuple[str, ...]
    default_redirect_uri: str | None
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    allowed_roles: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    is_enabled: bool = True
    skip_authorization: bool = False
    require_pkce: bool = True
    allow_plain_pkce: bool = False
    id_token_signed_response_alg: str = "RS256"
    access_token_ttl_seconds: int | None = None
    refresh_token_ttl_seconds: int | None = None
    service_user_id: int | None = None
    client_uri: str | None = None
    logo_uri: str | None = None
    is_frappe_legacy: bool = False
    is_dynamically_registered: bool = False
    registration_token_digest: str | None = None
    contacts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    is_resource_server: bool = False
    has_completed_authorization: bool = False
    #: RFC 9126 §6: this client's authorization requests must come through the PAR endpoint.
    require_pushed_authorization_requests: bool = False
    #: OpenID Connect Core §8: "public" or "pairwise"; a pairwise client is told a sub made for its sector
    #: (the host of ``sector_identifier_uri``, else of its redirect URIs), which ClientService works out.
    subject_type: str = "public"
    sector_identifier_uri: str | None = None
    pairwise_sector: str | None = None
    #: RFC 7523: the public keys private_key_jwt assertions are checked with, inline or by URL; the alg
    #: its assertions must use when set. Not hashed: a JWKS is a dict.
    jwks: dict[str, Any] | None = field(default=None, hash=False)
    jwks_uri: str | None = None
    token_endpoint_auth_signing_alg: str | None = None
    #: OpenID Connect Back-Channel Logout 1.0 §2.2: where its logout tokens go, and whether they must name the
    #: session (``sid``).
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    #: RFC 9449 §5.2: every token request must carry a DPoP proof (the FAPI 2.0 profile relies on it).
    dpop_bound_access_tokens: bool = False
    #: RFC 9068: ACCESS_TOKEN_JWT or ACCESS_TOKEN_OPAQUE; None follows the server's default.
    access_token_format: str | None = None
    #: RFC 9101 §10.5: its authorization requests must come in a signed request object, and with this alg
    #: when one is named.
    require_signed_request_object: bool = False
    request_object_signing_alg: str | None = None
    #: A security profile the client is held to as a whole (``fapi2``: protocol/fapi2_security_profile.py).
    security_profile: str | None = None

    @property
    def is_public(self) -> bool:
        return self.client_type == "public"

    def is_allowed_for(self, roles: Iterable[str]) -> bool:
        """Whether a user with these roles may use the client: any user, unless it names allowed roles."""
        return not self.allowed_roles or not set(self.allowed_roles).isdisjoint(roles)


@dataclass(frozen=True)
class RedirectTarget:
    """Where an authorization response may go: only built after the exact URI match."""

    redirect_uri: str
    state: str | None
    use_fragment: bool


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    response_type: str
    redirect_uri: str
    redirect_uri_was_sent: bool
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None
    login_hint: str | None = None
    resource: str | None = None
    #: As sent; None means the default for the response type (query for code, else fragment).
    response_mode: str | None = None
    #: OIDC Core §3.1.2.1 acr_values, or §5.5.1.1 the values of an acr claim request, in order of preference;
    #: ``is_acr_essential``: the claim request made acr essential, so one of them must be met.
    requested_acr: tuple[str, ...] = ()
    is_acr_essential: bool = False
    #: RFC 9449 §10: the thumbprint of the DPoP key the code's token request must prove.
    dpop_jkt: str | None = None

    @property
    def target(self) -> RedirectTarget:
        use_fragment = uses_fragment(self.response_type, self.response_mode)
        return RedirectTarget(self.redirect_uri, self.state, use_fragment=use_fragment)


@dataclass(frozen=True)
class CodeRecord:
    """A stored authorization code, as loaded for redemption."""

    code_id: int
    client_id: str
    user_id: int
    redirect_uri: str
    redirect_uri_was_sent: bool
    scopes: tuple[str, ...]
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    auth_time: datetime
    expires_at: datetime
    consumed_at: datetime | None
    resource: str | None = None
    #: The login session's public id, for the id_token's ``sid`` (Back-Channel Logout §2.1).
    sid: str | None = None
    #: How the user logged in (OIDC amr values), for the id_token.
    amr: tuple[str, ...] = ()
    #: RFC 9449 §10: the thumbprint of the key the token request must prove, when the authorization request named one.
    dpop_jkt: str | None = None


@dataclass(frozen=True)
class RefreshRecord:
    refresh_id: int
    family_id: int
    client_id: str
    user_id: int | None
    scopes: tuple[str, ...]
    expires_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    auth_time: datetime | None
    nonce: str | None = None
    resource: str | None = None
    #: RFC 9449 §5: the thumbprint of the key a public client's refresh token is bound to.
    dpop_jkt: str | None = None
    #: The login session the grant comes from, for the refreshed id_token's ``sid`` (Back-Channel Logout §2.1).
    sid: str | None = None
    #: How the user logged in, for the refreshed id_token's ``amr`` and ``acr``.
    amr: tuple[str, ...] = ()


@dataclass(frozen=True)
class Principal:
    """Who an API request acts as: one user, through one client, within some scopes."""

    user_id: int
    client_id: str | None
    scopes: frozenset[str]
    token_id: int | None = None
    via: str = "bearer"  # bearer | session | api_key

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    scopes: tuple[str, ...]
    refresh_token: str | None = None
    id_token: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    #: RFC 9449 §5.1: "DPoP" when the access token is bound to the key of the request's proof.
    token_type: str = "Bearer"
