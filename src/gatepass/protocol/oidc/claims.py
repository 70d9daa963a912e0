"""Which claims about the user each scope releases: OpenID Connect Core §5.4, plus Frappe's role list."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Protocol

#: Frappe's whole profile: what its openid_profile returns for every token it answers, and what its
#: id_token carries (name, email, picture, roles).
FRAPPE_PROFILE_SCOPES = frozenset({"profile", "email", "roles"})


class Person(Protocol):
    """What the claims are read from (the user record satisfies it)."""

    @property
    def sub(self) -> str: ...
    @property
    def full_name(self) -> str: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...
    @property
    def picture_url(self) -> str | None: ...
    @property
    def email(self) -> str: ...
    @property
    def is_email_verified(self) -> bool: ...
    @property
    def roles(self) -> Sequence[str]: ...


def claims_for_scopes(person: Person, issuer: str, scopes: frozenset[str]) -> dict[str, Any]:
    """``sub`` always; ``profile``: the names and picture; ``email``: the address and whether it was verified;
    ``roles``: the user's roles (Frappe's clients read them)."""
    claims: dict[str, Any] = {"sub": person.sub}
    if "profile" in scopes:
        claims.update(name=person.full_name, given_name=person.first_name, family_name=person.last_name)
        if person.picture_url:
            picture = person.picture_url
            # Frappe makes relative picture paths absolute with the server URL.
            claims["picture"] = issuer + picture if picture.startswith("/") else picture
    if "email" in scopes:
        claims.update(email=person.email, email_verified=person.is_email_verified)
    if "roles" in scopes:
        claims["roles"] = list(person.roles)
    return claims


def frappe_profile_scopes(scopes: Collection[str], *, is_frappe_legacy: bool) -> frozenset[str]:
    """The claim scopes whose claims Frappe's ways of reading the user release for a token with ``scopes``.

    With ``openid``, every client's token reads Frappe's whole profile on openid_profile (and through
    introspection); a Frappe-legacy client's token reads it there whatever its scopes, and its id_token
    carries it, as Frappe's do. The consent screen lists these as well, so that it never says less than
    the app will be able to read.
    """
    return FRAPPE_PROFILE_SCOPES if "openid" in scopes or is_frappe_legacy else frozenset()
