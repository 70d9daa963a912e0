"""Plain-words descriptions of scopes for the consent screen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gatepass.protocol.oidc.claims import frappe_profile_scopes


@dataclass(frozen=True)
class ScopeDescription:
    name: str
    title: str
    description: str
    is_new: bool = True


BUILTIN_SCOPES: dict[str, tuple[str, str]] = {
    "openid": ("Know who you are", "Your account identifier at this organisation, to log you in."),
    "profile": ("See your name and picture", "Your first name, last name, full name and profile picture."),
    "email": ("See your email address", "The email address you log in with."),
    "roles": ("See your roles", "The roles you hold here, such as System Manager."),
    "all": ("Act as you in the document API", "Read and change every document that you yourself may read and change."),
}


def describe_scopes(
    scopes: tuple[str, ...],
    granted_before: tuple[str, ...] = (),
    document_scopes: Mapping[str, tuple[str, str]] | None = None,
) -> list[ScopeDescription]:
    """Title and description per scope: built-in ones, then document scopes as their admin wrote them."""
    known = {**(document_scopes or {}), **BUILTIN_SCOPES}
    described = []
    for scope in scopes:
        title, description = known.get(scope, (f"Use '{scope}'", f"Access named '{scope}' by the app."))
        described.append(ScopeDescription(scope, title, description, is_new=scope not in granted_before))
    return described


def scopes_readable(scopes: tuple[str, ...], *, is_frappe_legacy: bool) -> tuple[str, ...]:
    """The scopes to put before the user: those asked for, and the profile scopes whose claims the app
    can read anyway (Frappe's openid_profile and id_token give the whole profile), right after openid.

    So ``openid all`` reads as Frappe's own consent screen shows openid: name and picture, email,
    roles, each in its own words.
    """
    implied = frappe_profile_scopes(scopes, is_frappe_legacy=is_frappe_legacy) - set(scopes)
    if not implied:
        return scopes
    ordered = tuple(scope for scope in BUILTIN_SCOPES if scope in implied)
    at = scopes.index("openid") + 1 if "openid" in scopes else 0
    return (*scopes[:at], *ordered, *scopes[at:])
