"""The composition root: engine, stores, services, routes and middleware, wired once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, NotSupportedError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from gatepass import metrics
from gatepass.api.context import ApiContext
from gatepass.cache.change_feed import RedisChangeFeed
from gatepass.cache.rate_limit import InProcessRateLimiter, RateLimiter, RedisRateLimiter
from gatepass.cache.reads import ChangeStamp, ReadCache
from gatepass.config import Settings, load_instance_secret
from gatepass.db.clients import SqlClientStore
from gatepass.db.doctypes import SqlDocTypeStore
from gatepass.db.documents import SqlDocumentStore
from gatepass.db.engine import announce_changes, create_engine, create_session_factory
from gatepass.db.misc import SqlAuditStore, SqlConsentStore, SqlSettingsStore, SqlSigningKeyStore
from gatepass.db.registration import SqlRegistrationStore
from gatepass.db.social import SqlExternalIdentityStore, SqlLoginAttemptStore, SqlProviderStore
from gatepass.db.tokens import SqlCodeStore, SqlTokenStore
from gatepass.db.users import SqlSessionStore, SqlUserStore
from gatepass.rp import RelyingParty
from gatepass.services.accounts import FAILURES_REMEMBERED, AccountService, LockoutPolicy
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
from gatepass.services.oidc import IdTokenService, OidcService
from gatepass.services.providers import UNVERIFIED_EMAIL_RISK, ProviderService
from gatepass.services.registration import RegistrationService
from gatepass.services.revoke import RevocationService
from gatepass.services.runtime import RuntimeSettingsService
from gatepass.services.social_login import SocialLoginService
from gatepass.services.token import TokenService
from gatepass.web.context import WebContext
from gatepass.web.cors import CorsMiddleware
from gatepass.web.errors import client_disconnected, service_unavailable, unhandled_error
from gatepass.web.middleware import (
    BodyLimitMiddleware,
    ErrorBoundaryMiddleware,
    NoticesBeforeAnswerMiddleware,
    SecurityHeadersMiddleware,
    UnusableInputMiddleware,
)
from gatepass.web.pages.admin.context import AdminContext
from gatepass.web.routes import build_routes
from gatepass.web.routing import IndexedRouter

_log = logging.getLogger("gatepass")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Gatepass:
    """Everything built from one Settings: used by the web app and by the CLI alike."""

    settings: Settings
    engine: AsyncEngine
    keys: InstanceKeys
    accounts: AccountService
    clients: ClientService
    tokens: TokenService
    authorize: AuthorizeService
    revocation: RevocationService
    introspection: IntrospectionService
    runtime: RuntimeSettingsService
    audit: Audit
    token_store: SqlTokenStore
    session_store: SqlSessionStore
    keys_service: KeyService
    rate_limiter: RateLimiter
    registration: RegistrationService
    client_store: SqlClientStore
    oidc: OidcService
    documents: DocumentService
    doctypes: DocTypeService
    api_keys: ApiKeyService
    social: SocialLoginService
    relying_party: RelyingParty
    login_attempt_store: SqlLoginAttemptStore
    read_cache: ReadCache
    change_feed: RedisChangeFeed | None

    async def purge(self) -> int:
        now = utc_now()
        return (
            await self.token_store.purge_expired(now)
            + await self.session_store.purge_expired(now)
            + await self.login_attempt_store.purge_attempts(now)
            + await self.session_store.purge_throttles(now - FAILURES_REMEMBERED, now)
        )

    async def check_ready(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            async with self.engine.connect() as connection:
                await asyncio.wait_for(connection.execute(text("SELECT 1")), timeout=3)
            checks["database"] = "ok"
        except (DBAPIError, OSError, TimeoutError) as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        if isinstance(self.rate_limiter, RedisRateLimiter):
            checks["redis"] = await self.rate_limiter.ping()
        return checks

    async def close(self) -> None:
        if self.change_feed is not None:
            await self.change_feed.close()
        if isinstance(self.rate_limiter, RedisRateLimiter):
            await self.rate_limiter.close()
        await self.engine.dispose()


async def _revoke_everything_of(
    tokens: SqlTokenStore, sessions: SqlSessionStore, consents: SqlConsentStore, user_id: int
) -> None:
    """Whoever held the old password (or the disabled account) may have opened sessions and allowed apps:
    end the sessions, revoke every grant, and forget the consents so every app must ask the user again."""
    await tokens.revoke_all_of_user(user_id, utc_now())
    await sessions.delete_sessions_of(user_id)
    await consents.delete_consents_of(user_id)


def _read_cache(settings: Settings, engine: AsyncEngine) -> tuple[ReadCache, RedisChangeFeed | None]:
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

    announce_changes(engine, changed)
    return cache, feed


def build_gatepass(settings: Settings) -> Gatepass:
    keys = InstanceKeys.from_secret(load_instance_secret(settings))
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    read_cache, change_feed = _read_cache(settings, engine)
    clock = utc_now
    users, login_sessions = SqlUserStore(sessions, read_cache), SqlSessionStore(sessions)
    clients, codes = SqlClientStore(sessions, read_cache), SqlCodeStore(sessions)
    tokens = SqlTokenStore(sessions, read_cache)
    consents = SqlConsentStore(sessions)
    audit = Audit(SqlAuditStore(sessions), clock, observe=metrics.observe_audit_event)
    runtime = RuntimeSettingsService(SqlSettingsStore(sessions, read_cache), clock)
    token_service = TokenService(
        clients=clients,
        codes=codes,
        tokens=tokens,
        users=users,
        keys=keys,
        audit_log=audit,
        clock=clock,
        access_token_ttl_seconds=settings.tokens.access_token_ttl_seconds,
        refresh_token_ttl_seconds=settings.tokens.refresh_token_ttl_seconds,
        known_resources=settings.known_resources,
        api_resource=settings.document_api_resource,
    )
    issuer = settings.server.issuer
    client_service = ClientService(clients, users, keys, audit, clock, grants=tokens)
    key_service = KeyService(
        SqlSigningKeyStore(sessions, read_cache), keys, clock, id_token_ttl_seconds=settings.tokens.id_token_ttl_seconds
    )
    token_service.id_tokens = IdTokenService(
        issuer=issuer,
        keys=key_service,
        clients=client_service,
        clock=clock,
        ttl_seconds=settings.tokens.id_token_ttl_seconds,
    )
    doctype_store, document_store = SqlDocTypeStore(sessions, read_cache), SqlDocumentStore(sessions)
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
        revoke_all_of=lambda user_id: _revoke_everything_of(tokens, login_sessions, consents, user_id),
        passwords=Passwords(
            memory_kib=settings.security.password_hash_memory_kib,
            time_cost=settings.security.password_hash_time_cost,
            parallelism=settings.security.password_hash_parallelism,
        ),
    )
    login_attempts = SqlLoginAttemptStore(sessions)
    social = SocialLoginService(
        ProviderService(SqlProviderStore(sessions), users, keys, audit, clock, issuer=issuer),
        SqlExternalIdentityStore(sessions),
        login_attempts,
        accounts,
        keys,
        audit,
        clock,
    )
    return Gatepass(
        settings=settings,
        engine=engine,
        keys=keys,
        accounts=accounts,
        clients=client_service,
        tokens=token_service,
        authorize=AuthorizeService(
            issuer=issuer,
            clients=clients,
            codes=codes,
            consents=consents,
            runtime=runtime,
            tokens=token_service,
            keys=keys,
            audit_log=audit,
            clock=clock,
            code_ttl_seconds=settings.tokens.code_ttl_seconds,
            on_error=lambda code: metrics.OAUTH_ERRORS.labels(code).inc(),
            known_resources=settings.known_resources,
        ),
        revocation=RevocationService(token_service, tokens, consents, audit, clock),
        introspection=IntrospectionService(
            issuer=issuer, tokens=token_service, store=tokens, clients=clients, users=users, clock=clock
        ),
        runtime=runtime,
        audit=audit,
        token_store=tokens,
        session_store=login_sessions,
        keys_service=key_service,
        rate_limiter=RedisRateLimiter(settings.redis.url) if settings.redis.url else InProcessRateLimiter(),
        client_store=clients,
        registration=RegistrationService(
            issuer=issuer,
            clients=client_service,
            client_store=clients,
            store=SqlRegistrationStore(sessions),
            runtime=runtime,
            keys=keys,
            audit_log=audit,
            clock=clock,
        ),
        oidc=OidcService(
            issuer=issuer, tokens=token_service, users=users, clients=client_service, keys=key_service, clock=clock
        ),
        documents=DocumentService(doctype_store, document_store, clock),
        doctypes=DocTypeService(doctype_store, document_store, users, audit, clock),
        api_keys=ApiKeyService(users, keys, audit, clock),
        social=social,
        relying_party=RelyingParty(social, clock),
        login_attempt_store=login_attempts,
        read_cache=read_cache,
        change_feed=change_feed,
    )


async def _purge_forever(gatepass: Gatepass, interval_seconds: int) -> None:
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            purged = await gatepass.purge()
            _log.info("purged %d expired or revoked rows", purged)
        except Exception:  # a failed purge must never stop the server; it runs again later
            _log.exception("purge failed")


#: How often each worker writes the last use of the grants its API calls saw (TokenService.flush_last_use).
LAST_USE_FLUSH_SECONDS = 2.0


async def _write_last_use_forever(tokens: TokenService) -> None:
    while True:
        await asyncio.sleep(LAST_USE_FLUSH_SECONDS)
        try:
            await tokens.flush_last_use()
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


#: SQLSTATE classes that say the statement or its values were wrong, not that the database is gone:
#: 22 data exception (e.g. a NUL in text), 23 integrity constraint violation, 42 syntax or access rule.
_STATEMENT_FAULT_CLASSES = ("22", "23", "42")


def _is_statement_fault(exc: Exception) -> bool:
    if isinstance(exc, (IntegrityError, ProgrammingError, DataError, NotSupportedError)):
        return True
    # The asyncpg adapter raises a bare DBAPIError for most server errors; its SQLSTATE tells them apart.
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_STATEMENT_FAULT_CLASSES)


async def database_error(request: Request, exc: Exception) -> Response:
    """A lost or unreachable database is a 503 the client may retry; a broken query stays a 500."""
    if _is_statement_fault(exc):
        return await unhandled_error(request, exc)
    return service_unavailable(request, exc)


def create_app(settings: Settings) -> Starlette:
    gatepass = build_gatepass(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await gatepass.keys_service.ensure_keys()
        await _warn_about_risky_providers(gatepass.social.providers)
        background: list[asyncio.Task[None]] = []
        if settings.security.purge_interval_seconds:
            background.append(asyncio.create_task(_purge_forever(gatepass, settings.security.purge_interval_seconds)))
        if gatepass.change_feed is not None:
            background.append(asyncio.create_task(gatepass.change_feed.listen(gatepass.read_cache.heard_of_change)))
        background.append(asyncio.create_task(_write_last_use_forever(gatepass.tokens)))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            with contextlib.suppress(Exception):  # a database already gone at shutdown loses only "last used"
                await gatepass.tokens.flush_last_use()
            await gatepass.close()

    # The error boundary sits inside the security headers, so a 500 carries them too; text no value may
    # hold is refused before any endpoint reads the path or query.
    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(ErrorBoundaryMiddleware),
        Middleware(UnusableInputMiddleware),
        Middleware(BodyLimitMiddleware),
        Middleware(CorsMiddleware),
    ]
    feed = gatepass.change_feed
    if feed is not None:
        middleware.append(
            Middleware(NoticesBeforeAnswerMiddleware, has_pending=lambda: feed.has_pending, flush=feed.flush)
        )
    app = Starlette(
        routes=build_routes(),
        middleware=middleware,
        exception_handlers={
            # Exception's handler only answers what escapes ErrorBoundaryMiddleware (a fault in the headers' own layer).
            Exception: unhandled_error,
            DBAPIError: database_error,
            PoolTimeoutError: database_error,
            OSError: database_error,
            ClientDisconnect: client_disconnected,
        },
        lifespan=lifespan,
    )
    app.router = IndexedRouter(app.router.routes, lifespan=lifespan)
    app.state.gatepass = gatepass
    app.state.api = ApiContext(
        issuer=settings.server.issuer,
        tokens=gatepass.tokens,
        api_keys=gatepass.api_keys,
        documents=gatepass.documents,
        doctypes=gatepass.doctypes,
    )
    app.state.admin = AdminContext(
        issuer=settings.server.issuer,
        accounts=gatepass.accounts,
        clients=gatepass.clients,
        revocation=gatepass.revocation,
        runtime=gatepass.runtime,
        audit=gatepass.audit,
        signing_keys=gatepass.keys_service,
        doctypes=gatepass.doctypes,
        api_keys=gatepass.api_keys,
        settings=settings,
        purge=gatepass.purge,
        providers=gatepass.social.providers,
        check_provider=gatepass.relying_party.check,
    )
    app.state.web = WebContext(
        issuer=settings.server.issuer,
        is_https=settings.is_https,
        keys=gatepass.keys,
        accounts=gatepass.accounts,
        clients=gatepass.clients,
        authorize=gatepass.authorize,
        tokens=gatepass.tokens,
        revocation=gatepass.revocation,
        introspection=gatepass.introspection,
        runtime=gatepass.runtime,
        check_ready=gatepass.check_ready,
        signing_keys=gatepass.keys_service,
        oidc=gatepass.oidc,
        doctypes=gatepass.doctypes,
        rate_limiter=gatepass.rate_limiter,
        registration=gatepass.registration,
        document_api_resource=settings.document_api_resource,
        cors=CorsPolicy(gatepass.client_store),
        rate_limits=settings.rate_limits,
        social=gatepass.social,
        relying_party=gatepass.relying_party,
        trusted_proxies=settings.server.trusted_proxy_networks,
        metrics_networks=settings.server.metrics_networks,
    )
    return app
