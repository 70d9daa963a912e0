"""What the services need from storage: narrow protocols and the records they exchange.

The database package implements these; services never see SQL. ``get_*`` returns the record or
None, ``consume_*`` returns whether this caller was the one that consumed it (atomic single use).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from gatepass.protocol.values import ClientInfo, CodeRecord, RefreshRecord


class Conflict(Exception):
    """A unique value (email, client_id, role name) is already taken."""


class NotFound(Exception):
    """The record to change does not exist."""


@dataclass(frozen=True)
class UserRecord:
    id: int
    sub: str
    email: str
    first_name: str
    last_name: str
    full_name: str
    picture_url: str | None
    is_enabled: bool
    is_email_verified: bool
    password_hash: str | None
    roles: tuple[str, ...]
    created_at: datetime
    api_key: str | None = None


@dataclass(frozen=True)
class NewUser:
    email: str
    sub: str
    first_name: str = ""
    last_name: str = ""
    picture_url: str | None = None
    password_hash: str | None = None
    roles: tuple[str, ...] = ()
    is_email_verified: bool = False


@dataclass(frozen=True)
class SessionRecord:
    session_id: int
    user_id: int
    auth_time: datetime
    expires_at: datetime
    #: None for a session from before last-seen times were kept.
    last_seen_at: datetime | None = None
    #: How the user proved who they are (OIDC amr values): ("pwd",), ("pwd", "otp"), ("fed",) …
    amr: tuple[str, ...] = ("pwd",)


@dataclass(frozen=True)
class BrowserSession:
    """A login session as its owner (or an admin) sees it in a list."""

    session_id: int
    user_agent: str | None
    ip: str | None
    created_at: datetime
    last_seen_at: datetime | None
    expires_at: datetime


@dataclass(frozen=True)
class MailLinkRecord:
    link_id: int
    user_id: int
    #: "reset" or "verify".
    purpose: str
    email: str
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class ThrottleRecord:
    failures: int
    locked_until: datetime | None


@dataclass(frozen=True)
class NewCode:
    code_digest: str
    client_id: str
    user_id: int
    redirect_uri: str
    redirect_uri_was_sent: bool
    scopes: tuple[str, ...]
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    resource: str | None
    auth_time: datetime
    created_at: datetime
    expires_at: datetime
    #: The login session's public id, for the id_token's ``sid`` (Back-Channel Logout §2.1).
    sid: str | None = None
    #: The amr of the login the code comes from, for the id_token it is redeemed for.
    amr: tuple[str, ...] = ()
    #: RFC 9449 §10: the authorization request's ``dpop_jkt``.
    dpop_jkt: str | None = None


@dataclass(frozen=True)
class LogoutParticipant:
    """A client with a back-channel logout URI, to tell of a user's logout, and the user's sessions it took part in."""

    client_id: str
    is_session_required: bool
    sids: tuple[str, ...]


@dataclass(frozen=True)
class LogoutDeliveryRecord:
    """A logout token claimed for one delivery attempt; ``attempts`` counts this one."""

    delivery_id: int
    client_id: str
    claims: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class NewGrant:
    client_id: str
    user_id: int | None
    grant_type: str
    scopes: tuple[str, ...]
    code_id: int | None
    nonce: str | None
    resource: str | None
    auth_time: datetime | None
    created_at: datetime
    expires_at: datetime
    #: RFC 9449 §6 and §5: the key thumbprints its first access token and its refresh token are bound to.
    access_dpop_jkt: str | None = None
    refresh_dpop_jkt: str | None = None
    #: The login session the grant comes from (Back-Channel Logout §2.1), for the id_tokens of its refreshes.
    sid: str | None = None
    #: How the user logged in, for the id_tokens of its refreshes.
    amr: tuple[str, ...] = ()


@dataclass(frozen=True)
class GrantRefresh:
    """A refresh of a grant: its new access token, and the audit event written in the same transaction
    (never a token without its event, nor an event without its token)."""

    grant_id: int
    #: The refresh token presented: retired by a rotation, or required live when it is kept.
    refresh_id: int
    client_id: str
    user_id: int | None
    scopes: tuple[str, ...]
    resource: str | None
    access_digest: str
    access_expires_at: datetime
    now: datetime
    #: RFC 9449 §5: the key thumbprint the new access token is bound to.
    access_dpop_jkt: str | None = None
    audit_event: AuditRecord | None = None


@dataclass(frozen=True)
class AccessTokenRecord:
    token_id: int
    grant_id: int
    client_id: str
    user_id: int | None
    scopes: tuple[str, ...]
    resource: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    #: Whether the token's client is enabled now, and trusted (skips consent), read with the token.
    is_client_enabled: bool = True
    is_client_trusted: bool = False
    #: RFC 9449 §6: the thumbprint of the key it must be presented with (``cnf.jkt``); None for a bearer token.
    dpop_jkt: str | None = None
    #: The sector of the client when it is told pairwise subs (services/subjects.py), read with the token.
    client_pairwise_sector: str | None = None
    #: Whether its grant was issued by a token exchange (RFC 8693), read with the token.
    is_exchanged: bool = False
    #: Its user with their roles, when the store read them with the token (None: not read, or no user). A
    #: cached token keeps it: any change to a user or a role empties the token entries too (cache/reads.py).
    user: UserRecord | None = None


@dataclass(frozen=True)
class GrantSummary:
    grant_id: int
    client_id: str
    app_name: str
    user_id: int | None
    user_email: str | None
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime


@dataclass(frozen=True)
class ConsentRecord:
    user_id: int
    client_id: str
    scopes: tuple[str, ...]
    granted_at: datetime


@dataclass(frozen=True)
class ClientRecord:
    info: ClientInfo
    secret_encrypted: str | None
    created_at: datetime


@dataclass(frozen=True)
class SigningKeyRecord:
    kid: str
    alg: str
    public_jwk: dict[str, Any]
    private_jwk_encrypted: str
    created_at: datetime
    signs_from: datetime
    retired_at: datetime | None
    unpublish_at: datetime | None


@dataclass(frozen=True)
class AuditRecord:
    at: datetime
    event: str
    user_id: int | None
    client_id: str | None
    ip: str | None
    detail: dict[str, Any] = field(default_factory=dict)


class UserStore(Protocol):
    async def get_user(self, user_id: int) -> UserRecord | None: ...
    async def get_user_by_email(self, email: str) -> UserRecord | None: ...
    async def get_user_by_api_key(self, api_key: str) -> tuple[UserRecord, str | None] | None: ...
    async def list_users(self) -> list[UserRecord]: ...
    async def count_users(self) -> int: ...
    async def add_user(self, user: NewUser, now: datetime) -> UserRecord: ...
    async def set_password_hash(self, user_id: int, password_hash: str, now: datetime) -> None: ...
    async def replace_password_hash(self, user_id: int, old_hash: str, new_hash: str, now: datetime) -> bool:
        """Set the new hash only while the stored one is still ``old_hash``; True when it was set."""
        ...

    async def set_enabled(self, user_id: int, is_enabled: bool, now: datetime) -> None: ...
    async def set_email_verified(self, user_id: int, email: str, now: datetime) -> None: ...
    async def set_api_credentials(self, user_id: int, api_key: str, secret_digest: str, now: datetime) -> None: ...
    async def set_roles(self, user_id: int, roles: tuple[str, ...]) -> None: ...
    async def list_roles(self) -> list[tuple[str, bool, str]]: ...
    async def add_role(self, name: str, description: str, now: datetime, *, is_builtin: bool = False) -> None: ...
    async def get_throttle(self, key_digest: str) -> ThrottleRecord | None: ...
    async def record_login_failure(
        self,
        key_digest: str,
        now: datetime,
        *,
        lock_after: int,
        lock_seconds: int,
        max_lock_seconds: int,
        forget_before: datetime,
    ) -> ThrottleRecord: ...
    async def clear_login_failures(self, key_digest: str) -> None: ...


class SessionStore(Protocol):
    async def add_session(
        self,
        session_digest: str,
        user_id: int,
        auth_time: datetime,
        now: datetime,
        expires_at: datetime,
        *,
        user_agent: str | None = None,
        ip: str | None = None,
        amr: tuple[str, ...] = ("pwd",),
    ) -> None: ...
    async def get_session(self, session_digest: str, now: datetime) -> SessionRecord | None: ...
    async def touch_session(self, session_id: int, now: datetime) -> None: ...
    async def list_sessions_of(self, user_id: int, now: datetime) -> list[BrowserSession]: ...
    async def delete_session(self, session_digest: str) -> None: ...
    async def delete_session_of(self, user_id: int, session_id: int) -> bool: ...
    async def delete_sessions_of(self, user_id: int, *, keep: int | None = None) -> int: ...


@dataclass(frozen=True)
class TotpRecord:
    secret_encrypted: str
    #: The RFC 6238 time step of the last code accepted; a code of this step or before is refused.
    last_used_step: int | None


class SecondFactorStore(Protocol):
    async def get_totp(self, user_id: int) -> TotpRecord | None: ...
    async def save_totp(self, user_id: int, secret_encrypted: str, now: datetime) -> None:
        """Replace the user's authenticator app (a new secret starts with no step used)."""
        ...

    async def use_totp_step(self, user_id: int, step: int) -> bool:
        """Record ``step`` as used; False when it, or a later one, was used already (one UPDATE decides)."""
        ...

    async def replace_recovery_codes(self, user_id: int, code_digests: tuple[str, ...], now: datetime) -> None: ...
    async def use_recovery_code(self, user_id: int, code_digest: str, now: datetime) -> bool: ...
    async def count_recovery_codes_left(self, user_id: int) -> int: ...
    async def delete_factors(self, user_id: int) -> bool:
        """Remove the authenticator app and the recovery codes; whether there was any."""
        ...

    async def has_enrolled_user_with_role(self, role: str) -> bool: ...


