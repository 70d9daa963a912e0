"""Change notices between nodes over Redis pub/sub, so each node's read caches drop what changed elsewhere.

Within a node the shared stamp of reads.py already tells every worker; this feed carries the same
news to the other nodes. Publishing never blocks or fails a request (a lost notice is bounded by the
cache's max age), but while this worker's subscription is down it cannot know what it missed, so
its cache is bypassed until the subscription is back, and then emptied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

_log = logging.getLogger("gatepass.cache")

CHANNEL = "gatepass:changes"
_RETRY_SECONDS = 1.0


class RedisChangeFeed:
    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis: Any = Redis.from_url(url, socket_connect_timeout=1, health_check_interval=5)
        self._origin = secrets.token_hex(8).encode()
        self._pending: set[asyncio.Task[None]] = set()
        self.is_listening = False

    def publish(self) -> None:
        """Announce a committed change; called from synchronous code, so the send runs as a task."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._send())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    async def flush(self) -> None:
        """Wait until every notice announced so far has been handed to Redis (or has failed)."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def _send(self) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError

        # Two tries: a pooled connection Redis closed while idle (its `timeout`) or lost in a restart
        # fails the first PUBLISH on it, and the pool then connects afresh.
        for attempt in (1, 2):
            try:
                await asyncio.wait_for(self._redis.publish(CHANNEL, self._origin), timeout=1)
                return
            except RedisConnectionError as exc:
                if attempt == 2:
                    _log.warning("could not announce a change to other nodes: %s", type(exc).__name__)
            except Exception as exc:  # notices are best effort between nodes; see the module docstring
                _log.warning("could not announce a change to other nodes: %s", type(exc).__name__)
                return

    async def listen(self, on_notice: Callable[[], None]) -> None:
        """Run for the worker's life: call on_notice for every change announced by another process."""
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                self.is_listening = True
                # Anything may have changed while we were not listening.
                on_notice()
                async for message in pubsub.listen():
                    if message.get("type") == "message" and message.get("data") != self._origin:
                        on_notice()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down or restarting: bypass the cache and try again
                if self.is_listening:
                    _log.warning(
                        "change notices from other nodes stopped (%s); reading from the database", type(exc).__name__
                    )
                self.is_listening = False
            finally:
                self.is_listening = False
                # A broken connection has nothing left to release.
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(_RETRY_SECONDS)

    async def close(self) -> None:
        await self.flush()
        await self._redis.aclose()
