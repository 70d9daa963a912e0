"""The composition root: engine, stores, services, routes and middleware, wired once."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from gatepass import metrics
from gatepass.cache.change_feed import ChangeFeed, PostgresChangeFeed, RedisChangeFeed
from gatepass.cache.rate_limit import InProcessRateLimiter, RateLimiter, RedisRateLimiter
from gatepass.cache.reads import ChangeStamp, ReadCache
from gatepass.config import Settings, load_instance_secret
from gatepass.context import Gatepass
from gatepass.db.audit import SqlAuditStore
from gatepass.db.backchannel_logout import SqlBackchannelLogoutStore
from gatepass.db.base import Database
from gatepass.db.client_assertions import SqlClientAssertionStore
from gatepass.db.clients import SqlClientStore
from gatepass.db.consents import SqlConsentStore
from gatepass.db.device_authorizations import SqlDeviceAuthorizationStore
from gatepass.db.doctypes import SqlDocTypeStore
from gatepass.db.documents import SqlDocumentStore
from gatepass.db.dpop_proofs import SqlDpopProofStore
from gatepass.db.driver import create_driver_pool
from gatepass.db.engine import announce_changes, create_engine, create_sqlite_reader, create_sqlite_writer
from gatepass.db.errors import DATABASE_FAULTS, is_statement_fault
from gatepass.db.mail_links import SqlMailLinkStore
from gatepass.db.passkeys import SqlPasskeyStore
from gatepass.db.pushed_requests import SqlPushedRequestStore
from gatepass.db.registration import SqlRegistrationStore
from gatepass.db.revoked_access_tokens import SqlRevokedAccessTokenStore
from gatepass.db.runtime_settings import SqlSettingsStore
from gatepass.db.second_factors import SqlSecondFactorStore
from gatepass.db.signing_keys import SqlSigningKeyStore
from gatepass.db.social import SqlExternalIdentityStore, SqlLoginAttemptStore, SqlProviderStore
from gatepass.db.token_exchanges import SqlTokenExchangeStore
from gatepass.db.tokens import SqlCodeStore, SqlTokenStore
from gatepass.db.upkeep import SqlUpkeep
from gatepass.db.users import SqlSessionStore, SqlUserStore
from gatepass.mail import transport_for
from gatepass.resource.errors import answer_unusable_input
from gatepass.resource.routes import build_resource_routes
from gatepass.rp import RelyingParty
from gatepass.services.accounts import AccountService, LockoutPolicy
from gatepass.services.api_keys import ApiKeyService
from gatepass.services.audit import Audit
from gatepass.services.authorize import AuthorizeService
from gatepass.services.backchannel_logout import BackchannelLogout, DeliveryPolicy
from gatepass.services.browser_sessions import BrowserSessions
from gatepass.services.clients import ClientService
from gatepass.services.cors import CorsPolicy
from gatepass.services.crypto import InstanceKeys, Passwords, hashing_threads_per_process
from gatepass.services.doctypes import DocTypeService
from gatepass.services.documents import DocumentService
from gatepass.services.introspect import IntrospectionService
from gatepass.services.keys import KeyService
from gatepass.services.mail import Outbox
from gatepass.services.mail_links import MailLinks
from gatepass.services.oauth.access_tokens import AccessTokenVerifier
from gatepass.services.oauth.client_auth import ClientAuthenticator
from gatepass.services.oauth.client_keys import ClientKeys
from gatepass.services.oauth.device import DeviceAuthorizationEndpoint, DeviceVerification
from gatepass.services.oauth.dpop import DpopVerifier
from gatepass.services.oauth.exchange_policies import ExchangePolicyService
from gatepass.services.oauth.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    DeviceCodeGrant,
    RefreshTokenGrant,
    TokenExchangeGrant,
)
from gatepass.services.oauth.implicit import ImplicitIssuer
from gatepass.services.oauth.issuance import TokenIssuer
from gatepass.services.oauth.jwt_access_tokens import JwtAccessTokens
from gatepass.services.oauth.par import PushedAuthorizationEndpoint
from gatepass.services.oauth.request_objects import RequestObjectReader
from gatepass.services.oauth.token_endpoint import TokenEndpoint
from gatepass.services.oidc import IdTokenService, OidcService
from gatepass.services.passkeys import PasskeyService
from gatepass.services.pending_request import PendingRequests
from gatepass.services.providers import UNVERIFIED_EMAIL_RISK, ProviderService
from gatepass.services.registration import RegistrationService
from gatepass.services.revoke import RevocationService
from gatepass.services.runtime import RuntimeSettingsService
from gatepass.services.second_factors import SecondFactorService
from gatepass.services.security_notices import SecurityNotices
from gatepass.services.sign_out import SignOutEverywhere
from gatepass.services.social_login import SocialLoginService
from gatepass.services.subjects import SubjectIdentifiers
from gatepass.web.cors import CorsMiddleware
from gatepass.web.errors import client_disconnected, service_unavailable, unhandled_error, unusable_input
from gatepass.web.middleware import (
    AnswerFrameMiddleware,
    BodyLimitMiddleware,
    NoticesBeforeAnswerMiddleware,
    UnusableInputMiddleware,
)
from gatepass.web.routes import build_web_routes
from gatepass.web.routing import IndexedStarlette

_log = logging.getLogger("gatepass")


def build_routes() -> list[BaseRoute]:
    """The one route table: the resource server's routes, then the authorization server's (ending with /static)."""
    return [*build_resource_routes(), *build_web_routes()]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _change_feed(settings: Settings, database: Database, node: str) -> ChangeFeed | None:
    """How this worker hears of other nodes' writes: Redis when configured, else PostgreSQL itself."""
    if settings.redis.url:
        return RedisChangeFeed(settings.redis.url, origin=node)
    if settings.is_postgresql and settings.database.read_cache == "auto":
        dsn = database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresChangeFeed(dsn, origin=node)
    return None


