"""The schema: one class per table, identical on SQLite, PostgreSQL and MariaDB.

Tokens, codes, sessions and generated secrets are stored as HMAC-SHA-256 hex digests
(``*_digest``, 64 characters); passwords as argon2 hashes. Every timestamp is UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DIGEST = String(64)
Id = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (portable across the three engines), returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    #: Stable opaque subject identifier; never changes, even when the email does.
    sub: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    first_name: Mapped[str] = mapped_column(String(140), default="")
    last_name: Mapped[str] = mapped_column(String(140), default="")
    full_name: Mapped[str] = mapped_column(String(280), default="")
    picture_url: Mapped[str | None] = mapped_column(String(1024))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    is_email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    api_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    api_secret_digest: Mapped[str | None] = mapped_column(DIGEST)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(140), unique=True)
    is_builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime]


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)


class OAuthClient(Base):
    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(128), unique=True)
    app_name: Mapped[str] = mapped_column(String(140))
    client_type: Mapped[str] = mapped_column(String(16))  # confidential | public
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    secret_digest: Mapped[str | None] = mapped_column(DIGEST)
    #: Only for clients that sign id_tokens with HS256: the secret, encrypted with the instance key.
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    skip_authorization: Mapped[bool] = mapped_column(Boolean, default=False)
    scopes: Mapped[list[str]]
    redirect_uris: Mapped[list[str]]
    default_redirect_uri: Mapped[str | None] = mapped_column(String(2048))
    post_logout_redirect_uris: Mapped[list[str]]
    grant_types: Mapped[list[str]]
    response_types: Mapped[list[str]]
    allowed_roles: Mapped[list[str]]
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    require_pkce: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_plain_pkce: Mapped[bool] = mapped_column(Boolean, default=False)
    is_frappe_legacy: Mapped[bool] = mapped_column(Boolean, default=False)
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(16), default="RS256")
    access_token_ttl_seconds: Mapped[int | None] = mapped_column(Integer)
    refresh_token_ttl_seconds: Mapped[int | None] = mapped_column(Integer)
    service_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    client_uri: Mapped[str | None] = mapped_column(String(2048))
    logo_uri: Mapped[str | None] = mapped_column(String(2048))
    #: RFC 7591: registered by the client itself, managed with its registration access token (RFC 7592).
    is_dynamically_registered: Mapped[bool] = mapped_column(Boolean, default=False)
    registration_access_token_digest: Mapped[str | None] = mapped_column(DIGEST)
    contacts: Mapped[list[str] | None] = mapped_column(JSON)
    #: Browser origins allowed by CORS besides those of the redirect URIs.
    allowed_origins: Mapped[list[str] | None] = mapped_column(JSON)
    #: RFC 7662 §4: a resource server may introspect tokens issued to other clients.
    is_resource_server: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Set once a user first completed an authorization for this client; until then a dynamically
    #: registered client's redirect URI is unproven, so errors are not redirected to it (RFC 9700 §4.11.2).
    has_completed_authorization: Mapped[bool] = mapped_column(Boolean, default=False)
    #: RFC 9126 §6: authorization requests only through the PAR endpoint.
    require_pushed_authorization_requests: Mapped[bool] = mapped_column(Boolean, default=False)
    #: OpenID Connect Core §8: "public" (told the user's own sub) or "pairwise" (a sub of its sector's own).
    subject_type: Mapped[str] = mapped_column(String(16), default="public")
    #: §8.1: a document listing the client's redirect URIs, whose host is the sector when they span hosts.
    sector_identifier_uri: Mapped[str | None] = mapped_column(String(2048))
    #: The sector a pairwise client's subs are made for, None when public: read with each access token.
    pairwise_sector: Mapped[str | None] = mapped_column(String(255))
    #: RFC 7523 private_key_jwt: the client's public keys, inline or where to fetch them (RFC 7591 §2).
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(String(2048))
    #: The one alg its client assertions may use; any the method allows when unset.
    token_endpoint_auth_signing_alg: Mapped[str | None] = mapped_column(String(16))
    #: OpenID Connect Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed, and whether they must carry sid.
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(2048))
    backchannel_logout_session_required: Mapped[bool] = mapped_column(Boolean, default=False)
    #: RFC 9449 §5.2: every token request must carry a DPoP proof, so every access token is bound to a key.
    dpop_bound_access_tokens: Mapped[bool] = mapped_column(Boolean, default=False)
    #: RFC 9068: "opaque" or "jwt"; NULL follows the server's tokens.access_token_format.
    access_token_format: Mapped[str | None] = mapped_column(String(8))
    #: RFC 9101 §10.5: its authorization requests must come in a signed request object.
    require_signed_request_object: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The one alg its request objects may use; any the server accepts when unset.
    request_object_signing_alg: Mapped[str | None] = mapped_column(String(16))
    #: A security profile the client is held to as a whole ("fapi2": FAPI 2.0 Security Profile), or none.
    security_profile: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class InitialAccessToken(Base):
    """RFC 7591 §3: tokens admins hand out so that a client may register itself."""

    __tablename__ = "initial_access_tokens"

    token_digest: Mapped[str] = mapped_column(DIGEST, primary_key=True)
    description: Mapped[str] = mapped_column(String(280), default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    uses_left: Mapped[int] = mapped_column(Integer, default=1)


class RuntimeSetting(Base):
    """Settings admins change at run time (consent mode …); deployment config is in config.py."""

    __tablename__ = "runtime_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class LoginSession(Base):
    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    session_digest: Mapped[str] = mapped_column(DIGEST, unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    auth_time: Mapped[datetime]
    #: How the user proved who they are (OIDC amr values, space-separated: "pwd otp"); None: a password.
    amr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    #: The browser's User-Agent and address at login, so its owner can tell their sessions apart.
    user_agent: Mapped[str | None] = mapped_column(String(255))
    ip: Mapped[str | None] = mapped_column(String(64))
    #: Written at most every few minutes, so a logged-in page view rarely writes.
    last_seen_at: Mapped[datetime | None]


class MailLink(Base):
    """A link sent by mail (password reset, email verification): only its digest is kept; it works once,
    until ``expires_at``, and ``used_at`` tells a used link from an unknown one."""

    __tablename__ = "mail_links"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    link_digest: Mapped[str] = mapped_column(DIGEST, unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    #: The address the link was sent to: verifying it says nothing about another address.
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]


class LoginThrottle(Base):
    """Failed logins per email, and per email and client address (known emails or not, so lockout
    reveals nothing about who exists); ``email_digest`` is the digest of either key."""

    __tablename__ = "login_throttles"

    email_digest: Mapped[str] = mapped_column(DIGEST, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class AuthorizationCode(Base):
    __tablename__ = "authorization_codes"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    code_digest: Mapped[str] = mapped_column(DIGEST, unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    redirect_uri_was_sent: Mapped[bool] = mapped_column(Boolean)
    scopes: Mapped[list[str]]
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    nonce: Mapped[str | None] = mapped_column(String(512))
    #: The login session's public id (OIDC Back-Channel Logout §2.1 ``sid``), put in the code's id_token.
    sid: Mapped[str | None] = mapped_column(String(64))
    resource: Mapped[str | None] = mapped_column(String(2048))
    #: RFC 9449 §10: the thumbprint of the key the code's token request must prove, from ``dpop_jkt``.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[datetime]
    #: The amr of the login the code was issued from, for its id_token.
    amr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    consumed_at: Mapped[datetime | None]


class PushedAuthorizationRequest(Base):
    """RFC 9126: an authorization request a client pushed, kept until its request_uri is used or expires."""

    __tablename__ = "pushed_authorization_requests"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    #: The digest of the request_uri's random reference, as codes are stored.
    reference_digest: Mapped[str] = mapped_column(DIGEST, unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id", ondelete="CASCADE"))
    #: The authorization request's parameters as pushed, without the client's credentials.
    parameters: Mapped[dict[str, Any]]
    #: RFC 9101: the parameters came in a request object the client signed.
    is_signed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    consumed_at: Mapped[datetime | None]


class DeviceAuthorization(Base):
    """RFC 8628: a device's request for a user's authorization, from its codes to their one redemption.

    ``status`` moves pending → approved | denied, then approved → used, each step one conditional UPDATE.
    """

    __tablename__ = "device_authorizations"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    device_code_digest: Mapped[str] = mapped_column(DIGEST, unique=True)
    #: The digest of the user code as normalized (upper case, no dash or spaces): people type it back.
    user_code_digest: Mapped[str] = mapped_column(DIGEST, unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id", ondelete="CASCADE"))
    scopes: Mapped[list[str]]
    resource: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: When the approving user logged in (OIDC auth_time), not when they approved.
    auth_time: Mapped[datetime | None]
    #: The approving login session's public id (Back-Channel Logout ``sid``), for the device's id_token.
    sid: Mapped[str | None] = mapped_column(String(64))
    #: The amr of the approving login, space-separated, for the device's id_token.
    amr: Mapped[str | None] = mapped_column(String(64))
    #: Seconds the device must wait between polls; raised by every slow_down (RFC 8628 §3.5).
    interval_seconds: Mapped[int] = mapped_column(Integer)
    last_polled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class UsedClientAssertion(Base):
    """RFC 7523 §3: the jti of every client assertion accepted, until it expires, so none is used twice.

    Inserting decides: of two workers handed the same assertion, the one whose insert conflicts refuses it.
    """

    __tablename__ = "used_client_assertions"
    __table_args__ = (UniqueConstraint("client_id", "jti_digest"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id", ondelete="CASCADE"))
    jti_digest: Mapped[str] = mapped_column(DIGEST)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class UsedDpopProof(Base):
    """RFC 9449 §11.1: a digest of the key thumbprint and ``jti`` of every DPoP proof accepted, until the
    proof is too old to be accepted anyway; one insert decides, as for client assertions."""

    __tablename__ = "used_dpop_proofs"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    proof_digest: Mapped[str] = mapped_column(DIGEST, unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LogoutSessionClient(Base):
    """A client that took part in a login session and wants to hear of its end (Back-Channel Logout §2.2).

    Written only for clients with a ``backchannel_logout_uri``, once per session and client; kept until the
    session's logout is queued or the session would have expired.
    """

    __tablename__ = "logout_session_clients"
    __table_args__ = (UniqueConstraint("sid", "client_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    sid: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class BackchannelLogoutDelivery(Base):
    """A logout token to POST to a client, until it is accepted or given up (Back-Channel Logout §2.5).

    ``claims`` are the token's claims without iat and exp: each attempt signs them afresh, so a token
    delivered after retries is not already expired. A worker claims a row by moving ``claimed_until``
    forward in one conditional UPDATE; only the worker whose UPDATE changed the row sends it.
    """

    __tablename__ = "backchannel_logout_deliveries"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), index=True)
    claims: Mapped[dict[str, Any]]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


class RevokedAccessToken(Base):
    """RFC 9068 access tokens revoked before they expire: the digest of each one's ``jti`` until its ``exp``.

    A JWT acting for no user (client credentials) has no row of its own; revoking it adds one here, which
    every worker and node reads before accepting the token (the read cache drops its entries on the insert).
    """

    __tablename__ = "revoked_access_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    jti_digest: Mapped[str] = mapped_column(DIGEST, unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class TokenGrant(Base):
    """One grant: the family of access and refresh tokens that descend from one authorization."""

    __tablename__ = "token_grants"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: 64: the device grant's type is a URN (urn:ietf:params:oauth:grant-type:device_code).
    grant_type: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]]
    code_id: Mapped[int | None] = mapped_column(ForeignKey("authorization_codes.id", ondelete="SET NULL"), index=True)
    nonce: Mapped[str | None] = mapped_column(String(512))
    resource: Mapped[str | None] = mapped_column(String(2048))
    auth_time: Mapped[datetime | None]
    created_at: Mapped[datetime]
    #: Absolute end of the family: refresh rotation never extends it.
    expires_at: Mapped[datetime] = mapped_column(index=True)
    #: The login session the grant comes from (Back-Channel Logout §2.1 ``sid``), for the id_tokens of its refreshes.
    sid: Mapped[str | None] = mapped_column(String(64))
    #: How the user logged in (amr, space-separated), for the id_tokens of its refreshes.
    amr: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AccessToken(Base):
    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    token_digest: Mapped[str] = mapped_column(DIGEST, unique=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("token_grants.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int | None] = mapped_column(Integer)
    scopes: Mapped[list[str]]
    resource: Mapped[str | None] = mapped_column(String(2048))
    #: RFC 9449 §6: the thumbprint of the key a DPoP-bound token must be presented with (``cnf.jkt``).
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    token_digest: Mapped[str] = mapped_column(DIGEST, unique=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("token_grants.id", ondelete="CASCADE"), index=True)
    #: RFC 9449 §5: a public client's refresh token is bound to the key of the proof it was issued with.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class TokenExchangePolicy(Base):
    """RFC 8693: one client may exchange tokens for one audience, within these limits; no row, no exchange.

    ``subject_client_ids``: whose tokens it may exchange; ``actor_client_ids``: whose tokens may act
    (delegation, the ``act`` claim); ``allow_impersonation``: whether it may exchange without an actor.
    """

    __tablename__ = "token_exchange_policies"
    __table_args__ = (UniqueConstraint("client_id", "audience"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id", ondelete="CASCADE"))
    #: 512: with the client_id, within MariaDB's longest unique key.
    audience: Mapped[str] = mapped_column(String(512))
    subject_token_types: Mapped[list[str]]
    subject_client_ids: Mapped[list[str]]
    actor_client_ids: Mapped[list[str]]
    allow_impersonation: Mapped[bool] = mapped_column(Boolean, default=False)
    scopes: Mapped[list[str]]
    created_at: Mapped[datetime]


class TokenExchange(Base):
    """RFC 8693: what a grant issued by token exchange was exchanged from, and who acts (its ``act`` claim)."""

    __tablename__ = "token_exchanges"

    grant_id: Mapped[int] = mapped_column(
        Id, ForeignKey("token_grants.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    subject_token_type: Mapped[str] = mapped_column(String(64))
    subject_client_id: Mapped[str] = mapped_column(String(128))
    act: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class Consent(Base):
    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id", ondelete="CASCADE"))
    scopes: Mapped[list[str]]
    granted_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    event: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    client_id: Mapped[str | None] = mapped_column(String(128), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]


class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]]
    #: The private JWK, encrypted with a key derived from the instance secret.
    private_jwk_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    #: From this moment the key signs; before it, it is only published (rotation grace).
    signs_from: Mapped[datetime]
    #: Set when a newer key takes over signing.
    retired_at: Mapped[datetime | None]
    #: After this moment nothing it signed can still be valid; it is no longer published.
    unpublish_at: Mapped[datetime | None]


# -- the document API: types, permissions, scopes and the documents themselves ------


class DocType(Base):
    """A document type defined by admins (Frappe's DocType); ToDo and Note are seeded."""

    __tablename__ = "doc_types"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    is_builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DocField(Base):
    __tablename__ = "doc_fields"
    __table_args__ = (UniqueConstraint("doctype_id", "fieldname"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    doctype_id: Mapped[int] = mapped_column(ForeignKey("doc_types.id", ondelete="CASCADE"))
    #: Position in the form and in `fields=["*"]` output.
    idx: Mapped[int] = mapped_column(Integer)
    fieldname: Mapped[str] = mapped_column(String(64))
    #: Data, Text, Int, Float, Check, Date, Datetime, Select or Link.
    fieldtype: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(140), default="")
    is_required: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The default as text, converted by the field type (Frappe keeps it the same way).
    default_value: Mapped[str | None] = mapped_column(String(1000))
    #: Select: the allowed values; Link: one item, the linked document type.
    options: Mapped[list[str]]


class DocPermission(Base):
    """What one role may do with one document type; a second row with if_owner limits to own documents."""

    __tablename__ = "doc_permissions"
    __table_args__ = (UniqueConstraint("doctype_id", "role_id", "if_owner"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    doctype_id: Mapped[int] = mapped_column(ForeignKey("doc_types.id", ondelete="CASCADE"))
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), index=True)
    if_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    can_read: Mapped[bool] = mapped_column(Boolean, default=False)
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)
    can_create: Mapped[bool] = mapped_column(Boolean, default=False)
    can_delete: Mapped[bool] = mapped_column(Boolean, default=False)


class DocumentScope(Base):
    """An OAuth scope that names one document type and some actions (Frappe's planned OAuth Client Scope)."""

    __tablename__ = "document_scopes"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    doctype_id: Mapped[int] = mapped_column(ForeignKey("doc_types.id", ondelete="CASCADE"), index=True)
    #: Any of read, write, create, delete.
    actions: Mapped[list[str]]
    title: Mapped[str] = mapped_column(String(140))
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime]


