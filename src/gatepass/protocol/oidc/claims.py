"""Which claims about the user each scope releases: OpenID Connect Core §5.4, plus Frappe's role list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


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
