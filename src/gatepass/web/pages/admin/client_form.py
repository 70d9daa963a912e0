"""The client form of the admin console: the choices it offers, the values it shows, the changes it sends."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from gatepass.protocol.errors import OAuthError
from gatepass.protocol.params import parse_scope
from gatepass.protocol.rfc7523_client_assertion import KEY_ALGORITHMS, SECRET_ALGORITHMS
from gatepass.protocol.values import (
    AUTH_BASIC,
    AUTH_CLIENT_SECRET_JWT,
    AUTH_NONE,
    AUTH_POST,
    AUTH_PRIVATE_KEY_JWT,
    GRANT_TYPES,
    ID_TOKEN_ALGORITHMS,
    RESPONSE_TYPES,
)
from gatepass.services.accounts import AccountError
from gatepass.services.clients import DEFAULT_SCOPES, ClientChanges
from gatepass.services.scopes import BUILTIN_SCOPES
from gatepass.services.stores import ClientRecord
from gatepass.web.pages.admin.context import admin
from gatepass.web.pages.admin.guard import AdminForm

SECRET_METHODS = (AUTH_BASIC, AUTH_POST, AUTH_PRIVATE_KEY_JWT, AUTH_CLIENT_SECRET_JWT)
ASSERTION_ALGORITHMS = (*KEY_ALGORITHMS, *SECRET_ALGORITHMS)

#: Each grant and response type in words, shown beside its code.
GRANT_LABELS = {
    "authorization_code": "Users log in and allow it",
    "refresh_token": "Keeps access without asking again (refresh tokens)",
    "client_credentials": "Acts on its own, as its service user",
    "implicit": "Tokens straight from the browser (legacy implicit flow)",
    "urn:ietf:params:oauth:grant-type:device_code": "Devices without a browser: the user types a code on /device",
    "urn:ietf:params:oauth:grant-type:token-exchange": (
        "Trades a user's token for one to another service (token exchange; an exchange policy says what)"
    ),
}
RESPONSE_TYPE_LABELS = {
    "code": "An authorization code",
    "token": "An access token in the redirect (legacy)",
    "id_token": "An id_token only (legacy)",
    "id_token token": "An id_token and an access token (legacy)",
}


async def choices(request: Request, current_scopes: tuple[str, ...] = ()) -> dict[str, Any]:
    context = admin(request)
    document_scopes = [scope.name for scope in await context.doctypes.list_scopes()]
    known = list(dict.fromkeys([*BUILTIN_SCOPES, *document_scopes, *current_scopes]))
    return {
        "all_scopes": known,
        "scope_titles": {name: BUILTIN_SCOPES.get(name, (name, ""))[0] for name in known},
        "all_roles": [name for name, _, _ in await context.accounts.list_roles()],
        "grant_types": GRANT_TYPES,
        "grant_labels": GRANT_LABELS,
        "response_types": RESPONSE_TYPES,
        "response_type_labels": RESPONSE_TYPE_LABELS,
        "algorithms": ID_TOKEN_ALGORITHMS,
        "secret_methods": SECRET_METHODS,
        "assertion_algorithms": ASSERTION_ALGORITHMS,
    }


def blank_values() -> dict[str, Any]:
    return {
        "app_name": "",
        "client_id": "",
        "client_type": "confidential",
        "token_endpoint_auth_method": AUTH_BASIC,
        "redirect_uris": "",
        "default_redirect_uri": "",
        "post_logout_redirect_uris": "",
        "backchannel_logout_uri": "",
        "backchannel_logout_session_required": False,
        "scopes": list(DEFAULT_SCOPES),
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "allowed_roles": [],
        "skip_authorization": False,
        "require_pkce": True,
        "allow_plain_pkce": False,
        "require_pushed_authorization_requests": False,
        "subject_type": "public",
        "sector_identifier_uri": "",
        "dpop_bound_access_tokens": False,
        "access_token_format": "",
        "is_frappe_legacy": False,
        "is_resource_server": False,
        "id_token_signed_response_alg": "RS256",
        "access_token_ttl_seconds": "",
        "refresh_token_ttl_seconds": "",
        "service_user_email": "",
        "client_uri": "",
        "logo_uri": "",
        "jwks": "",
        "jwks_uri": "",
        "token_endpoint_auth_signing_alg": "",
        "require_signed_request_object": False,
        "request_object_signing_alg": "",
        "security_profile": "",
    }


def frappe_preset_values() -> dict[str, Any]:
    """A client as apps written for Frappe's provider expect it: the secret in either place, no PKCE
    needed, HS256 id_tokens signed with the secret, and the scopes Frappe apps ask for."""
    return {
        **blank_values(),
        "token_endpoint_auth_method": AUTH_POST,
        "scopes": ["openid", "all"],
        "require_pkce": False,
        "allow_plain_pkce": True,
        "is_frappe_legacy": True,
        "id_token_signed_response_alg": "HS256",
    }


async def values_of(request: Request, record: ClientRecord) -> dict[str, Any]:
    info = record.info
    service_user = await admin(request).accounts.get_user(info.service_user_id) if info.service_user_id else None
    return {
        "app_name": info.app_name,
        "client_id": info.client_id,
        "client_type": info.client_type,
        "token_endpoint_auth_method": info.token_endpoint_auth_method,
        "redirect_uris": "\n".join(info.redirect_uris),
        "default_redirect_uri": info.default_redirect_uri or "",
        "post_logout_redirect_uris": "\n".join(info.post_logout_redirect_uris),
        "backchannel_logout_uri": info.backchannel_logout_uri or "",
        "backchannel_logout_session_required": info.backchannel_logout_session_required,
        "scopes": list(info.scopes),
        "grant_types": list(info.grant_types),
        "response_types": list(info.response_types),
        "allowed_roles": list(info.allowed_roles),
        "skip_authorization": info.skip_authorization,
        "require_pkce": info.require_pkce,
        "allow_plain_pkce": info.allow_plain_pkce,
        "require_pushed_authorization_requests": info.require_pushed_authorization_requests,
        "subject_type": info.subject_type,
        "sector_identifier_uri": info.sector_identifier_uri or "",
        "dpop_bound_access_tokens": info.dpop_bound_access_tokens,
        "access_token_format": info.access_token_format or "",
        "is_frappe_legacy": info.is_frappe_legacy,
        "is_resource_server": info.is_resource_server,
        "id_token_signed_response_alg": info.id_token_signed_response_alg,
        "access_token_ttl_seconds": info.access_token_ttl_seconds or "",
        "refresh_token_ttl_seconds": info.refresh_token_ttl_seconds or "",
        "service_user_email": service_user.email if service_user else "",
        "client_uri": info.client_uri or "",
        "logo_uri": info.logo_uri or "",
        "jwks": json.dumps(info.jwks, indent=2) if info.jwks is not None else "",
        "jwks_uri": info.jwks_uri or "",
        "token_endpoint_auth_signing_alg": info.token_endpoint_auth_signing_alg or "",
        "require_signed_request_object": info.require_signed_request_object,
        "request_object_signing_alg": info.request_object_signing_alg or "",
        "security_profile": info.security_profile or "",
    }


def submitted_values(form: AdminForm) -> dict[str, Any]:
    """What the admin typed, to show again beside an error."""
    values = blank_values()
    for name in values:
        if isinstance(values[name], bool):
            values[name] = form.is_checked(name)
        elif isinstance(values[name], list):
            values[name] = list(form.values(name))
        else:
            values[name] = form.text(name, limit=65536)
    values["scopes"] = [*values["scopes"], *form.text("extra_scopes").split()]
    return values


def _seconds(form: AdminForm, name: str) -> int:
    """A lifetime field: blank means the server default (0 for the service)."""
    raw = form.text(name)
    if not raw:
        return 0
    if not raw.isdigit():
        raise AccountError("Lifetimes are whole numbers of seconds, or blank for the server default", field=name)
    return int(raw)


def changes_from(form: AdminForm) -> ClientChanges:
    client_type = "public" if form.text("client_type") == "public" else "confidential"
    method = form.text("token_endpoint_auth_method")
    # A public client never has a secret; a confidential one picks how it sends it.
    auth_method = AUTH_NONE if client_type == "public" else (method if method in SECRET_METHODS else AUTH_BASIC)
    try:
        extra = parse_scope(form.text("extra_scopes")) if form.text("extra_scopes") else ()
    except OAuthError as exc:
        raise AccountError(exc.description, field="scopes") from None
    return ClientChanges(
        app_name=form.text("app_name", limit=140),
        client_type=client_type,
        token_endpoint_auth_method=auth_method,
        redirect_uris=form.uri_lines("redirect_uris"),
        default_redirect_uri=form.text("default_redirect_uri") or None,
        post_logout_redirect_uris=form.uri_lines("post_logout_redirect_uris"),
        # Blank unsets it: the field always shows the current one.
        backchannel_logout_uri=form.text("backchannel_logout_uri"),
        backchannel_logout_session_required=form.is_checked("backchannel_logout_session_required"),
        scopes=tuple(dict.fromkeys((*form.values("scopes"), *extra))),
        grant_types=form.values("grant_types"),
        response_types=form.values("response_types"),
        allowed_roles=form.values("allowed_roles"),
        skip_authorization=form.is_checked("skip_authorization"),
        require_pkce=form.is_checked("require_pkce"),
        allow_plain_pkce=form.is_checked("allow_plain_pkce"),
        require_pushed_authorization_requests=form.is_checked("require_pushed_authorization_requests"),
        subject_type=form.text("subject_type") or "public",
        # Blank unsets it: the field always shows the current one.
        sector_identifier_uri=form.text("sector_identifier_uri"),
        dpop_bound_access_tokens=form.is_checked("dpop_bound_access_tokens"),
        # Blank: the server's default format.
        access_token_format=form.text("access_token_format"),
        is_frappe_legacy=form.is_checked("is_frappe_legacy"),
        is_resource_server=form.is_checked("is_resource_server"),
        id_token_signed_response_alg=form.text("id_token_signed_response_alg") or "RS256",
        access_token_ttl_seconds=_seconds(form, "access_token_ttl_seconds"),
        refresh_token_ttl_seconds=_seconds(form, "refresh_token_ttl_seconds"),
        service_user_email=form.text("service_user_email", limit=254).lower(),
        client_uri=form.text("client_uri"),
        logo_uri=form.text("logo_uri"),
        jwks=_jwks(form),
        jwks_uri=form.text("jwks_uri") or None,
        token_endpoint_auth_signing_alg=form.text("token_endpoint_auth_signing_alg") or None,
        require_signed_request_object=form.is_checked("require_signed_request_object"),
        request_object_signing_alg=form.text("request_object_signing_alg"),
        security_profile=form.text("security_profile"),
    )


def _jwks(form: AdminForm) -> dict[str, Any] | None:
    """The pasted JWK Set; blank keeps the one the client has."""
    raw = form.text("jwks", limit=65536)
    if not raw:
        return None
    try:
        jwks = json.loads(raw)
    except ValueError:
        raise AccountError('The JWKS is not JSON: paste the JWK Set, {"keys": [...]}', field="jwks") from None
    if not isinstance(jwks, dict):
        raise AccountError('The JWKS must be a JWK Set: {"keys": [...]}', field="jwks")
    return jwks