class Document(Base):
    """Every document of every type: standard columns as columns, the type's fields in one JSON value."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("doctype_id", "name"),
        Index("ix_documents_doctype_owner", "doctype_id", "owner_id"),
        Index("ix_documents_doctype_modified", "doctype_id", "modified"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    doctype_id: Mapped[int] = mapped_column(ForeignKey("doc_types.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(140))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    modified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    creation: Mapped[datetime]
    modified: Mapped[datetime]
    data: Mapped[dict[str, Any]]


class LoginProvider(Base):
    """An upstream identity provider users may log in with ("Log in with …")."""

    __tablename__ = "login_providers"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(140))
    preset: Mapped[str] = mapped_column(String(16))
    issuer: Mapped[str] = mapped_column(String(2048))
    client_id: Mapped[str] = mapped_column(String(255))
    #: The client secret, encrypted with the instance key (it must be sent, so it cannot be hashed).
    client_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[list[str]]
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_signup: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_unverified_email: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Pass on the provider's amr: a second factor it asked for counts as one here.
    trust_amr: Mapped[bool] = mapped_column(Boolean, default=False)
    default_roles: Mapped[list[str]]
    #: [[remote, local], …]
    role_map: Mapped[list[list[str]]] = mapped_column(JSON)
    role_sync: Mapped[str] = mapped_column(String(16), default="off")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ExternalIdentity(Base):
    """A user's account at an upstream provider: (provider, subject) → local user."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("provider_id", "subject"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("login_providers.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime]