def _read_cache(settings: Settings, database: Database) -> tuple[ReadCache, ChangeFeed | None]:
    """The per-worker read cache (cache/reads.py), told of every write to the rows it holds."""
    if not settings.is_read_cache_on:
        return ReadCache(None, max_age_seconds=0), None
    stamp = ChangeStamp(settings.var_path.resolve() / "run" / "changes")
    feed = _change_feed(settings, database, stamp.node)
    cache = ReadCache(
        stamp,
        max_age_seconds=settings.database.read_cache_seconds,
        is_trustworthy=(lambda: feed.is_listening) if feed is not None else (lambda: True),
    )

    def changed(groups: frozenset[str]) -> None:
        cache.changed(groups)
        if feed is not None:
            feed.publish(groups)

    # The engine's writes announce themselves; the writes past it (SQLite writer, driver pool) say so.
    announce_changes(database.engine, changed)
    if database.sqlite_writer is not None:
        database.sqlite_writer.on_change = changed
    if database.driver_pool is not None:
        database.driver_pool.on_change = changed
    return cache, feed


def build_gatepass(settings: Settings, clock: Callable[[], datetime] = utc_now) -> Gatepass:
    """Everything built from one Settings; `clock` is the time every service reads (tests move it)."""
    keys = InstanceKeys.from_secret(load_instance_secret(settings))
    subjects = SubjectIdentifiers(keys.pairwise_key)
    engine = create_engine(settings)
    sqlite_writer = create_sqlite_writer(engine)
    hot_statements = create_driver_pool(engine, pool_size=settings.database.pool_size) or create_sqlite_reader(engine)
    database = Database.of(engine, sqlite_writer, hot_statements)
    read_cache, change_feed = _read_cache(settings, database)
    users, login_sessions = SqlUserStore(database, read_cache), SqlSessionStore(database)
    clients, codes = SqlClientStore(database, read_cache), SqlCodeStore(database)
    tokens = SqlTokenStore(database, read_cache)
    consents = SqlConsentStore(database)
    audit = Audit(SqlAuditStore(database), clock, observe=metrics.observe_audit_event)
    runtime = RuntimeSettingsService(SqlSettingsStore(database, read_cache), clock)
    issuer = settings.server.issuer
    outbox = Outbox(transport_for(settings.mail, settings.mail_from))
    notices = SecurityNotices(users, outbox, issuer=issuer)
    client_service = ClientService(clients, users, keys, audit, clock, grants=tokens)
    key_service = KeyService(
        SqlSigningKeyStore(database, read_cache), keys, clock, id_token_ttl_seconds=settings.tokens.id_token_ttl_seconds
    )
    id_tokens = IdTokenService(
        issuer=issuer,
        keys=key_service,
        clients=client_service,
        subjects=subjects,
        clock=clock,
        ttl_seconds=settings.tokens.id_token_ttl_seconds,
    )
    logout_store = SqlBackchannelLogoutStore(database)
    backchannel_logout = BackchannelLogout(
        issuer=issuer,
        store=logout_store,
        clients=client_service,
        users=users,
        signer=id_tokens,
        # The sub each client knows the user by, as in its id_tokens (pairwise or public).
        subject_for=lambda info, user: subjects.subject_for(user.sub, info.pairwise_sector),
        sid_key=keys.digest_key,
        audit_log=audit,
        clock=clock,
        policy=DeliveryPolicy(
            token_ttl_seconds=settings.tokens.backchannel_logout_token_ttl_seconds,
            timeout_seconds=settings.tokens.backchannel_logout_timeout_seconds,
            first_retry_seconds=settings.tokens.backchannel_logout_first_retry_seconds,
            max_attempts=settings.tokens.backchannel_logout_max_attempts,
        ),
    )
    client_assertions = SqlClientAssertionStore(database)
    client_keys = ClientKeys()
    client_auth = ClientAuthenticator(
        clients,
        keys,
        issuer=issuer,
        assertions=client_assertions,
        client_keys=client_keys,
        clock=clock,
    )
    request_objects = RequestObjectReader(
        clients=clients, client_keys=client_keys, keys=keys, issuer=issuer, clock=clock
    )
    revoked_access_tokens = SqlRevokedAccessTokenStore(database, read_cache)
    jwt_access_tokens = JwtAccessTokens(
        issuer=issuer,
        default_audience=settings.document_api_resource,
        default_format=settings.tokens.access_token_format,
        alg=settings.tokens.jwt_access_token_alg,
        signing_keys=key_service,
        digest_key=keys.digest_key,
        revoked=revoked_access_tokens,
        grant_tokens=tokens,
        clients=clients,
        users=users,
        subjects=subjects,
        clock=clock,
    )
    dpop_proofs = SqlDpopProofStore(database)
    dpop = DpopVerifier(
        proofs=dpop_proofs, keys=keys, clock=clock, is_nonce_required=settings.security.require_dpop_nonce
    )
    access_tokens = AccessTokenVerifier(
        dpop=dpop,
        tokens=tokens,
        keys=keys,
        clock=clock,
        api_resource=settings.document_api_resource,
        jwt_access_tokens=jwt_access_tokens,
    )
    token_issuer = TokenIssuer(
        tokens=tokens,
        id_tokens=id_tokens,
        keys=keys,
        audit_log=audit,
        clock=clock,
        access_token_ttl_seconds=settings.tokens.access_token_ttl_seconds,
        refresh_token_ttl_seconds=settings.tokens.refresh_token_ttl_seconds,
        jwt_access_tokens=jwt_access_tokens,
    )
    device_authorizations = SqlDeviceAuthorizationStore(database)
    token_exchanges = SqlTokenExchangeStore(database, read_cache)
    token_endpoint = TokenEndpoint(
        dpop=dpop,
        clients=client_auth,
        grants=(
            AuthorizationCodeGrant(
                issuer=token_issuer, codes=codes, tokens=tokens, users=users, audit_log=audit, clock=clock
            ),
            RefreshTokenGrant(issuer=token_issuer, tokens=tokens, users=users, audit_log=audit, clock=clock),
            ClientCredentialsGrant(issuer=token_issuer, users=users, known_resources=settings.known_resources),
            DeviceCodeGrant(issuer=token_issuer, store=device_authorizations, users=users, clock=clock),
            TokenExchangeGrant(
                issuer=token_issuer,
                issuer_url=issuer,
                exchanges=token_exchanges,
                access_tokens=access_tokens,
                users=users,
                clients=clients,
                keys=key_service,
                audit_log=audit,
                clock=clock,
            ),
        ),
    )
    doctype_store, document_store = SqlDocTypeStore(database, read_cache), SqlDocumentStore(database)
    accounts = AccountService(
        users,
        login_sessions,
        keys,
        audit,
        clock,
        lockout=LockoutPolicy(
            failures_per_source=settings.security.login_failures_before_lockout,
            failures_per_account=settings.security.login_failures_before_account_lockout,
            first_seconds=settings.security.login_lockout_seconds,
            max_seconds=settings.security.login_lockout_max_seconds,
        ),
        session_ttl_seconds=settings.tokens.session_ttl_seconds,
        revoke_all_of=SignOutEverywhere(tokens, login_sessions, consents, clock, backchannel_logout),
        session_ended=backchannel_logout.session_ended,
        passwords=Passwords(
            memory_kib=settings.security.password_hash_memory_kib,
            time_cost=settings.security.password_hash_time_cost,
            parallelism=settings.security.password_hash_parallelism,
            threads=hashing_threads_per_process(settings.server.workers),
        ),
        notices=notices,
    )
    mail_link_store = SqlMailLinkStore(database)
    mail_links = MailLinks(
        users,
        mail_link_store,
        outbox,
        keys.digest_key,
        audit,
        clock,
        issuer=issuer,
        set_password=accounts.set_password_from_reset_link,
        reset_ttl_seconds=settings.mail.password_reset_ttl_seconds,
        verification_ttl_seconds=settings.mail.email_verification_ttl_seconds,
    )
    login_attempts = SqlLoginAttemptStore(database)
    social = SocialLoginService(
        ProviderService(SqlProviderStore(database), users, keys, audit, clock, issuer=issuer),
        SqlExternalIdentityStore(database),
        login_attempts,
        accounts,
        keys,
        audit,
        clock,
    )
    rate_limiter: RateLimiter = RedisRateLimiter(settings.redis.url) if settings.redis.url else InProcessRateLimiter()
    pushed_requests = SqlPushedRequestStore(database)
    authorize = AuthorizeService(
        issuer=issuer,
        clients=clients,
        codes=codes,
        consents=consents,
        runtime=runtime,
        implicit=ImplicitIssuer(issuer=token_issuer, id_tokens=id_tokens),
        keys=keys,
        audit_log=audit,
        clock=clock,
        code_ttl_seconds=settings.tokens.code_ttl_seconds,
        logout_sessions=backchannel_logout,
        pending=PendingRequests(pushed=pushed_requests, request_objects=request_objects, keys=keys, clock=clock),
        on_error=lambda code: metrics.OAUTH_ERRORS.labels(code).inc(),
        known_resources=settings.known_resources,
        is_par_required_for_every_client=settings.security.require_pushed_authorization_requests,
    )
    passkey_store = SqlPasskeyStore(database)
    second_factors = SecondFactorService(
        SqlSecondFactorStore(database), passkey_store, accounts, runtime, keys, audit, clock,
        # What authenticator apps show beside the account: this instance's host.
        issuer_name=urlsplit(issuer).netloc or "Gatepass",
        on_factor_added=lambda user_id: notices.second_factor_added(user_id, "an authenticator app"),
    )  # fmt: skip
    return Gatepass(
        settings=settings,
        keys=keys,
        accounts=accounts,
        second_factors=second_factors,
        passkeys=PasskeyService(
            passkey_store,
            second_factors,
            accounts,
            keys,
            audit,
            clock,
            issuer=issuer,
            # WebAuthn §5.1.2: the relying party is the issuer's host; passkeys are bound to it.
            rp_id=urlsplit(issuer).hostname or "localhost",
            on_passkey_added=lambda user_id: notices.second_factor_added(user_id, "a passkey"),
        ),
        outbox=outbox,
        notices=notices,
        mail_links=mail_links,
        browser_sessions=BrowserSessions(login_sessions, audit, clock, backchannel_logout),
        clients=client_service,
        token_endpoint=token_endpoint,
        dpop=dpop,
        access_tokens=access_tokens,
        authorize=authorize,
        pushed_authorization=PushedAuthorizationEndpoint(
            dpop=dpop,
            clients=client_auth,
            authorize=authorize,
            store=pushed_requests,
            request_objects=request_objects,
            audit_log=audit,
            clock=clock,
            ttl_seconds=settings.tokens.pushed_request_ttl_seconds,
            is_required_for_every_client=settings.security.require_pushed_authorization_requests,
        ),
        device_authorization=DeviceAuthorizationEndpoint(
            issuer=issuer,
            clients=client_auth,
            store=device_authorizations,
            audit_log=audit,
            clock=clock,
            ttl_seconds=settings.tokens.device_code_ttl_seconds,
            interval_seconds=settings.tokens.device_poll_interval_seconds,
            known_resources=settings.known_resources,
        ),
        device_verification=DeviceVerification(
            clients=clients,
            store=device_authorizations,
            digest=client_auth.digest,
            audit_log=audit,
            clock=clock,
            logout_sessions=backchannel_logout,
        ),
        revocation=RevocationService(client_auth, tokens, consents, audit, clock, jwt_access_tokens=jwt_access_tokens),
        introspection=IntrospectionService(
            issuer=issuer,
            client_auth=client_auth,
            store=tokens,
            clients=clients,
            users=users,
            subjects=subjects,
            clock=clock,
            jwt_access_tokens=jwt_access_tokens,
            exchanges=token_exchanges,
        ),
        oidc=OidcService(
            issuer=issuer,
            access_tokens=access_tokens,
            users=users,
            clients=client_service,
            keys=key_service,
            subjects=subjects,
            clock=clock,
        ),
        registration=RegistrationService(
            issuer=issuer,
            clients=client_service,
            client_store=clients,
            store=SqlRegistrationStore(database),
            runtime=runtime,
            keys=keys,
            audit_log=audit,
            clock=clock,
        ),
        signing_keys=key_service,
        runtime=runtime,
        audit=audit,
        documents=DocumentService(doctype_store, document_store, clock),
        doctypes=DocTypeService(doctype_store, document_store, users, audit, clock),
        api_keys=ApiKeyService(users, keys, audit, clock),
        social=social,
        relying_party=RelyingParty(social, clock),
        rate_limiter=rate_limiter,
        cors=CorsPolicy(clients),
        exchange_policies=ExchangePolicyService(token_exchanges, client_service, audit, clock),
        upkeep=SqlUpkeep(
            engine,
            sqlite_writer=sqlite_writer,
            driver_pool=database.driver_pool,
            tokens=tokens,
            sessions=login_sessions,
            login_attempts=login_attempts,
            pushed_requests=pushed_requests,
            device_authorizations=device_authorizations,
            client_assertions=client_assertions,
            dpop_proofs=dpop_proofs,
            mail_links=mail_link_store,
            passkeys=passkey_store,
            logout_sessions=logout_store,
            revoked_access_tokens=revoked_access_tokens,
            rate_limiter=rate_limiter,
            read_cache=read_cache,
            change_feed=change_feed,
            clock=clock,
        ),
        backchannel_logout=backchannel_logout,
    )