@dataclass(frozen=True)
class PasskeyRecord:
    id: int
    user_id: int
    credential_id: str
    public_key: str
    sign_count: int
    transports: tuple[str, ...]
    aaguid: str
    is_backup_eligible: bool
    is_backed_up: bool
    name: str
    created_at: datetime
    last_used_at: datetime | None
    removed_at: datetime | None = None


@dataclass(frozen=True)
class NewPasskey:
    user_id: int
    credential_digest: str
    credential_id: str
    public_key: str
    sign_count: int
    transports: tuple[str, ...]
    aaguid: str
    is_backup_eligible: bool
    is_backed_up: bool
    name: str


@dataclass(frozen=True)
class PasskeyChallengeRecord:
    purpose: str
    user_id: int | None
    binding_digest: str
    expires_at: datetime
    #: None when this consumption was the one that used it.
    used_at: datetime | None


class PasskeyStore(Protocol):
    async def add_passkey(self, passkey: NewPasskey, now: datetime) -> bool:
        """False when the credential is registered already (to anyone)."""
        ...

    async def get_passkey(self, credential_digest: str) -> PasskeyRecord | None:
        """The passkey, removed ones included (``removed_at`` set)."""
        ...

    async def list_passkeys(self, user_id: int) -> list[PasskeyRecord]: ...
    async def count_passkeys(self, user_id: int) -> int: ...
    async def rename_passkey(self, user_id: int, passkey_id: int, name: str) -> bool: ...
    async def remove_passkey(self, user_id: int, passkey_id: int, now: datetime) -> bool: ...
    async def remove_passkeys(self, user_id: int, now: datetime) -> int: ...
    async def use_passkey(self, passkey_id: int, sign_count: int, is_backed_up: bool, now: datetime) -> bool:
        """Record a use; False when the counter did not move forward (0 stays 0 for authenticators without one),
        decided by one conditional UPDATE so two uses of one signature cannot both pass."""
        ...

    async def add_challenge(
        self, challenge_digest: str, binding_digest: str, purpose: str, user_id: int | None, expires_at: datetime
    ) -> None: ...
    async def consume_challenge(self, challenge_digest: str, now: datetime) -> PasskeyChallengeRecord | None:
        """The challenge, marked used by this call (``used_at`` None) or used before (``used_at`` set)."""
        ...


