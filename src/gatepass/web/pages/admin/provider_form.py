"""The login provider form of the admin console: the choices it offers, the values it shows, the changes it sends.

The client secret is never a value: the form shows only whether one is kept, and a blank field on
edit keeps it, so editing a provider never needs its secret again.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from gatepass.services.accounts import AccountError
from gatepass.services.providers import (
    PRESETS,
    ROLE_SYNC_MODES,
    UNVERIFIED_EMAIL_RISK,
    Preset,
    ProviderChanges,
    parse_role_map,
)
from gatepass.services.stores import ProviderConfig
from gatepass.web.pages.admin.context import admin
from gatepass.web.pages.admin.guard import AdminForm

#: What each preset is for, on the first step of "New provider".
PRESET_HINTS = {
    "gatepass": "Another Gatepass server: discovery, RS256 id_tokens and its roles claim.",
    "frappe": "A Frappe site: Frappe's fixed OAuth paths, HS256 id_tokens; its emails are trusted unverified.",
    "google": "Google accounts (the issuer is fixed).",
    "github": "GitHub accounts: OAuth 2 and GitHub's user API (the issuer is fixed).",
    "oidc": "Any OpenID Connect provider with discovery: Keycloak, Authentik, Okta …",
}
#: The fields the form shows, for a message beside the one that is wrong (the service's field names).
FIELDS = ("name", "display_name", "issuer", "client_id", "scopes", "roles", "role_map", "role_sync")


async def choices(request: Request) -> dict[str, Any]:
    return {
        "all_roles": [name for name, _, _ in await admin(request).accounts.list_roles()],
        "role_sync_modes": ROLE_SYNC_MODES,
        "risk": UNVERIFIED_EMAIL_RISK,
    }


def values_of(config: ProviderConfig) -> dict[str, Any]:
    return {
        "name": config.name,
        "preset": config.preset,
        "display_name": config.display_name,
        "issuer": config.issuer,
        "client_id": config.client_id,
        "has_secret": config.client_secret_encrypted is not None,
        "scopes": " ".join(config.scopes),
        "is_enabled": config.is_enabled,
        "allow_signup": config.allow_signup,
        "allow_unverified_email": config.allow_unverified_email,
        "trust_amr": config.trust_amr,
        "default_roles": list(config.default_roles),
        "role_map": "\n".join(f"{remote}={local}" for remote, local in config.role_map),
        "role_sync": config.role_sync,
    }


def submitted_values(form: AdminForm, base: dict[str, Any]) -> dict[str, Any]:
    """What the admin typed, to show again beside an error; never the secret."""
    return {
        **base,
        "display_name": form.text("display_name", limit=200),
        "issuer": base["issuer"] if PRESETS[base["preset"]].issuer else form.text("issuer"),
        "client_id": form.text("client_id", limit=300),
        "scopes": form.text("scopes"),
        "is_enabled": form.is_checked("is_enabled"),
        "allow_signup": form.is_checked("allow_signup"),
        "allow_unverified_email": form.is_checked("allow_unverified_email"),
        "trust_amr": form.is_checked("trust_amr"),
        "default_roles": list(form.values("default_roles")),
        "role_map": form.text("role_map", limit=65536),
        "role_sync": form.text("role_sync"),
    }


def changes_from(form: AdminForm, preset: Preset, *, is_new: bool) -> ProviderChanges:
    secret = form.text("client_secret", limit=4096)
    # Blank keeps the secret (or, on a new provider, means none); only the tick box removes one.
    removes_secret = not is_new and form.is_checked("remove_secret")
    client_id = form.text("client_id", limit=300)
    issuer = None if preset.issuer else form.text("issuer")
    if is_new and not client_id:
        raise AccountError("Give the client id of the client registered for this server at the provider", "client_id")
    if is_new and not issuer and not preset.issuer:
        raise AccountError("Give the issuer URL: the provider's base URL, such as https://id.example.com", "issuer")
    return ProviderChanges(
        display_name=form.text("display_name", limit=200),
        issuer=issuer,
        client_id=client_id,
        client_secret=secret or ("" if removes_secret else None),
        scopes=tuple(dict.fromkeys(form.text("scopes").split())),
        is_enabled=form.is_checked("is_enabled"),
        allow_signup=form.is_checked("allow_signup"),
        allow_unverified_email=form.is_checked("allow_unverified_email"),
        trust_amr=form.is_checked("trust_amr"),
        default_roles=form.values("default_roles"),
        role_map=parse_role_map(form.lines("role_map"), source="The role map line"),
        role_sync=form.text("role_sync"),
    )


def error_context(error: AccountError) -> dict[str, Any]:
    """The message beside its field, with a pointer to it on top; on top alone when no field shows it."""
    if error.field in FIELDS:
        return {
            "error": "Nothing was saved: correct the field marked below.",
            "error_field": error.field,
            "field_error": str(error),
        }
    return {"error": str(error), "error_field": error.field}
