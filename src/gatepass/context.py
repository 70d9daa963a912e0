"""The application context: every service of one Gatepass, built once in app.py from one Settings.

The web pages, the OAuth endpoints, the document API and the CLI all reach their services through this one
object (``context_of(request)`` on a request), so a service has one name wherever it is used.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

from gatepass.cache.rate_limit import RateLimiter
from gatepass.config import IPNetwork, RateLimitSettings, Settings
from gatepass.rp import CheckLine, RelyingParty
from gatepass.services.accounts import AccountService
from gatepass.services.api_keys import ApiKeyService
from gatepass.services.audit import Audit
from gatepass.services.authorize import AuthorizeService
from gatepass.services.backchannel_logout import BackchannelLogout
from gatepass.services.browser_sessions import BrowserSessions
from gatepass.services.clients import ClientService
from gatepass.services.cors import CorsPolicy
from gatepass.services.crypto import InstanceKeys
from gatepass.services.doctypes import DocTypeService
from gatepass.services.documents import DocumentService
from gatepass.services.introspect import IntrospectionService
from gatepass.services.keys import KeyService
from gatepass.services.mail import Outbox
from gatepass.services.mail_links import MailLinks
from gatepass.services.oauth.access_tokens import AccessTokenVerifier
from gatepass.services.oauth.device import DeviceAuthorizationEndpoint, DeviceVerification
from gatepass.services.oauth.dpop import DpopVerifier
from gatepass.services.oauth.exchange_policies import ExchangePolicyService
from gatepass.services.oauth.par import PushedAuthorizationEndpoint
from gatepass.services.oauth.token_endpoint import TokenEndpoint
from gatepass.services.oidc import OidcService
from gatepass.services.passkeys import PasskeyService
from gatepass.services.providers import ProviderService
from gatepass.services.registration import RegistrationService
from gatepass.services.revoke import RevocationService
from gatepass.services.runtime import RuntimeSettingsService
from gatepass.services.second_factors import SecondFactorService
from gatepass.services.security_notices import SecurityNotices
from gatepass.services.social_login import SocialLoginService


class Upkeep(Protocol):
    """What keeps the deployment healthy rather than answering a user: schema, readiness, clean-up, shutdown."""

    async def migrate(self) -> None:
        """Bring the database schema to the newest revision."""

    async def has_newest_schema(self) -> bool:
        """Whether the database schema is at the newest revision (read only)."""
        ...

    async def check_ready(self) -> dict[str, str]:
        """Each dependency ("database", "redis") and "ok" or why it is not."""
        ...

    async def purge(self) -> int:
        """Delete expired and revoked codes, tokens, sessions and login attempts; the number of rows deleted."""
        ...

    async def listen_for_changes(self) -> None:
        """Hear other nodes' writes (Redis, or PostgreSQL's LISTEN) until cancelled; returns at once without a feed."""

    @property
    def has_change_feed(self) -> bool:
        """Whether this worker tells other nodes of its writes (and must not answer before it has)."""
        ...

    def has_pending_notices(self) -> bool:
        """Whether this request's writes still have to be told to the other workers."""
        ...

    async def send_pending_notices(self) -> None:
        """Tell the other workers of this worker's writes, before the answer leaves (read-your-writes)."""

    async def close(self) -> None:
        """Release the database pool and the Redis connections."""


@dataclass(frozen=True)
class Gatepass:
    """Every service, by the name it is used under everywhere."""

    settings: Settings
    keys: InstanceKeys
    accounts: AccountService
    #: Mail sent after the answer; notices of security events; reset and verification links.
    outbox: Outbox
    notices: SecurityNotices
    mail_links: MailLinks
    browser_sessions: BrowserSessions
    clients: ClientService
    authorize: AuthorizeService
    token_endpoint: TokenEndpoint
    #: RFC 9449: DPoP proofs, the server's nonces and the replay check, for the token endpoint and the resources.
    dpop: DpopVerifier
    pushed_authorization: PushedAuthorizationEndpoint
    device_authorization: DeviceAuthorizationEndpoint
    device_verification: DeviceVerification
    access_tokens: AccessTokenVerifier
    revocation: RevocationService
    introspection: IntrospectionService
    oidc: OidcService
    registration: RegistrationService
    signing_keys: KeyService
    runtime: RuntimeSettingsService
    audit: Audit
    documents: DocumentService
    doctypes: DocTypeService
    api_keys: ApiKeyService
    social: SocialLoginService
    #: The authenticator app and recovery codes of each user, and who must have them.
    second_factors: SecondFactorService
    #: Each user's passkeys (WebAuthn), their ceremonies and logins with them.
    passkeys: PasskeyService
    relying_party: RelyingParty
    rate_limiter: RateLimiter
    cors: CorsPolicy
    upkeep: Upkeep
    backchannel_logout: BackchannelLogout
    exchange_policies: ExchangePolicyService

    @property
    def issuer(self) -> str:
        return self.settings.server.issuer

    @property
    def is_https(self) -> bool:
        return self.settings.is_https

    @property
    def session_cookie(self) -> str:
        # __Host- binds the cookie to this exact origin over https (no Domain, Path=/).
        return "__Host-gp_session" if self.is_https else "gp_session"

    @property
    def csrf_cookie(self) -> str:
        return "__Host-gp_csrf" if self.is_https else "gp_csrf"

    @property
    def document_api_resource(self) -> str:
        return self.settings.document_api_resource

    @property
    def rate_limits(self) -> RateLimitSettings:
        return self.settings.rate_limits

    @property
    def trusted_proxies(self) -> tuple[IPNetwork, ...]:
        """Reverse proxies whose X-Forwarded-For / Forwarded headers name the client (server.trusted_proxies)."""
        return self.settings.server.trusted_proxy_networks

    @property
    def metrics_networks(self) -> tuple[IPNetwork, ...]:
        """Who may read /metrics besides loopback (server.metrics_allowed_addresses)."""
        return self.settings.server.metrics_networks

    @property
    def providers(self) -> ProviderService:
        """Login providers ("Log in with …")."""
        return self.social.providers

    @property
    def check_provider(self) -> Callable[[str], Awaitable[list[CheckLine]]]:
        """The test `gatepass provider check NAME` runs against a login provider."""
        return self.relying_party.check

    @property
    def check_ready(self) -> Callable[[], Awaitable[dict[str, str]]]:
        return self.upkeep.check_ready

    @property
    def purge(self) -> Callable[[], Awaitable[int]]:
        return self.upkeep.purge


def context_of(request: Request) -> Gatepass:
    """The application context of the app serving this request."""
    context: Gatepass = request.app.state.gatepass
    return context
