"""RelyingParty: "Log in with …" from start to signed-in user, in the order the steps happen.

start:    provider → endpoints (discovery) → attempt (state, nonce, PKCE) → authorization URL → probe
callback: attempt (state, browser) → provider error? → code exchange → id_token → profile → sign in
check:    what an admin runs after configuring a provider (`gatepass provider check NAME`)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from gatepass.protocol.oidc.authentication_context import federated_amr
from gatepass.protocol.tokens import new_token
from gatepass.rp.callback import check_authorization_response, check_response_issuer, exchange_code
from gatepass.rp.errors import ProfileInvalid
from gatepass.rp.id_token import check_id_token
from gatepass.rp.profile import fetch_userinfo, github_profile, profile_from_claims
from gatepass.rp.providers import ProviderEndpoints, fetch_jwks, resolve_endpoints
from gatepass.rp.start import authorization_url, probe_authorization
from gatepass.services.social_login import (
    ExternalProfile,
    SocialLoginError,
    SocialLoginService,
    StartedAttempt,
)
from gatepass.services.stores import ProviderConfig, UserRecord

if TYPE_CHECKING:
    from gatepass.rp.client import AsyncOAuth2Client


@dataclass(frozen=True)
class CheckLine:
    label: str
    #: True passed, False failed, None could not tell.
    is_ok: bool | None
    text: str


def _auth_method(endpoints: ProviderEndpoints, secret: str | None) -> str:
    if not secret:
        return "none"
    methods = endpoints.token_endpoint_auth_methods
    return (
        "client_secret_post"
        if "client_secret_basic" not in methods and "client_secret_post" in methods
        else ("client_secret_basic")
    )


class RelyingParty:
    def __init__(
        self,
        social: SocialLoginService,
        clock: Callable[[], datetime],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._social = social
        self._providers = social.providers
        self._clock = clock
        self._transport = transport

    def callback_url(self, name: str) -> str:
        return self._providers.callback_url(name)

    def _client(self, config: ProviderConfig) -> AsyncOAuth2Client:
        # Authlib is imported when a provider is first used, not by every worker at start.
        from gatepass.rp.client import new_client

        secret = self._providers.client_secret(config)
        return new_client(
            client_id=config.client_id,
            client_secret=secret,
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
            redirect_uri=self.callback_url(config.name),
            scope=" ".join(config.scopes),
            transport=self._transport,
        )

    async def _endpoints(self, config: ProviderConfig, http: AsyncOAuth2Client) -> ProviderEndpoints:
        endpoints = await resolve_endpoints(config, http)
        http.token_endpoint_auth_method = _auth_method(endpoints, http.client_secret)
        return endpoints

    async def start(self, name: str, *, browser_binding: str, next_url: str) -> str:
        """The provider's authorization URL to send the browser to."""
        config = (await self._social.enabled_provider(name)).config
        async with self._client(config) as http:
            endpoints = await self._endpoints(config, http)
            attempt = await self._social.begin_attempt(config, browser_binding, next_url)
            url = authorization_url(http, endpoints, attempt)
            await probe_authorization(config, http, url, self.callback_url(name))
        return url

    async def finish(
        self, name: str, params: Mapping[str, str], *, browser_binding: str | None, ip: str | None
    ) -> tuple[UserRecord, str, tuple[str, ...]]:
        """The signed-in local user, where to send the browser next, and how the user authenticated (amr)."""
        record = await self._social.enabled_provider(name)
        config = record.config
        # RFC 6749 §10.12: the state is checked first, on error responses too.
        attempt = await self._social.consume_attempt(name, params.get("state"), browser_binding)
        code = check_authorization_response(config, params)
        async with self._client(config) as http:
            endpoints = await self._endpoints(config, http)
            check_response_issuer(config, endpoints, params)
            token = await exchange_code(config, endpoints, http, code, attempt.code_verifier)
            profile = await self._profile(config, endpoints, http, token, attempt.nonce)
        user = await self._social.sign_in(record, profile, ip=ip)
        return user, attempt.next_url, federated_amr(profile.upstream_amr, is_trusted=config.trust_amr)

    async def _profile(
        self,
        config: ProviderConfig,
        endpoints: ProviderEndpoints,
        http: AsyncOAuth2Client,
        token: dict[str, object],
        nonce: str,
    ) -> ExternalProfile:
        if not endpoints.is_openid:
            return await github_profile(config, endpoints, http)
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise ProfileInvalid(
                f"{config.display_name} answered without an id_token, although the openid scope was asked for.",
                fix="Make sure the client at the provider may use the openid scope.",
            )
        access_token = token.get("access_token")
        claims = check_id_token(
            id_token,
            endpoints=endpoints,
            client_id=config.client_id,
            client_secret=http.client_secret,
            public_jwks=await fetch_jwks(config, endpoints, http),
            nonce=nonce,
            access_token=access_token if isinstance(access_token, str) else None,
            now=int(self._clock().timestamp()),
        )
        wants_roles = config.role_sync != "off" and "roles" not in claims
        if endpoints.userinfo_endpoint and ("email" not in claims or wants_roles):
            # The id_token is signed and wins; userinfo only fills in what it lacks.
            claims = {**await fetch_userinfo(config, endpoints, http, claims["sub"]), **claims}
        return profile_from_claims(claims, claims["sub"])

    async def check(self, name: str) -> list[CheckLine]:
        """Discovery, the registered callback URL and the client credentials, each said plainly."""
        record = await self._providers.get(name)
        if record is None:
            return [CheckLine("provider", False, f"no provider is named {name!r}")]
        config = record.config
        callback = self.callback_url(name)
        lines = [CheckLine("callback URL", None, f"{callback}  (register this redirect URI at the provider)")]
        async with self._client(config) as http:
            try:
                endpoints = await self._endpoints(config, http)
            except SocialLoginError as error:
                return [*lines, CheckLine("discovery", False, f"{error.message} Fix: {error.fix}")]
            lines.append(
                CheckLine(
                    "discovery",
                    True,
                    f"issuer {endpoints.issuer}; authorize at "
                    f"{endpoints.authorization_endpoint}; tokens at {endpoints.token_endpoint}",
                )
            )
            attempt = StartedAttempt(new_token(), new_token(), new_token(48))
            try:
                await probe_authorization(config, http, authorization_url(http, endpoints, attempt), callback)
                lines.append(
                    CheckLine(
                        "authorization request",
                        True,
                        "the provider accepts the client id, the callback URL and the scopes",
                    )
                )
            except SocialLoginError as error:
                lines.append(CheckLine("authorization request", False, f"{error.message} Fix: {error.fix}"))
            lines.append(await self._check_secret(config, endpoints, http))
        return lines

    async def _check_secret(
        self, config: ProviderConfig, endpoints: ProviderEndpoints, http: AsyncOAuth2Client
    ) -> CheckLine:
        """A token request with a made-up code: the provider checks the client before the code."""
        try:
            await exchange_code(config, endpoints, http, new_token(), new_token(48))
        except SocialLoginError as error:
            if error.code == "client_secret_rejected":
                return CheckLine("client secret", False, f"{error.message} Fix: {error.fix}")
            if error.code == "provider_refused":
                return CheckLine("client secret", True, "accepted (the made-up test code was refused, as it should be)")
            return CheckLine("client secret", None, error.message)
        return CheckLine("client secret", None, "the provider accepted a made-up code: it does not check codes")