class MailLinkStore(Protocol):
    async def add_link(
        self, link_digest: str, user_id: int, purpose: str, email: str, now: datetime, expires_at: datetime
    ) -> None: ...
    async def get_link(self, link_digest: str) -> MailLinkRecord | None: ...
    async def use_link(self, link_id: int, now: datetime) -> bool: ...
    async def use_links_of(self, user_id: int, purpose: str, now: datetime) -> int: ...


class ClientStore(Protocol):
    async def get_client(self, client_id: str) -> ClientRecord | None: ...
    async def list_clients(self) -> list[ClientRecord]: ...
    async def add_client(self, info: ClientInfo, secret_encrypted: str | None, now: datetime) -> None: ...
    async def update_client(self, info: ClientInfo, secret_encrypted: str | None, now: datetime) -> None: ...
    async def delete_client(self, client_id: str) -> bool: ...
    async def mark_completed_authorization(self, client_id: str) -> bool:
        """Set has_completed_authorization once; True if this call set it (only writes while it is false)."""
        ...

    async def forget_completed_authorization(self, client_id: str) -> None: ...


class CodeStore(Protocol):
    async def add_code(self, code: NewCode) -> int: ...
    async def get_code(self, code_digest: str) -> CodeRecord | None: ...
    async def consume_code(self, code_id: int, now: datetime) -> bool: ...


