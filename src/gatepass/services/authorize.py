"""The authorization endpoint's use case: from a request and a login session to a decision.

The steps, in order (each raises or returns):
0. a pushed request's request_uri (RFC 9126 §4) used up, once, for the parameters pushed with it, or a
   request object's signature and claims checked for the parameters it carries (RFC 9101; errors shown
   on a page);
1. the client and redirect URI (errors shown on a page, never redirected);
2. the rest of the request; PAR where the client or the server requires it; a signed request object
   where the client requires one; the rules of the client's security profile (errors redirected to the
   client);
3. the login session (login page, or ``login_required`` for prompt=none);
   with a second factor when acr_values or an essential acr claim asks for one (step-up);
4. the client's allowed roles (``access_denied``);
5. consent (page, or ``consent_required`` for prompt=none, or skipped);
6. the code (or, for legacy implicit clients, the tokens) sent back to the client, and the client
   marked as having completed an authorization.

An error from step 2 on is redirected only where ``is_redirectable`` allows it (RFC 9700 §4.11.2);
otherwise it is raised as ``AuthorizationErrorShown``, for a page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from gatepass.protocol import fapi2_security_profile
from gatepass.protocol.errors import AccessDenied, InvalidRedirectUri, InvalidRequest, OAuthError
from gatepass.protocol.oauth_response_modes import uses_fragment
from gatepass.protocol.oidc.authentication_context import needs_second_factor
from gatepass.protocol.oidc.prompt import Login, consent_needed, login_step
from gatepass.protocol.params import format_scope
from gatepass.protocol.rfc6749.authorization import (
    build_authorization_redirect,
    check_client_and_redirect,
    is_redirectable,
    validate_authorization_request,
)
from gatepass.protocol.rfc8707_resource import check_resource
from gatepass.protocol.rfc9126_par import is_par_required
from gatepass.protocol.rfc9207_issuer import with_issuer
from gatepass.protocol.tokens import new_token, token_digest
from gatepass.protocol.values import AuthorizationRequest, ClientInfo, RedirectTarget
from gatepass.services import audit
from gatepass.services.crypto import InstanceKeys
from gatepass.services.oauth.implicit import ImplicitIssuer
from gatepass.services.pending_request import PendingRequest, PendingRequests
from gatepass.services.runtime import RuntimeSettingsService
from gatepass.services.stores import (
    ClientRecord,
    ClientStore,
    CodeStore,
    ConsentStore,
    NewCode,
    SessionRecord,
    UserRecord,
)


@dataclass(frozen=True)
class NeedsSecondFactor:
    """The user is logged in, but the request asks for a second factor this login did not have (step-up)."""


@dataclass(frozen=True)
class NeedsLogin:
    #: Prompt values satisfied by logging in now, to drop from the request on return.
    is_forced: bool


@dataclass(frozen=True)
class NeedsConsent:
    client: ClientInfo
    request: AuthorizationRequest
    user: UserRecord
    #: Scopes already granted earlier, to show which ones are new.
    granted_before: tuple[str, ...]


@dataclass(frozen=True)
class Redirect:
    url: str


class AuthorizationRedirectError(Exception):
    """An OAuthError that must go back to the client's verified redirect URI."""

    def __init__(self, error: Exception, url: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.url = url


class AuthorizationErrorShown(Exception):
    """An OAuthError about a verified request that must not go to the client: show it on a page."""

    def __init__(self, error: OAuthError, client: ClientInfo, redirect_uri: str) -> None:
        super().__init__(error.description)
        self.error = error
        self.client = client
        self.redirect_uri = redirect_uri


class LogoutSessions(Protocol):
    async def join(self, login: SessionRecord, client: ClientInfo) -> str: ...


class AuthorizeService:
    def __init__(
        self,
        *,
        issuer: str,
        clients: ClientStore,
        codes: CodeStore,
        consents: ConsentStore,
        runtime: RuntimeSettingsService,
        implicit: ImplicitIssuer,
        keys: InstanceKeys,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
        code_ttl_seconds: int,
        pending: PendingRequests,
        logout_sessions: LogoutSessions,
        on_error: Callable[[str], None] = lambda code: None,
        known_resources: tuple[str, ...] = (),
        is_par_required_for_every_client: bool = False,
    ) -> None:
        self._pending = pending
        self._logout_sessions = logout_sessions
        self._is_par_required_for_every_client = is_par_required_for_every_client
        self._on_error = on_error
        self._known_resources = known_resources
        self._issuer = issuer
        self._clients = clients
        self._codes = codes
        self._consents = consents
        self._runtime = runtime
        self._implicit = implicit
        self._keys = keys
        self._audit = audit_log
        self._clock = clock
        self._code_ttl = timedelta(seconds=code_ttl_seconds)

    def error_redirect(self, target: RedirectTarget, error: Exception) -> str:
        """RFC 6749 §4.1.2.1 error response, with iss (RFC 9207)."""
        assert isinstance(error, OAuthError)
        self._on_error(error.error)
        params = with_issuer({"error": error.error, "error_description": error.description}, self._issuer)
        if target.state is not None:
            params["state"] = target.state
        return build_authorization_redirect(target.redirect_uri, params, use_fragment=target.use_fragment)

    def _refusal(self, client: ClientInfo, target: RedirectTarget, error: OAuthError) -> Exception:
        """What to raise for ``error``: a redirect to the client, or a page (RFC 9700 §4.11.2)."""
        if is_redirectable(error, client):
            return AuthorizationRedirectError(error, self.error_redirect(target, error))
        self._on_error(error.error)
        return AuthorizationErrorShown(error, client, target.redirect_uri)

    async def resolve(self, params: Mapping[str, str]) -> PendingRequest:
        """Step 0: the parameters to act on, a pushed request's once its request_uri is used (RFC 9126 §4).
        Its errors are OAuthErrors for a page: the redirect URI is among the parameters it stood for."""
        return await self._pending.resolve(params)

    def after_login(self, pending: PendingRequest, *, is_forced: bool) -> Mapping[str, str]:
        """What the browser carries back from the login page; after a forced login, without what the login
        just satisfied (asking again would loop)."""
        return self._pending.after_login(pending, is_forced=is_forced)

    def validate_request(
        self, params: Mapping[str, str], client: ClientInfo, redirect_uri: str
    ) -> AuthorizationRequest:
        """Step 2's rules, whether the request came to the authorization endpoint or was pushed (RFC 9126 §2.1)."""
        request = validate_authorization_request(params, client, redirect_uri)
        return dataclasses.replace(request, resource=check_resource(request.resource, self._known_resources))

    def check_pushed_request(self, params: Mapping[str, str], client: ClientInfo) -> AuthorizationRequest:
        """Steps 1 and 2 for a push from ``client``, authenticated already: every error raised as it is, for
        the JSON answer of RFC 9126 §2.3."""
        try:
            client, redirect_uri = check_client_and_redirect(params, client)
        except InvalidRedirectUri as error:
            # RFC 9126 §2.3: where RFC 6749 defines no code (a bad redirect URI), invalid_request.
            raise InvalidRequest(error.description, detail=error.detail) from None
        return self.validate_request(params, client, redirect_uri)

    async def load_request(self, pending: PendingRequest) -> tuple[ClientRecord, AuthorizationRequest]:
        """Steps 1 and 2. Step-1 errors propagate as OAuthError; step-2 errors as AuthorizationRedirectError
        or AuthorizationErrorShown."""
        params = pending.params
        client_id = params.get("client_id")
        record = await self._clients.get_client(client_id) if client_id else None
        client, redirect_uri = check_client_and_redirect(params, record.info if record else None)
        assert record is not None
        try:
            if not pending.is_pushed and is_par_required(
                client, is_required_for_every_client=self._is_par_required_for_every_client
            ):
                # RFC 9126 §4: the policy may make PAR the only way in; the redirect URI matched, so it may be told.
                raise InvalidRequest(
                    "This client must push its authorization requests to the pushed authorization request "
                    "endpoint, then send only client_id and request_uri here"
                )
            if client.require_signed_request_object and not pending.is_signed:
                # RFC 9101 §10.5: the client registered that its requests are only valid signed.
                raise InvalidRequest(
                    "This client must send its authorization requests as a signed request object (the request "
                    "parameter, here or in a pushed request)"
                )
            request = self.validate_request(params, client, redirect_uri)
            if fapi2_security_profile.is_fapi2(client):
                fapi2_security_profile.check_authorization_request(request)
        except OAuthError as exc:
            # The error goes where the response would have: an unknown response_type errs in the query.
            use_fragment = uses_fragment(params.get("response_type", ""), params.get("response_mode"))
            target = RedirectTarget(redirect_uri, params.get("state"), use_fragment)
            raise self._refusal(client, target, exc) from None
        return record, request

    def _fail(self, client: ClientInfo, request: AuthorizationRequest, error: OAuthError) -> Exception:
        return self._refusal(client, request.target, error)

    async def decide(
        self,
        record: ClientRecord,
        request: AuthorizationRequest,
        session: tuple[SessionRecord, UserRecord] | None,
    ) -> NeedsLogin | NeedsSecondFactor | NeedsConsent | Redirect:
        """Steps 3 to 6 for a validated request."""
        client = record.info
        auth_time = session[0].auth_time if session is not None else None
        try:
            step = login_step(request.prompt, request.max_age, auth_time, self._clock())
        except OAuthError as error:
            raise self._fail(client, request, error) from None
        if session is None or step is not Login.KEEP:
            return NeedsLogin(is_forced=step is Login.FORCE)
        login, user = session
        try:
            if needs_second_factor(
                request.requested_acr, is_essential=request.is_acr_essential, amr=login.amr, prompt=request.prompt
            ):
                return NeedsSecondFactor()
        except OAuthError as error:
            raise self._fail(client, request, error) from None
        if not client.is_allowed_for(user.roles):
            raise self._fail(client, request, AccessDenied("This user has none of the roles this app is allowed for"))
        previous = await self._consents.get_consent(user.id, client.client_id)
        granted_before = previous.scopes if previous else ()
        remembers_consent = client.skip_authorization or await self._runtime.get("consent_mode") == "auto"
        try:
            must_ask = consent_needed(
                request.prompt,
                skip_authorization=client.skip_authorization,
                remembers_consent=remembers_consent,
                requested=request.scopes,
                granted_before=granted_before,
            )
        except OAuthError as error:
            raise self._fail(client, request, error) from None
        if must_ask:
            return NeedsConsent(client, request, user, granted_before)
        return Redirect(await self._respond(record, request, user, login))

    async def approve(
        self,
        record: ClientRecord,
        request: AuthorizationRequest,
        login: SessionRecord,
        user: UserRecord,
        *,
        is_allowed: bool,
        ip: str | None = None,
    ) -> str:
        """The user's answer on the consent page; returns where to send the browser."""
        client = record.info
        if not client.is_allowed_for(user.roles):
            raise self._fail(client, request, AccessDenied("This user has none of the roles this app is allowed for"))
        if not is_allowed:
            await self._audit.record(audit.CONSENT_DENIED, user_id=user.id, client_id=client.client_id, ip=ip)
            raise self._fail(client, request, AccessDenied("The user denied the request"))
        await self._consents.save_consent(user.id, client.client_id, request.scopes, self._clock())
        await self._audit.record(
            audit.CONSENT_GRANTED,
            user_id=user.id,
            client_id=client.client_id,
            ip=ip,
            scope=format_scope(request.scopes),
        )
        return await self._respond(record, request, user, login)

    async def _respond(
        self, record: ClientRecord, request: AuthorizationRequest, user: UserRecord, login: SessionRecord
    ) -> str:
        response: dict[str, str | None] = {}
        # Back-Channel Logout §2.1: the session's id goes into the id_token; a client with a logout URI
        # is remembered as taking part in the session, to be told when it ends.
        sid = await self._logout_sessions.join(login, record.info)
        if request.response_type == "code":
            response["code"] = await self._issue_code(record.info, request, user, login, sid)
        else:
            response.update(await self._implicit.issue_implicit(record, request, user, login.auth_time, sid, login.amr))
        if not record.info.has_completed_authorization:
            # From now on its errors may be redirected (is_redirectable); written once per client.
            await self._clients.mark_completed_authorization(record.info.client_id)
        response["state"] = request.state
        return build_authorization_redirect(
            request.redirect_uri,
            with_issuer({k: v for k, v in response.items() if v is not None}, self._issuer),
            use_fragment=request.target.use_fragment,
        )

    async def _issue_code(
        self, client: ClientInfo, request: AuthorizationRequest, user: UserRecord, login: SessionRecord, sid: str
    ) -> str:
        now = self._clock()
        ttl_seconds = int(self._code_ttl.total_seconds())
        ttl = timedelta(seconds=fapi2_security_profile.code_lifetime_seconds(client, ttl_seconds))
        code = new_token()
        await self._codes.add_code(
            NewCode(
                code_digest=token_digest(self._keys.digest_key, code),
                client_id=request.client_id,
                user_id=user.id,
                redirect_uri=request.redirect_uri,
                redirect_uri_was_sent=request.redirect_uri_was_sent,
                scopes=request.scopes,
                code_challenge=request.code_challenge,
                code_challenge_method=request.code_challenge_method,
                nonce=request.nonce,
                resource=request.resource,
                auth_time=login.auth_time,
                created_at=now,
                expires_at=now + ttl,
                sid=sid,
                amr=login.amr,
                dpop_jkt=request.dpop_jkt,
            )
        )
        return code