async def _purge_forever(gatepass: Gatepass, interval_seconds: int) -> None:
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            purged = await gatepass.purge()
            _log.info("purged %d expired or revoked rows", purged)
        except Exception:  # a failed purge must never stop the server; it runs again later
            _log.exception("purge failed")


#: How often each worker writes the last use of the grants its API calls saw (AccessTokenVerifier.flush_last_use).
LAST_USE_FLUSH_SECONDS = 2.0


async def _write_last_use_forever(access_tokens: AccessTokenVerifier) -> None:
    while True:
        await asyncio.sleep(LAST_USE_FLUSH_SECONDS)
        try:
            await access_tokens.flush_last_use()
        except Exception:  # bookkeeping must never stop the server; the next uses are noted again
            _log.warning("could not write the last use of grants", exc_info=True)


async def _deliver_logouts_forever(logouts: BackchannelLogout, poll_seconds: int) -> None:
    """Every worker delivers the queued logout tokens; claiming a row decides which worker sends it."""
    while True:
        try:
            # A delivery sent means more may be due: look again at once.
            while await logouts.deliver_due() > 0:
                pass
        except Exception:  # delivery must never stop the server; the queue is in the database
            _log.warning("could not deliver logout tokens", exc_info=True)
        await asyncio.sleep(poll_seconds)


