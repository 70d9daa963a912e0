"""Who the provider says the user is: id_token claims, the userinfo endpoint, or GitHub's API.

Userinfo: OpenID Connect Core 1.0 §5.3 (its sub MUST equal the id_token's, §5.3.2).
GitHub: https://docs.github.com/en/rest/users/users and /user/emails (OAuth 2 without OpenID Connect).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from gatepass.rp.errors import ProfileInvalid
from gatepass.rp.providers import ProviderEndpoints, unreachable
from gatepass.services.social_login import ExternalProfile
from gatepass.services.stores import ProviderConfig

if TYPE_CHECKING:
    # Authlib is imported when a provider is used, not by every worker at start.
    from gatepass.rp.client import AsyncOAuth2Client

GITHUB_EMAILS = "https://api.github.com/user/emails"
_FIX = "Report this to the provider's administrator, with the time of the attempt."


def _text(claims: Mapping[str, Any], key: str, limit: int = 140) -> str:
    value = claims.get(key)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _is_true(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _roles(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list):
        return tuple(str(item) for item in value if isinstance(item, str | int))
    return None


def profile_from_claims(claims: Mapping[str, Any], subject: str) -> ExternalProfile:
    first, last = _text(claims, "given_name"), _text(claims, "family_name")
    if not first and not last:
        first, _, last = _text(claims, "name", 280).partition(" ")
    email = _text(claims, "email", 254) or None
    picture = _text(claims, "picture", 1024) or _text(claims, "avatar_url", 1024) or None
    return ExternalProfile(
        subject=subject,
        email=email.lower() if email else None,
        is_email_verified=_is_true(claims.get("email_verified")),
        first_name=first[:140],
        last_name=last[:140],
        picture_url=picture if picture and picture.startswith("https://") else None,
        roles=_roles(claims.get("roles")),
        upstream_amr=claims.get("amr"),
    )


async def _get_json(config: ProviderConfig, http: AsyncOAuth2Client, url: str) -> Any:
    try:
        response = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise unreachable(config, url, exc) from None
    if response.status_code != 200:
        raise ProfileInvalid(f"{url} answered HTTP {response.status_code} to this server's access token.", fix=_FIX)
    try:
        return response.json()
    except ValueError:
        raise ProfileInvalid(f"{url} did not answer with JSON.", fix=_FIX) from None


async def fetch_userinfo(
    config: ProviderConfig, endpoints: ProviderEndpoints, http: AsyncOAuth2Client, subject: str
) -> dict[str, Any]:
    """Claims from the userinfo endpoint, only after checking they are about the same subject."""
    if endpoints.userinfo_endpoint is None:
        return {}
    claims = await _get_json(config, http, endpoints.userinfo_endpoint)
    if not isinstance(claims, dict):
        raise ProfileInvalid(f"{endpoints.userinfo_endpoint} did not answer with a JSON object.", fix=_FIX)
    # OIDC Core §5.3.2: the userinfo sub MUST be verified to match the id_token's.
    if claims.get("sub") is not None and str(claims.get("sub")) != subject:
        raise ProfileInvalid("The userinfo endpoint described another user than the id_token.", fix=_FIX)
    return claims


async def github_profile(
    config: ProviderConfig, endpoints: ProviderEndpoints, http: AsyncOAuth2Client
) -> ExternalProfile:
    """GitHub: the numeric id is the subject; the email is the primary verified one from /user/emails."""
    assert endpoints.userinfo_endpoint is not None
    user = await _get_json(config, http, endpoints.userinfo_endpoint)
    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
        raise ProfileInvalid("GitHub's /user answer has no numeric id.", fix=_FIX)
    emails = await _get_json(config, http, GITHUB_EMAILS)
    chosen = None
    if isinstance(emails, list):
        verified = [e for e in emails if isinstance(e, dict) and e.get("verified") is True and e.get("email")]
        chosen = next((e for e in verified if e.get("primary") is True), verified[0] if verified else None)
    claims: dict[str, Any] = {
        "name": user.get("name") or user.get("login") or "",
        "avatar_url": user.get("avatar_url"),
        "email": chosen["email"] if chosen else user.get("email"),
        "email_verified": chosen is not None,
    }
    return profile_from_claims(claims, str(user["id"]))
