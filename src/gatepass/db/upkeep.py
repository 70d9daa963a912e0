"""The deployment's own chores on the database: schema, readiness, purge, change notices, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from gatepass.cache.change_feed import ChangeFeed
from gatepass.cache.rate_limit import RateLimiter, RedisRateLimiter
from gatepass.cache.reads import ReadCache
from gatepass.db.backchannel_logout import SqlBackchannelLogoutStore
from gatepass.db.client_assertions import SqlClientAssertionStore
from gatepass.db.device_authorizations import SqlDeviceAuthorizationStore
from gatepass.db.dpop_proofs import SqlDpopProofStore
from gatepass.db.driver import DriverConnections
from gatepass.db.mail_links import SqlMailLinkStore
from gatepass.db.migrate import is_at_head, upgrade_to_head
from gatepass.db.passkeys import SqlPasskeyStore
from gatepass.db.pushed_requests import SqlPushedRequestStore
from gatepass.db.revoked_access_tokens import SqlRevokedAccessTokenStore
from gatepass.db.social import SqlLoginAttemptStore
from gatepass.db.sqlite_writer import SqliteWriter
from gatepass.db.tokens import SqlTokenStore
from gatepass.db.users import SqlSessionStore
from gatepass.services.accounts import FAILURES_REMEMBERED


class SqlUpkeep:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        sqlite_writer: SqliteWriter | None = None,
        driver_pool: DriverConnections | None = None,
        tokens: SqlTokenStore,
        sessions: SqlSessionStore,
        login_attempts: SqlLoginAttemptStore,
        pushed_requests: SqlPushedRequestStore,
        device_authorizations: SqlDeviceAuthorizationStore,
        client_assertions: SqlClientAssertionStore,
        dpop_proofs: SqlDpopProofStore,
        mail_links: SqlMailLinkStore,
        passkeys: SqlPasskeyStore,
        logout_sessions: SqlBackchannelLogoutStore,
        revoked_access_tokens: SqlRevokedAccessTokenStore,
        rate_limiter: RateLimiter,
        read_cache: ReadCache,
        change_feed: ChangeFeed | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._engine = engine
        self._sqlite_writer = sqlite_writer
        self._driver_pool = driver_pool
        self._tokens = tokens
        self._sessions = sessions
        self._login_attempts = login_attempts
        self._pushed_requests = pushed_requests
        self._device_authorizations = device_authorizations
        self._client_assertions = client_assertions
        self._dpop_proofs = dpop_proofs
        self._mail_links = mail_links
        self._passkeys = passkeys
        self._logout_sessions = logout_sessions
        self._revoked_access_tokens = revoked_access_tokens
        self._rate_limiter = rate_limiter
        self._read_cache = read_cache
        self._change_feed = change_feed
        self._clock = clock

    async def migrate(self) -> None:
        await upgrade_to_head(self._engine)

    async def has_newest_schema(self) -> bool:
        return await is_at_head(self._engine)

    async def check_ready(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            async with self._engine.connect() as connection:
                await asyncio.wait_for(connection.execute(text("SELECT 1")), timeout=3)
            checks["database"] = "ok"
        except (DBAPIError, OSError, TimeoutError) as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        if isinstance(self._rate_limiter, RedisRateLimiter):
            checks["redis"] = await self._rate_limiter.ping()
        return checks

    async def purge(self) -> int:
        now = self._clock()
        return (
            await self._tokens.purge_expired(now)
            + await self._sessions.purge_expired(now)
            + await self._login_attempts.purge_attempts(now)
            + await self._pushed_requests.purge_expired(now)
            + await self._device_authorizations.purge_expired(now)
            + await self._client_assertions.purge_expired(now)
            + await self._dpop_proofs.purge_expired(now)
            + await self._mail_links.purge_expired(now)
            + await self._passkeys.purge_expired(now)
            + await self._logout_sessions.purge_expired(now)
            + await self._revoked_access_tokens.purge_expired(now)
            + await self._sessions.purge_throttles(now - FAILURES_REMEMBERED, now)
        )

    async def listen_for_changes(self) -> None:
        if self._change_feed is not None:
            await self._change_feed.listen(self._read_cache.heard_of_change)

    @property
    def has_change_feed(self) -> bool:
        """Whether this worker tells other nodes of its writes (and must not answer before it has)."""
        return self._change_feed is not None

    def has_pending_notices(self) -> bool:
        return self._change_feed is not None and self._change_feed.has_pending

    async def send_pending_notices(self) -> None:
        if self._change_feed is not None:
            await self._change_feed.flush()

    async def close(self) -> None:
        if self._change_feed is not None:
            await self._change_feed.close()
        if isinstance(self._rate_limiter, RedisRateLimiter):
            await self._rate_limiter.close()
        if self._sqlite_writer is not None:
            # Its last writes commit before the process goes: a token answered is a token stored.
            await asyncio.to_thread(self._sqlite_writer.close)
        if self._driver_pool is not None:
            await self._driver_pool.close()
        await self._engine.dispose()