@dataclass(frozen=True)
class NewPushedRequest:
    reference_digest: str
    client_id: str
    parameters: Mapping[str, str]
    created_at: datetime
    expires_at: datetime
    #: RFC 9101: the parameters came in a request object the client signed.
    is_signed: bool = False


@dataclass(frozen=True)
class PushedRequestRecord:
    id: int
    client_id: str
    parameters: dict[str, str]
    expires_at: datetime
    consumed_at: datetime | None
    is_signed: bool = False


class PushedRequestStore(Protocol):
    """RFC 9126 pushed authorization requests, by the digest of their request_uri's reference."""

    async def add_pushed_request(self, request: NewPushedRequest) -> None: ...
    async def get_pushed_request(self, reference_digest: str) -> PushedRequestRecord | None: ...
    async def consume_pushed_request(self, request_id: int, now: datetime, kept_until: datetime) -> bool:
        """Mark it used, and keep it until ``kept_until`` for the login and consent that follow; False when
        it was used already."""
        ...


class ClientAssertionStore(Protocol):
    """RFC 7523 §3: the jti of each client assertion accepted, so that none is accepted twice."""

    async def use_assertion(self, client_id: str, jti_digest: str, expires_at: datetime) -> bool:
        """Record it until ``expires_at``; False when it was used already (on any worker)."""
        ...


class TokenStore(Protocol):
    async def get_access_token(self, token_digest: str) -> AccessTokenRecord | None: ...
    async def get_refresh_token(self, token_digest: str) -> RefreshRecord | None: ...
    async def revoke_grant(self, grant_id: int, now: datetime) -> None: ...
    async def revoke_grants_of(self, user_id: int, client_id: str, now: datetime) -> int: ...
    async def list_active_grants(
        self, now: datetime, *, user_id: int | None = None, client_id: str | None = None, grant_id: int | None = None
    ) -> list[GrantSummary]: ...


class ConsentStore(Protocol):
    async def get_consent(self, user_id: int, client_id: str) -> ConsentRecord | None: ...
    async def save_consent(self, user_id: int, client_id: str, scopes: tuple[str, ...], now: datetime) -> None: ...
    async def delete_consent(self, user_id: int, client_id: str) -> None: ...


class SettingsStore(Protocol):
    async def get_runtime_settings(self) -> dict[str, Any]: ...
    async def set_runtime_setting(self, key: str, value: Any, now: datetime) -> None: ...