class SocialLoginAttempt(Base):
    """A started "Log in with …": state (as a digest), nonce and PKCE verifier, single use, short-lived."""

    __tablename__ = "social_login_attempts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    state_digest: Mapped[str] = mapped_column(DIGEST, unique=True)
    provider_name: Mapped[str] = mapped_column(String(64))
    #: Digest of the random cookie of the browser that started the attempt (login CSRF defence).
    browser_digest: Mapped[str] = mapped_column(DIGEST)
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier_encrypted: Mapped[str] = mapped_column(Text)
    next_url: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    consumed_at: Mapped[datetime | None]


class TotpFactor(Base):
    """A user's authenticator app (RFC 6238): the shared secret, encrypted with the instance key, and the
    last time step a code was accepted for, so that no code (nor an older one) is accepted twice."""

    __tablename__ = "totp_factors"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class RecoveryCode(Base):
    """One single-use recovery code of a user, as a keyed digest; ``used_at`` is set by the one use."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_digest: Mapped[str] = mapped_column(DIGEST, unique=True)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Passkey(Base):
    """A user's WebAuthn credential: its id (looked up by digest, as the id can be 1,023 bytes), public key
    (COSE), the last signature counter seen, and what the authenticator said of itself at registration."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the credential id: unique on every backend whatever the id's length.
    credential_digest: Mapped[str] = mapped_column(DIGEST, unique=True)
    #: base64url, without padding.
    credential_id: Mapped[str] = mapped_column(String(1400))
    public_key: Mapped[str] = mapped_column(Text)
    sign_count: Mapped[int] = mapped_column(BigInteger)
    #: Comma-separated, as the browser reported them at registration (usb, nfc, ble, hybrid, internal).
    transports: Mapped[str] = mapped_column(String(200))
    aaguid: Mapped[str] = mapped_column(String(36))
    is_backup_eligible: Mapped[bool] = mapped_column(Boolean)
    is_backed_up: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    #: Removed by its owner or an admin: kept, so a login under way with it is told so rather than "unknown".
    removed_at: Mapped[datetime | None]


class PasskeyChallenge(Base):
    """A WebAuthn challenge handed to one browser: bound to it by the digest of a cookie it holds, used once
    (``used_at``), until ``expires_at``. The challenge itself is kept as a digest too."""

    __tablename__ = "passkey_challenges"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    challenge_digest: Mapped[str] = mapped_column(DIGEST, unique=True)
    binding_digest: Mapped[str] = mapped_column(DIGEST)
    #: register | second-factor | passwordless
    purpose: Mapped[str] = mapped_column(String(16))
    #: The user it was made for; None for a passwordless login, where the passkey says who.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
