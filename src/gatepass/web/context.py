"""What every endpoint reaches through ``request.app.state``: the services, built in app.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request

from gatepass.cache.rate_limit import RateLimiter
from gatepass.config import IPNetwork, RateLimitSettings
from gatepass.rp import RelyingParty
from gatepass.services.accounts import AccountService
from gatepass.services.authorize import AuthorizeService
from gatepass.services.clients import ClientService
from gatepass.services.cors import CorsPolicy
from gatepass.services.crypto import InstanceKeys
from gatepass.services.doctypes import DocTypeService
from gatepass.services.introspect import IntrospectionService
from gatepass.services.keys import KeyService
from gatepass.services.oidc import OidcService
from gatepass.services.registration import RegistrationService
from gatepass.services.revoke import RevocationService
from gatepass.services.runtime import RuntimeSettingsService
from gatepass.services.social_login import SocialLoginService
from gatepass.services.stores import SessionRecord, UserRecord
from gatepass.services.token import TokenService
from gatepass.web.forwarded import client_address


@dataclass(frozen=True)
class WebContext:
    issuer: str
    is_https: bool
    keys: InstanceKeys
    accounts: AccountService
    clients: ClientService
    authorize: AuthorizeService
    tokens: TokenService
    revocation: RevocationService
    introspection: IntrospectionService
    runtime: RuntimeSettingsService
    signing_keys: KeyService
    rate_limiter: RateLimiter
    registration: RegistrationService
    document_api_resource: str
    cors: CorsPolicy
    rate_limits: RateLimitSettings
    oidc: OidcService
    #: Document types and scopes: the consent screen describes document scopes (issue 5).
    doctypes: DocTypeService
    check_ready: Callable[[], Awaitable[dict[str, str]]]
    #: Logging in through other providers (issue 7).
    social: SocialLoginService
    relying_party: RelyingParty
    #: Reverse proxies whose X-Forwarded-For / Forwarded headers name the client (server.trusted_proxies).
    trusted_proxies: tuple[IPNetwork, ...] = ()
    #: Who may read /metrics besides loopback (server.metrics_allowed_addresses).
    metrics_networks: tuple[IPNetwork, ...] = ()

    @property
    def session_cookie(self) -> str:
        # __Host- binds the cookie to this exact origin over https (no Domain, Path=/).
        return "__Host-gp_session" if self.is_https else "gp_session"

    @property
    def csrf_cookie(self) -> str:
        return "__Host-gp_csrf" if self.is_https else "gp_csrf"


def web(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


async def current_session(request: Request) -> tuple[SessionRecord, UserRecord] | None:
    """The login session of this browser, loaded once per request."""
    if "gatepass.session" not in request.scope:
        context = web(request)
        request.scope["gatepass.session"] = await context.accounts.get_session(
            request.cookies.get(context.session_cookie)
        )
    found: tuple[SessionRecord, UserRecord] | None = request.scope["gatepass.session"]
    return found


def client_ip(request: Request) -> str | None:
    """The client's address, as every rate limit, lockout and audit record counts it.

    The connecting peer, unless it is a trusted proxy: then the address it forwarded the request for.
    """
    if "gatepass.client_ip" not in request.scope:
        peer = request.client.host if request.client else None
        request.scope["gatepass.client_ip"] = client_address(peer, request.headers, web(request).trusted_proxies)
    found: str | None = request.scope["gatepass.client_ip"]
    return found