class SigningKeyStore(Protocol):
    async def list_keys(self) -> list[SigningKeyRecord]: ...
    async def add_key(self, key: SigningKeyRecord) -> None: ...
    async def retire_keys_except(self, kids: set[str], alg: str, now: datetime, unpublish_at: datetime) -> None: ...


class AuditStore(Protocol):
    async def add_event(self, event: AuditRecord) -> None: ...
    async def list_events(
        self,
        *,
        limit: int = 100,
        event: str | None = None,
        user_id: int | None = None,
        client_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditRecord]: ...
    async def list_event_names(self) -> list[str]: ...


# -- the document API ---------------------------------------------------------------------------

DOCUMENT_ACTIONS = ("read", "write", "create", "delete")


@dataclass(frozen=True)
class DocFieldRecord:
    fieldname: str
    #: Data, Text, Int, Float, Check, Date, Datetime, Select or Link.
    fieldtype: str
    label: str = ""
    is_required: bool = False
    #: The default as text (converted by the field type), or None.
    default: str | None = None
    #: Select: the allowed values; Link: one item, the linked document type.
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocTypeRecord:
    name: str
    fields: tuple[DocFieldRecord, ...]
    description: str = ""
    is_builtin: bool = False

    def field(self, fieldname: str) -> DocFieldRecord | None:
        return next((field for field in self.fields if field.fieldname == fieldname), None)


@dataclass(frozen=True)
class DocPermissionRecord:
    """One row of a document type's permission table: a role, the actions, and whether only for owners."""

    doctype: str
    role: str
    if_owner: bool
    actions: frozenset[str]


@dataclass(frozen=True)
class DocumentScopeRecord:
    name: str
    doctype: str
    actions: tuple[str, ...]
    title: str
    description: str = ""


@dataclass(frozen=True)
class DocumentAccess:
    """What one request is judged by: the type, the user's roles, their permission rows, the type's scopes."""

    doctype: DocTypeRecord
    roles: tuple[str, ...]
    permissions: tuple[DocPermissionRecord, ...]
    scopes: tuple[DocumentScopeRecord, ...]


@dataclass(frozen=True)
class DocumentRecord:
    doctype: str
    name: str
    owner_id: int
    #: The owner's and last editor's email (Frappe shows user names, which are emails).
    owner: str
    modified_by: str | None
    creation: datetime
    modified: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class Condition:
    """One filter: ``field operator value``, the value already converted for the field's kind.

    ``kind`` says how to compare a JSON field (text, integer, float); standard fields are columns.
    Operators: = != < <= > >= like, not like, in, not in, is (value "set" or "not set").
    """

    field: str
    operator: str
    value: Any
    kind: str = "text"


@dataclass(frozen=True)
class SortKey:
    field: str
    kind: str = "text"
    is_descending: bool = False


@dataclass(frozen=True)
class DocumentQuery:
    doctype: str
    #: All must hold (Frappe ``filters``).
    conditions: tuple[Condition, ...] = ()
    #: At least one must hold when given (Frappe ``or_filters``).
    any_conditions: tuple[Condition, ...] = ()
    order_by: tuple[SortKey, ...] = (SortKey("modified", "datetime", True),)
    offset: int = 0
    #: None: no limit.
    limit: int | None = 20
    #: Only this owner's documents (owner-only read permission).
    owner_id: int | None = None


class DocTypeStore(Protocol):
    async def get_doctype(self, name: str) -> DocTypeRecord | None: ...
    async def list_doctypes(self) -> list[DocTypeRecord]: ...
    async def add_doctype(self, doctype: DocTypeRecord, now: datetime) -> None: ...
    async def delete_doctype(self, name: str) -> bool: ...
    async def set_permission(self, permission: DocPermissionRecord) -> None: ...
    async def list_permissions(self, doctype: str | None = None) -> list[DocPermissionRecord]: ...
    async def add_scope(self, scope: DocumentScopeRecord, now: datetime) -> None: ...
    async def list_scopes(self, names: tuple[str, ...] | None = None) -> list[DocumentScopeRecord]: ...
    async def delete_scope(self, name: str) -> bool: ...
    async def get_access(self, doctype: str, user_id: int) -> DocumentAccess | None: ...


