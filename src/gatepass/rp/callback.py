"""The callback: the provider's answer, the code exchange, and the checked profile.

RFC 6749 §4.1.2 (the authorization response, incl. §4.1.2.1 errors), §4.1.3-4.1.4 (the token
request, here with the RFC 7636 code_verifier), OIDC Core §3.1.3 (token response, id_token).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from gatepass.rp.errors import AccessDenied, ClientSecretRejected, ProviderRefused
from gatepass.rp.providers import ProviderEndpoints, unreachable
from gatepass.services.stores import ProviderConfig

if TYPE_CHECKING:
    from gatepass.rp.client import AsyncOAuth2Client

#: Token endpoint errors that mean "wrong client credentials" (GitHub answers with its own code).
SECRET_ERRORS = ("invalid_client", "incorrect_client_credentials")


def check_authorization_response(config: ProviderConfig, params: Mapping[str, str]) -> str:
    """The code, or the provider's error (RFC 6749 §4.1.2.1) as a page-ready exception."""
    error = params.get("error")
    if error:
        description = params.get("error_description", "")
        said = f"{error}" + (f": {description}" if description else "")
        if error == "access_denied":
            raise AccessDenied(
                f"{config.display_name} answered {said}.",
                fix="Go back to the login page and try again, allowing access at the provider.",
            )
        raise ProviderRefused(
            f"{config.display_name} refused the login: {said}.",
            fix=f"An administrator can run `gatepass provider check {config.name}` to find the cause.",
        )
    code = params.get("code")
    if not code:
        raise ProviderRefused(
            f"{config.display_name} sent the browser back without an authorization code.",
            fix="Go back to the login page and start again.",
        )
    return code


def check_response_issuer(config: ProviderConfig, endpoints: ProviderEndpoints, params: Mapping[str, str]) -> None:
    """RFC 9207 §2.4: an iss in the authorization response must be this provider's (mix-up defence)."""
    issuer = params.get("iss")
    if issuer is not None and issuer != endpoints.issuer:
        raise ProviderRefused(
            f"The login response names the issuer {issuer}, but {config.display_name} is {endpoints.issuer}.",
            fix="Go back to the login page and start again; if it happens every time, check the provider's issuer.",
        )


def secret_rejected(config: ProviderConfig, said: str) -> ClientSecretRejected:
    on_gatepass = (
        f" On a Gatepass provider, `gatepass client rotate-secret {config.client_id}` prints a new one."
        if config.preset == "gatepass"
        else ""
    )
    return ClientSecretRejected(
        f"{config.display_name}'s token endpoint rejected this server's client credentials ({said}).",
        fix=f"Copy the client secret of {config.client_id} from the provider again and store it here: "
        f"gatepass provider update {config.name} --client-secret-stdin.{on_gatepass}",
    )


async def exchange_code(
    config: ProviderConfig, endpoints: ProviderEndpoints, http: AsyncOAuth2Client, code: str, code_verifier: str
) -> dict[str, Any]:
    """The token response; Authlib authenticates the client and raises on OAuth errors."""
    from gatepass.rp.client import AuthlibOAuthError  # with the client that raises it, when a provider is used

    try:
        token = await http.fetch_token(
            endpoints.token_endpoint, grant_type="authorization_code", code=code, code_verifier=code_verifier
        )
    except AuthlibOAuthError as exc:
        said = f"{exc.error}" + (f": {exc.description}" if exc.description else "")
        if exc.error in SECRET_ERRORS:
            raise secret_rejected(config, said) from None
        raise ProviderRefused(
            f"{config.display_name}'s token endpoint refused the authorization code ({said}).",
            fix="Go back to the login page and start again; if it happens every time, an administrator can run "
            f"`gatepass provider check {config.name}`.",
        ) from None
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code == 401:
            raise secret_rejected(config, "HTTP 401") from None
        raise ProviderRefused(
            f"{config.display_name}'s token endpoint answered HTTP {exc.response.status_code} without an OAuth error.",
            fix="The provider may be failing; try again later or ask its administrator.",
        ) from None
    except httpx.HTTPError as exc:
        raise unreachable(config, endpoints.token_endpoint, exc) from None
    if not isinstance(token.get("access_token"), str):
        raise ProviderRefused(
            f"{config.display_name}'s token endpoint answered without an access_token.",
            fix="Report this to the provider's administrator.",
        )
    return dict(token)