async def _warn_about_risky_providers(providers: ProviderService) -> None:
    """A relaxation that is on says so at every start (STYLE §4), like the `allow_*` settings."""
    for config in await providers.list_enabled():
        if config.allow_unverified_email:
            _log.warning(
                "login provider %s (%s) has allow_unverified_email on: %s",
                config.name,
                config.issuer,
                UNVERIFIED_EMAIL_RISK,
            )


async def database_error(request: Request, exc: Exception) -> Response:
    """A lost or unreachable database is a 503 the client may retry; a broken query stays a 500."""
    if is_statement_fault(exc):
        return await unhandled_error(request, exc)
    return service_unavailable(request, exc)


def create_app(settings: Settings, clock: Callable[[], datetime] = utc_now) -> Starlette:
    gatepass = build_gatepass(settings, clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await gatepass.signing_keys.ensure_keys()
        await _warn_about_risky_providers(gatepass.social.providers)
        # Everything made so far lives as long as the worker: out of the collector's sight, a full collection
        # no longer walks it (under load one took 60-100 ms every second or so, every request of the worker
        # waiting: most of the token endpoint's p99).
        gc.collect()
        gc.freeze()
        if settings.mail.is_development:
            _log.info(
                "no mail.smtp_host configured: mails (password reset and verification links, security notices) "
                "are not sent but written to this log, for development only"
            )
        background: list[asyncio.Task[None]] = []
        if settings.security.purge_interval_seconds:
            background.append(asyncio.create_task(_purge_forever(gatepass, settings.security.purge_interval_seconds)))
        background.append(asyncio.create_task(gatepass.upkeep.listen_for_changes()))
        background.append(asyncio.create_task(_write_last_use_forever(gatepass.access_tokens)))
        background.append(
            asyncio.create_task(
                _deliver_logouts_forever(gatepass.backchannel_logout, settings.tokens.backchannel_logout_poll_seconds)
            )
        )
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            with contextlib.suppress(Exception):  # a database already gone at shutdown loses only "last used"
                await gatepass.access_tokens.flush_last_use()
            await gatepass.outbox.drain()
            await gatepass.upkeep.close()

    # The answer's frame first (request id, security headers, the 500 of last resort, the access log), so
    # every answer carries its headers and every line logged for the request its id; text no value may
    # hold is refused before any endpoint reads the path or query.
    middleware = [
        Middleware(AnswerFrameMiddleware),
        Middleware(UnusableInputMiddleware, answer=answer_unusable_input(otherwise=unusable_input)),
        Middleware(BodyLimitMiddleware),
        Middleware(CorsMiddleware),
    ]
    if gatepass.upkeep.has_change_feed:
        upkeep = gatepass.upkeep
        middleware.append(
            Middleware(
                NoticesBeforeAnswerMiddleware, has_pending=upkeep.has_pending_notices, flush=upkeep.send_pending_notices
            )
        )
    app = IndexedStarlette(
        routes=build_routes(),
        middleware=middleware,
        exception_handlers={
            # Exception's handler only answers what escapes AnswerFrameMiddleware (a fault in that layer itself).
            Exception: unhandled_error,
            **dict.fromkeys(DATABASE_FAULTS, database_error),
            ClientDisconnect: client_disconnected,
        },
        lifespan=lifespan,
    )
    app.state.gatepass = gatepass
    return app
