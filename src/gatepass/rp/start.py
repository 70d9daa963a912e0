"""The authorization request (OIDC Core §3.1.2.1 with RFC 7636 PKCE), and a probe that catches
provider-side misconfiguration before the browser is sent to a dead end.

When the callback URL is not registered upstream, the provider must not redirect back (RFC 6749
§4.1.2.1), so the browser would stay on the provider's error page and this server would never
know. Fetching the authorization URL once, without cookies, shows the same answer the browser
would get: an error page naming invalid_redirect_uri (Gatepass) or redirect_uri_mismatch (Google,
GitHub), an unknown client, or an OAuth error redirected to our callback (invalid_scope …).
Anything else (a login page, a redirect to one) means the request is fine.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx

from gatepass.rp.errors import ClientUnknown, ProviderRefused, RedirectUriNotRegistered
from gatepass.rp.providers import ProviderEndpoints
from gatepass.services.social_login import StartedAttempt
from gatepass.services.stores import ProviderConfig

if TYPE_CHECKING:
    # Authlib is imported when a provider is used, not by every worker at start.
    from gatepass.rp.client import AsyncOAuth2Client

_REDIRECT_URI_ERROR = re.compile(r"invalid_redirect_uri|redirect_uri_mismatch|redirect_uri not registered", re.I)
_CLIENT_ERROR = re.compile(r"\b(invalid_client|deleted_client|unknown client)\b", re.I)
#: Errors that depend on the person at the provider, not on configuration: not an admin's problem.
_PERSONAL_ERRORS = {"access_denied", "login_required", "consent_required", "interaction_required"}
PROBE_TIMEOUT_SECONDS = 5.0


def authorization_url(http: AsyncOAuth2Client, endpoints: ProviderEndpoints, attempt: StartedAttempt) -> str:
    extra = {"nonce": attempt.nonce} if endpoints.is_openid else {}
    url, _ = http.create_authorization_url(
        endpoints.authorization_endpoint, state=attempt.state, code_verifier=attempt.code_verifier, **extra
    )
    return str(url)


def redirect_uri_not_registered(config: ProviderConfig, callback_url: str) -> RedirectUriNotRegistered:
    how = (
        f" On the provider: gatepass client update {config.client_id} --redirect-uri {callback_url} "
        "(repeat --redirect-uri for every URI the client keeps: the list is replaced)."
        if config.preset == "gatepass"
        else ""
    )
    return RedirectUriNotRegistered(
        f"{config.display_name} refuses to send logins back to this server, because its callback URL is not "
        f"registered for the client {config.client_id}.",
        fix=f"Register exactly this redirect URI for the client at {config.display_name}: {callback_url}.{how}",
        callback_url=callback_url,
    )


def client_unknown(config: ProviderConfig) -> ClientUnknown:
    return ClientUnknown(
        f"{config.display_name} does not know the client id {config.client_id!r} (or the client is disabled).",
        fix=f"Copy the client id from the provider again: gatepass provider update {config.name} --client-id ID",
    )


async def probe_authorization(config: ProviderConfig, http: AsyncOAuth2Client, url: str, callback_url: str) -> None:
    """Raise when the provider would show the browser a configuration error; otherwise do nothing."""
    try:
        response = await http.request(
            "GET", url, withhold_token=True, follow_redirects=False, timeout=PROBE_TIMEOUT_SECONDS
        )
    except httpx.HTTPError:
        return  # inconclusive: the browser may reach what this server cannot
    if response.is_redirect:
        location = response.headers.get("location", "")
        query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
        error = query.get("error", "")
        if location.startswith(callback_url):
            if error and error not in _PERSONAL_ERRORS:
                description = query.get("error_description", "")
                raise ProviderRefused(
                    f"{config.display_name} refused the login request: {error}"
                    + (f" ({description})" if description else "")
                    + ".",
                    fix=f"Allow what this server asks for at the provider, or change it here: "
                    f"gatepass provider update {config.name} --scope … (now: {' '.join(config.scopes)}).",
                )
        elif _REDIRECT_URI_ERROR.search(error):
            raise redirect_uri_not_registered(config, callback_url)
        return
    if 400 <= response.status_code < 500:
        body = response.text[:50000]
        if _REDIRECT_URI_ERROR.search(body):
            raise redirect_uri_not_registered(config, callback_url)
        if _CLIENT_ERROR.search(body):
            raise client_unknown(config)
