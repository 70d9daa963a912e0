"""Registering and changing OAuth clients."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from gatepass.protocol.errors import OAuthError
from gatepass.protocol.fapi2_security_profile import profile_settings, registration_conflict
from gatepass.protocol.oidc.backchannel_logout import check_backchannel_logout_uri
from gatepass.protocol.params import parse_scope
from gatepass.protocol.rfc6749.redirect_uri import check_redirect_uri_for_registration
from gatepass.protocol.rfc7523_client_assertion import ALGORITHMS_BY_METHOD, SECRET_ALGORITHMS
from gatepass.protocol.rfc9101_request_object import ALGORITHMS as REQUEST_OBJECT_ALGORITHMS
from gatepass.protocol.tokens import new_client_id, new_token, token_digest
from gatepass.protocol.values import (
    ACCESS_TOKEN_FORMATS,
    AUTH_BASIC,
    AUTH_CLIENT_SECRET_JWT,
    AUTH_METHODS,
    AUTH_NONE,
    AUTH_PRIVATE_KEY_JWT,
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_IMPLICIT,
    GRANT_REFRESH_TOKEN,
    GRANT_TOKEN_EXCHANGE,
    GRANT_TYPES,
    ID_TOKEN_ALGORITHMS,
    RESPONSE_TYPES,
    ClientInfo,
)
from gatepass.services import audit
from gatepass.services.accounts import AccountError
from gatepass.services.client_sectors import is_https_or_loopback, settle_subject_type
from gatepass.services.crypto import InstanceKeys
from gatepass.services.stores import ClientRecord, ClientStore, NotFound, UserStore

DEFAULT_SCOPES = ("openid", "profile", "email", "roles", "all")


class ClientGrantStore(Protocol):
    async def revoke_all_of_client(self, client_id: str, now: datetime) -> int: ...


@dataclass(frozen=True)
class ClientChanges:
    """Every field an admin may set; None leaves the current value (or the default on create).

    A lifetime of 0 goes back to the server's default; an empty service user email unsets it.
    """

    app_name: str | None = None
    client_type: str | None = None
    token_endpoint_auth_method: str | None = None
    redirect_uris: tuple[str, ...] | None = None
    default_redirect_uri: str | None = None
    post_logout_redirect_uris: tuple[str, ...] | None = None
    scopes: tuple[str, ...] | None = None
    grant_types: tuple[str, ...] | None = None
    response_types: tuple[str, ...] | None = None
    allowed_roles: tuple[str, ...] | None = None
    skip_authorization: bool | None = None
    require_pkce: bool | None = None
    allow_plain_pkce: bool | None = None
    is_frappe_legacy: bool | None = None
    #: RFC 9126 §6: authorization requests only through the PAR endpoint.
    require_pushed_authorization_requests: bool | None = None
    #: OpenID Connect Core §8: "public" or "pairwise"; the sector identifier URI ("" unsets it).
    subject_type: str | None = None
    sector_identifier_uri: str | None = None
    #: May introspect other clients' tokens (RFC 7662 §4). Only an admin sets it; registration never does.
    is_resource_server: bool | None = None
    is_enabled: bool | None = None
    id_token_signed_response_alg: str | None = None
    access_token_ttl_seconds: int | None = None
    refresh_token_ttl_seconds: int | None = None
    service_user_email: str | None = None
    client_uri: str | None = None
    logo_uri: str | None = None
    #: RFC 7523 private_key_jwt: the client's public keys (a JWK Set) or where it publishes them.
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    token_endpoint_auth_signing_alg: str | None = None
    #: OpenID Connect Back-Channel Logout 1.0 §2.2: where logout tokens go ("" unsets it), and whether they
    #: must name the session.
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool | None = None
    #: RFC 9449 §5.2: token requests must carry a DPoP proof, so its access tokens are all sender-constrained.
    dpop_bound_access_tokens: bool | None = None
    #: RFC 9068: "jwt" or "opaque"; "" follows the server's default.
    access_token_format: str | None = None
    #: RFC 9101 §10.5: authorization requests only in a signed request object, with this alg when named
    #: ("" unsets it).
    require_signed_request_object: bool | None = None
    request_object_signing_alg: str | None = None
    #: A security profile held as a whole: "fapi2", or "" for none.
    security_profile: str | None = None


def _keeps_secret(info: ClientInfo) -> bool:
    """HS256 id_tokens and client_secret_jwt need the secret itself, not only its digest."""
    return (
        info.id_token_signed_response_alg == "HS256"
        or info.token_endpoint_auth_method == AUTH_CLIENT_SECRET_JWT
        or (info.request_object_signing_alg or "") in SECRET_ALGORITHMS
    )


def _check_assertion_settings(info: ClientInfo) -> None:
    method = info.token_endpoint_auth_method
    if method == AUTH_PRIVATE_KEY_JWT and info.jwks is None and info.jwks_uri is None:
        raise AccountError("A private_key_jwt client needs its public keys: a JWKS or a JWKS URI", field="jwks")
    if info.jwks is not None and not isinstance(info.jwks.get("keys"), list):
        raise AccountError('The JWKS must be a JWK Set: {"keys": [...]}', field="jwks")
    if info.jwks_uri is not None and not is_https_or_loopback(info.jwks_uri):
        raise AccountError("The JWKS URI must be an https URL (http only on this machine)", field="jwks_uri")
    alg = info.token_endpoint_auth_signing_alg
    allowed = ALGORITHMS_BY_METHOD.get(method, ())
    if alg is not None and alg not in allowed:
        raise AccountError(
            f"The client assertion alg must be one of {', '.join(allowed) or 'none for this auth method'}",
            field="token_endpoint_auth_signing_alg",
        )


def _check_request_object_settings(info: ClientInfo) -> None:
    alg = info.request_object_signing_alg
    if alg is not None and alg not in REQUEST_OBJECT_ALGORITHMS:
        raise AccountError(
            f"The request object alg must be one of {', '.join(REQUEST_OBJECT_ALGORITHMS)}",
            field="request_object_signing_alg",
        )
    if alg in SECRET_ALGORITHMS and info.client_type == "public":
        raise AccountError(
            f"{alg} request objects are signed with the client secret; a public client has none",
            field="request_object_signing_alg",
        )
    has_keys = info.jwks is not None or info.jwks_uri is not None
    if info.require_signed_request_object and not has_keys and alg not in SECRET_ALGORITHMS:
        raise AccountError(
            "A client that must sign its request objects needs its public keys (a JWKS or a JWKS URI), or an "
            "HS256 request object alg",
            field="require_signed_request_object",
        )


def _check(info: ClientInfo) -> None:
    if not info.app_name.strip():
        raise AccountError("The app name is required", field="app_name")
    if info.client_type not in ("confidential", "public"):
        raise AccountError("The client type must be confidential or public", field="client_type")
    if info.token_endpoint_auth_method not in (*AUTH_METHODS, *ALGORITHMS_BY_METHOD):
        raise AccountError(
            f"The token endpoint auth method must be one of {', '.join((*AUTH_METHODS, *ALGORITHMS_BY_METHOD))}",
            field="token_endpoint_auth_method",
        )
    if info.client_type == "public" and info.token_endpoint_auth_method != AUTH_NONE:
        raise AccountError("A public client has no secret: its auth method must be none", field="client_type")
    if info.client_type == "confidential" and info.token_endpoint_auth_method == AUTH_NONE:
        raise AccountError(
            "A confidential client must authenticate: use client_secret_basic or client_secret_post",
            field="token_endpoint_auth_method",
        )
    for uri in (*info.redirect_uris, *info.post_logout_redirect_uris):
        try:
            check_redirect_uri_for_registration(uri)
        except OAuthError as exc:
            raise AccountError(exc.description, field="redirect_uris") from None
    if info.default_redirect_uri and info.default_redirect_uri not in info.redirect_uris:
        raise AccountError("The default redirect URI must be one of the redirect URIs", field="default_redirect_uri")
    unknown = [grant for grant in info.grant_types if grant not in GRANT_TYPES]
    if unknown:
        raise AccountError(f"Unknown grant type '{unknown[0]}'; allowed: {', '.join(GRANT_TYPES)}", field="grant_types")
    unknown = [rt for rt in info.response_types if rt not in RESPONSE_TYPES]
    if unknown:
        raise AccountError(
            f"Unknown response type '{unknown[0]}'; allowed: {', '.join(RESPONSE_TYPES)}", field="response_types"
        )
    is_browser_based = GRANT_AUTHORIZATION_CODE in info.grant_types or GRANT_IMPLICIT in info.grant_types
    if is_browser_based and not info.redirect_uris:
        raise AccountError("At least one redirect URI is required for browser-based grants", field="redirect_uris")
    if GRANT_CLIENT_CREDENTIALS in info.grant_types and info.client_type == "public":
        raise AccountError("A public client cannot use client_credentials", field="grant_types")
    if GRANT_TOKEN_EXCHANGE in info.grant_types and info.client_type == "public":
        # RFC 8693 §2.1: a token exchange acts for a user without the user; only a client that proves who it is.
        raise AccountError("A public client cannot use token exchange", field="grant_types")
    if info.is_resource_server and info.client_type == "public":
        raise AccountError(
            "A public client cannot be a resource server: without a secret, anyone could introspect as it",
            field="is_resource_server",
        )
    if info.id_token_signed_response_alg not in ID_TOKEN_ALGORITHMS:
        raise AccountError(
            f"The id_token algorithm must be one of {', '.join(ID_TOKEN_ALGORITHMS)}",
            field="id_token_signed_response_alg",
        )
    if info.id_token_signed_response_alg == "HS256" and info.client_type == "public":
        raise AccountError(
            "HS256 id_tokens are signed with the client secret; a public client has none",
            field="id_token_signed_response_alg",
        )
    _check_assertion_settings(info)
    if info.access_token_format not in (None, *ACCESS_TOKEN_FORMATS):
        raise AccountError(
            f"The access token format must be one of {', '.join(ACCESS_TOKEN_FORMATS)}", field="access_token_format"
        )
    if info.backchannel_logout_uri is not None:
        try:
            check_backchannel_logout_uri(info.backchannel_logout_uri)
        except OAuthError as exc:
            raise AccountError(exc.description, field="backchannel_logout_uri") from None
    _check_request_object_settings(info)
    conflict = registration_conflict(info)
    if conflict is not None:
        raise AccountError(conflict[1], field=conflict[0])
    try:
        if parse_scope(" ".join(info.scopes)) != info.scopes:
            raise AccountError("Scopes must be listed once each", field="scopes")
    except OAuthError as exc:
        raise AccountError(exc.description, field="scopes") from None
    for uri_field, address in (("client_uri", info.client_uri), ("logo_uri", info.logo_uri)):
        # Shown as a link and an image on the consent page: only web addresses, never javascript: or data:.
        is_web = address is None or address == "" or address.startswith(("https://", "http://"))
        if not is_web or (address and (len(address) > 2048 or any(c in address for c in ' "<>'))):
            raise AccountError(f"The {uri_field.replace('_', ' ')} must be an http(s) address", field=uri_field)
    for ttl in (info.access_token_ttl_seconds, info.refresh_token_ttl_seconds):
        if ttl is not None and not 60 <= ttl <= 31536000:
            raise AccountError("Lifetimes must be between 60 seconds and one year", field="lifetimes")


class ClientService:
    def __init__(
        self,
        clients: ClientStore,
        users: UserStore,
        keys: InstanceKeys,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
        grants: ClientGrantStore,
    ) -> None:
        self._clients = clients
        self._grants = grants
        self._users = users
        self._keys = keys
        self._audit = audit_log
        self._clock = clock

    async def search(self, text: str = "") -> list[ClientRecord]:
        """Clients whose name or client_id contains ``text`` (every client when it is blank), by name."""
        needle = text.strip().lower()
        records = sorted(await self._clients.list_clients(), key=lambda r: r.info.app_name.lower())
        return [r for r in records if needle in r.info.app_name.lower() or needle in r.info.client_id.lower()]

    async def get(self, client_id: str) -> ClientRecord | None:
        return await self._clients.get_client(client_id)

    async def list(self) -> list[ClientRecord]:
        return await self._clients.list_clients()

    async def _apply(self, info: ClientInfo, changes: ClientChanges) -> ClientInfo:
        values = {
            f.name: getattr(changes, f.name)
            for f in dataclasses.fields(changes)
            if getattr(changes, f.name) is not None and f.name != "service_user_email"
        }
        if values.get("backchannel_logout_uri") == "":
            values["backchannel_logout_uri"] = None
        for ttl_name in ("access_token_ttl_seconds", "refresh_token_ttl_seconds"):
            if values.get(ttl_name) == 0:
                values[ttl_name] = None
        if values.get("access_token_format") == "":
            values["access_token_format"] = None
        if values.get("sector_identifier_uri") == "":
            values["sector_identifier_uri"] = None
        for unset_by_blank in ("request_object_signing_alg", "security_profile"):
            if values.get(unset_by_blank) == "":
                values[unset_by_blank] = None
        if values.get("security_profile") is not None:
            # One switch: naming the profile switches on the settings it needs; turning one off later is refused.
            values.update(profile_settings(values["security_profile"]))
        if changes.service_user_email is not None:
            if changes.service_user_email == "":
                values["service_user_id"] = None
            else:
                user = await self._users.get_user_by_email(changes.service_user_email)
                if user is None:
                    raise AccountError(f"No user has the email {changes.service_user_email}", field="service_user")
                values["service_user_id"] = user.id
        if changes.allowed_roles:
            known = {name for name, _, _ in await self._users.list_roles()}
            missing = [role for role in changes.allowed_roles if role not in known]
            if missing:
                raise AccountError(f"The role '{missing[0]}' does not exist", field="allowed_roles")
        if "client_type" in values and "token_endpoint_auth_method" not in values:
            values["token_endpoint_auth_method"] = AUTH_NONE if values["client_type"] == "public" else AUTH_BASIC
        if (
            "redirect_uris" in values
            and "default_redirect_uri" not in values
            and info.default_redirect_uri not in values["redirect_uris"]
        ):
            values["default_redirect_uri"] = None
        updated = dataclasses.replace(info, **values)
        if updated.default_redirect_uri is None and len(updated.redirect_uris) == 1:
            updated = dataclasses.replace(updated, default_redirect_uri=updated.redirect_uris[0])
        _check(updated)
        return await settle_subject_type(info, updated)

    def _new_secret(self, info: ClientInfo, chosen: str | None = None) -> tuple[ClientInfo, str | None, str | None]:
        if info.client_type == "public":
            return dataclasses.replace(info, secret_digest=None), None, None
        secret = chosen or new_token(32)
        encrypted = self._keys.encrypt(secret) if _keeps_secret(info) else None
        return dataclasses.replace(info, secret_digest=token_digest(self._keys.digest_key, secret)), secret, encrypted

    async def create(
        self, changes: ClientChanges, *, client_id: str | None = None, secret: str | None = None
    ) -> tuple[ClientInfo, str | None]:
        """Register a client; returns it and its secret, which is shown this once and never stored.

        ``secret`` keeps one the app already has (a client moved from another provider); default a new one.
        """
        blank = ClientInfo(
            client_id=client_id or new_client_id(),
            app_name="",
            client_type="confidential",
            token_endpoint_auth_method=AUTH_BASIC,
            secret_digest=None,
            redirect_uris=(),
            default_redirect_uri=None,
            scopes=DEFAULT_SCOPES,
            grant_types=(GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN),
            response_types=("code",),
        )
        info = await self._apply(blank, changes)
        info, secret, encrypted = self._new_secret(info, secret)
        await self._clients.add_client(info, encrypted, self._clock())
        await self._audit.record(audit.CLIENT_CREATED, client_id=info.client_id)
        return info, secret

    async def update(self, client_id: str, changes: ClientChanges) -> tuple[ClientInfo, str | None]:
        """Change a client. A new secret is made (and returned) only when the client newly needs one."""
        record = await self._clients.get_client(client_id)
        if record is None:
            raise NotFound(f"No client has client_id {client_id}")
        info = await self._apply(record.info, changes)
        secret: str | None = None
        encrypted = record.secret_encrypted
        needs_secret = info.client_type == "confidential" and info.secret_digest is None
        if info.client_type == "public":
            info, encrypted = dataclasses.replace(info, secret_digest=None), None
        elif needs_secret or (_keeps_secret(info) and encrypted is None):
            # HS256 and client_secret_jwt need the secret itself, which was never kept: issue a new one.
            info, secret, encrypted = self._new_secret(info)
        elif not _keeps_secret(info):
            encrypted = None
        await self._clients.update_client(info, encrypted, self._clock())
        await self._audit.record(audit.CLIENT_UPDATED, client_id=client_id)
        if info.is_enabled != record.info.is_enabled:
            await self._revoke_grants_on_switch(client_id, is_enabled=info.is_enabled)
        return info, secret

    async def _revoke_grants_on_switch(self, client_id: str, *, is_enabled: bool) -> None:
        """Disabling a client ends every grant it holds, at once and on every worker (the revocation is a
        database write, which the read cache hears of). Enabling it again revokes whatever is left, such as
        a token issued while it was being disabled: nothing from before comes back to life.

        The client row changes first, so token checks refuse its tokens before they are revoked.
        """
        revoked = await self._grants.revoke_all_of_client(client_id, self._clock())
        event = audit.CLIENT_ENABLED if is_enabled else audit.CLIENT_DISABLED
        await self._audit.record(event, client_id=client_id, grants_revoked=revoked)

    async def rotate_secret(self, client_id: str, *, secret: str | None = None) -> str:
        """A new secret for the client (``secret``: the one the app already has); the old one stops working."""
        record = await self._clients.get_client(client_id)
        if record is None:
            raise NotFound(f"No client has client_id {client_id}")
        if record.info.client_type == "public":
            raise AccountError("A public client has no secret to rotate", field="client_type")
        info, secret, encrypted = self._new_secret(record.info, secret)
        assert secret is not None
        await self._clients.update_client(info, encrypted, self._clock())
        await self._audit.record(audit.CLIENT_SECRET_ROTATED, client_id=client_id)
        return secret

    async def delete(self, client_id: str) -> bool:
        """Remove a client. Its grants are revoked first: deleting the row deletes them too, but a revocation
        does not depend on the database enforcing its foreign keys, and the audit says how many there were."""
        revoked = await self._grants.revoke_all_of_client(client_id, self._clock())
        deleted = await self._clients.delete_client(client_id)
        if deleted:
            await self._audit.record(audit.CLIENT_DELETED, client_id=client_id, grants_revoked=revoked)
        return deleted

    def client_secret_for_hs256(self, record: ClientRecord) -> str | None:
        return None if record.secret_encrypted is None else self._keys.decrypt(record.secret_encrypted)