class DocumentStore(Protocol):
    async def get_document(self, doctype: str, name: str) -> DocumentRecord | None: ...
    async def list_documents(self, query: DocumentQuery) -> list[DocumentRecord]: ...
    async def count_matching(self, query: DocumentQuery) -> int: ...
    async def add_document(
        self, doctype: str, name: str, owner_id: int, data: dict[str, Any], now: datetime
    ) -> DocumentRecord: ...
    async def update_document(
        self,
        doctype: str,
        name: str,
        data: dict[str, Any],
        *,
        modified_by_id: int,
        expected_modified: datetime,
        now: datetime,
    ) -> DocumentRecord | None: ...
    async def delete_document(self, doctype: str, name: str) -> bool: ...
    async def count_documents(self, doctype: str) -> int: ...
    async def find_link_to(
        self, doctype: str, name: str, *, visible: Mapping[str, int | None]
    ) -> tuple[str, str] | None: ...


# -- logging in through other providers ----------------------------------------------------------


@dataclass(frozen=True)
class ProviderConfig:
    """One upstream provider as an admin configured it ("Log in with …")."""

    #: Slug used in the URLs /login/<name>/start and /login/<name>/callback.
    name: str
    display_name: str
    #: gatepass | frappe | google | github | oidc (see services.providers.PRESETS).
    preset: str
    issuer: str
    client_id: str
    #: The client secret, encrypted with the instance key; None for a public client.
    client_secret_encrypted: str | None
    scopes: tuple[str, ...]
    is_enabled: bool
    allow_signup: bool
    #: Treat the provider's emails as verified even without email_verified=true (Frappe sends none).
    allow_unverified_email: bool
    #: Roles a user created through this provider starts with.
    default_roles: tuple[str, ...]
    #: (remote role, local role) pairs; remote roles not listed are ignored.
    role_map: tuple[tuple[str, str], ...]
    #: replace | merge | off
    role_sync: str
    #: Pass on the provider's amr (a second factor it asked for counts here too).
    trust_amr: bool = False


@dataclass(frozen=True)
class ProviderRecord:
    id: int
    config: ProviderConfig
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ExternalIdentityRecord:
    provider_id: int
    subject: str
    user_id: int
    email: str | None
    created_at: datetime
    last_login_at: datetime


@dataclass(frozen=True)
class NewLoginAttempt:
    state_digest: str
    provider_name: str
    browser_digest: str
    nonce: str
    code_verifier_encrypted: str
    next_url: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class LoginAttemptRecord:
    provider_name: str
    browser_digest: str
    nonce: str
    code_verifier_encrypted: str
    next_url: str
    created_at: datetime
    expires_at: datetime


class ProviderStore(Protocol):
    async def get_provider(self, name: str) -> ProviderRecord | None: ...
    async def list_providers(self) -> list[ProviderRecord]: ...
    async def add_provider(self, config: ProviderConfig, now: datetime) -> ProviderRecord: ...
    async def update_provider(self, config: ProviderConfig, now: datetime) -> ProviderRecord: ...
    async def delete_provider(self, name: str) -> bool: ...


class ExternalIdentityStore(Protocol):
    async def get_identity(self, provider_id: int, subject: str) -> ExternalIdentityRecord | None: ...
    async def add_identity(
        self, provider_id: int, subject: str, user_id: int, email: str | None, now: datetime
    ) -> None: ...
    async def touch_identity(self, provider_id: int, subject: str, email: str | None, now: datetime) -> None: ...


class LoginAttemptStore(Protocol):
    async def add_attempt(self, attempt: NewLoginAttempt) -> None: ...
    async def consume_attempt(self, state_digest: str, now: datetime) -> LoginAttemptRecord | None: ...
