"""Claims about a user, chosen by scope (OIDC Core §5.4), plus Frappe's role list."""

from __future__ import annotations

from typing import Any

from gatepass.services.stores import UserRecord


def user_claims(user: UserRecord, issuer: str, scopes: frozenset[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": user.sub}
    if "profile" in scopes:
        claims.update(name=user.full_name, given_name=user.first_name, family_name=user.last_name)
        if user.picture_url:
            picture = user.picture_url
            # Frappe makes relative picture paths absolute with the server URL.
            claims["picture"] = issuer + picture if picture.startswith("/") else picture
    if "email" in scopes:
        claims.update(email=user.email, email_verified=user.is_email_verified)
    if "roles" in scopes:
        claims["roles"] = list(user.roles)
    return claims
