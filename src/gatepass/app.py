"""The composition root: engine, stores, services, routes and middleware, wired once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from gatepass import metrics
from gatepass.cache.change_feed import RedisChangeFeed
from gatepass.cache.rate_limit import InProcessRateLimiter, RateLimiter, RedisRateLimiter
from gatepass.cache.reads import ChangeStamp, ReadCache
from gatepass.config import Settings, load_instance_secret
from gatepass.context import Gatepass
from gatepass.db.audit import SqlAuditStore
from gatepass.db.base import Database
from gatepass.db.client_assertions import SqlClientAssertionStore
from gatepass.db.clients import SqlClientStore
from gatepass.db.consents import SqlConsentStore
from gatepass.db.device_authorizations import SqlDeviceAuthorizationStore
from gatepass.db.doctypes import SqlDocTypeStore
from gatepass.db.documents import SqlDocumentStore
from gatepass.db.driver import create_driver_pool
from gatepass.db.engine import announce_changes, create_engine, create_sqlite_reader, create_sqlite_writer
from gatepass.db.errors import DATABASE_FAULTS, is_statement_fault
from gatepass.db.pushed_requests import SqlPushedRequestStore
from gatepass.db.registration import SqlRegistrationStore
from gatepass.db.revoked_access_tokens import SqlRevokedAccessTokenStore
from gatepass.db.runtime_settings import SqlSettingsStore
from gatepass.db.signing_keys import SqlSigningKeyStore
from gatepass.db.social import SqlExternalIdentityStore, SqlLoginAttemptStore, SqlProviderStore
from gatepass.db.tokens import SqlCodeStore, SqlTokenStore
from gatepass.db.upkeep import SqlUpkeep
from gatepass.db.users import SqlSessionStore, SqlUserStore
from gatepass.resource.errors import answer_unusable_input
from gatepass.resource.routes import build_resource_routes
from gatepass.rp import RelyingParty
from gatepass.services.accounts import AccountService, LockoutPolicy
from gatepass.services.api_keys import ApiKeyService
from gatepass.services.audit import Audit
from gatepass.services.authorize import AuthorizeService
from gatepass.services.clients import ClientService
from gatepass.services.cors import CorsPolicy
from gatepass.services.crypto import InstanceKeys, Passwords
from gatepass.services.doctypes import DocTypeService
from gatepass.services.documents import DocumentService
from gatepass.services.introspect import IntrospectionService
from gatepass.services.keys import KeyService
from gatepass.services.oauth.access_tokens import AccessTokenVerifier
from gatepass.services.oauth.client_auth import ClientAuthenticator
from gatepass.services.oauth.client_keys import ClientKeys
from gatepass.services.oauth.device import DeviceAuthorizationEndpoint, DeviceVerification
from gatepass.services.oauth.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    DeviceCodeGrant,
    RefreshTokenGrant,
)
from gatepass.services.oauth.implicit import ImplicitIssuer
from gatepass.services.oauth.issuance import TokenIssuer
from gatepass.services.oauth.jwt_access_tokens import JwtAccessTokens
from gatepass.services.oauth.par import PushedAuthorizationEndpoint
from gatepass.services.oauth.token_endpoint import TokenEndpoint
from gatepass.services.oidc import IdTokenService, OidcService
from gatepass.services.pending_request import PendingRequests
from gatepass.services.providers import UNVERIFIED_EMAIL_RISK, ProviderService
from gatepass.services.registration import RegistrationService
from gatepass.services.revoke import RevocationService
from gatepass.services.runtime import RuntimeSettingsService
from gatepass.services.sign_out import SignOutEverywhere
from gatepass.services.social_login import SocialLoginService
from gatepass.web.cors import CorsMiddleware
from gatepass.web.errors import client_disconnected, service_unavailable, unhandled_error, unusable_input
from gatepass.web.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    ErrorBoundaryMiddleware,
    NoticesBeforeAnswerMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
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


def _read_cache(settings: Settings, database: Database) -> tuple[ReadCache, RedisChangeFeed | None]:
    """The per-worker read cache (cache/reads.py), told of every write to the rows it holds."""
    if not settings.is_read_cache_on:
        return ReadCache(None, max_age_seconds=0), None
    feed = RedisChangeFeed(settings.redis.url) if settings.redis.url else None
    cache = ReadCache(
        ChangeStamp(settings.var_path.resolve() / "run" / "changes"),
        max_age_seconds=settings.database.read_cache_seconds,
        is_trustworthy=(lambda: feed.is_listening) if feed is not None else (lambda: True),
    )

    def changed(groups: frozenset[str]) -> None:
        cache.changed(groups)
        if feed is not None:
            feed.publish()

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
    client_service = ClientService(clients, users, keys, audit, clock, grants=tokens)
    key_service = KeyService(
        SqlSigningKeyStore(database, read_cache), keys, clock, id_token_ttl_seconds=settings.tokens.id_token_ttl_seconds
    )
    id_tokens = IdTokenService(
        issuer=issuer,
        keys=key_service,
        clients=client_service,
        clock=clock,
        ttl_seconds=settings.tokens.id_token_ttl_seconds,
    )
    client_assertions = SqlClientAssertionStore(database)
    client_auth = ClientAuthenticator(
        clients,
        keys,
        issuer=issuer,
        assertions=client_assertions,
        client_keys=ClientKeys(),
        clock=clock,
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
        clock=clock,
    )
    access_tokens = AccessTokenVerifier(
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
    token_endpoint = TokenEndpoint(
        clients=client_auth,
        grants=(
            AuthorizationCodeGrant(
                issuer=token_issuer, codes=codes, tokens=tokens, users=users, audit_log=audit, clock=clock
            ),
            RefreshTokenGrant(issuer=token_issuer, tokens=tokens, users=users, audit_log=audit, clock=clock),
            ClientCredentialsGrant(issuer=token_issuer, users=users, known_resources=settings.known_resources),
            DeviceCodeGrant(issuer=token_issuer, store=device_authorizations, users=users, clock=clock),
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
        revoke_all_of=SignOutEverywhere(tokens, login_sessions, consents, clock),
        passwords=Passwords(
            memory_kib=settings.security.password_hash_memory_kib,
            time_cost=settings.security.password_hash_time_cost,
            parallelism=settings.security.password_hash_parallelism,
        ),
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
        pending=PendingRequests(pushed=pushed_requests, keys=keys, clock=clock),
        on_error=lambda code: metrics.OAUTH_ERRORS.labels(code).inc(),
        known_resources=settings.known_resources,
        is_par_required_for_every_client=settings.security.require_pushed_authorization_requests,
    )
    return Gatepass(
        settings=settings,
        keys=keys,
        accounts=accounts,
        clients=client_service,
        token_endpoint=token_endpoint,
        access_tokens=access_tokens,
        authorize=authorize,
        pushed_authorization=PushedAuthorizationEndpoint(
            clients=client_auth,
            authorize=authorize,
            store=pushed_requests,
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
            clients=clients, store=device_authorizations, digest=client_auth.digest, audit_log=audit, clock=clock
        ),
        revocation=RevocationService(client_auth, tokens, consents, audit, clock, jwt_access_tokens=jwt_access_tokens),
        introspection=IntrospectionService(
            issuer=issuer,
            client_auth=client_auth,
            store=tokens,
            clients=clients,
            users=users,
            clock=clock,
            jwt_access_tokens=jwt_access_tokens,
        ),
        oidc=OidcService(
            issuer=issuer,
            access_tokens=access_tokens,
            users=users,
            clients=client_service,
            keys=key_service,
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
            revoked_access_tokens=revoked_access_tokens,
            rate_limiter=rate_limiter,
            read_cache=read_cache,
            change_feed=change_feed,
            clock=clock,
        ),
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
        background: list[asyncio.Task[None]] = []
        if settings.security.purge_interval_seconds:
            background.append(asyncio.create_task(_purge_forever(gatepass, settings.security.purge_interval_seconds)))
        background.append(asyncio.create_task(gatepass.upkeep.listen_for_changes()))
        background.append(asyncio.create_task(_write_last_use_forever(gatepass.access_tokens)))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            with contextlib.suppress(Exception):  # a database already gone at shutdown loses only "last used"
                await gatepass.access_tokens.flush_last_use()
            await gatepass.upkeep.close()

    # The request id is set first, so every line logged for the request carries it, the access log's
    # included; the error boundary sits inside the security headers, so a 500 carries them too; text no
    # value may hold is refused before any endpoint reads the path or query.
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(AccessLogMiddleware),
        Middleware(SecurityHeadersMiddleware),
        Middleware(ErrorBoundaryMiddleware),
        Middleware(UnusableInputMiddleware, answer=answer_unusable_input(otherwise=unusable_input)),
        Middleware(BodyLimitMiddleware),
        Middleware(CorsMiddleware),
    ]
    if settings.is_read_cache_on and settings.redis.url:
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
            # Exception's handler only answers what escapes ErrorBoundaryMiddleware (a fault in the headers' own layer).
            Exception: unhandled_error,
            **dict.fromkeys(DATABASE_FAULTS, database_error),
            ClientDisconnect: client_disconnected,
        },
        lifespan=lifespan,
    )
    app.state.gatepass = gatepass
    return app
