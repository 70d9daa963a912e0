"""Change notices between nodes, so each node's read caches drop what changed elsewhere.

Within a node the shared stamp of reads.py already tells every worker; a feed carries the same news
to the other nodes: Redis pub/sub when Redis is configured, else PostgreSQL's LISTEN/NOTIFY, which
every node already reaches. Publishing never blocks or fails a request (a lost notice is bounded by
the cache's max age), but while this worker's subscription is down it cannot know what it missed,
so its cache is bypassed until the subscription is back, and then emptied.

A notice names the node it comes from and the groups of cached reads the change touched (reads.py's
GROUPS): a node drops only those, and ignores its own notices, which its shared stamp has already told
its workers. So a refresh on one worker (a token change) leaves the clients, users and keys that every
worker of every node holds where they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from gatepass.cache.reads import GROUPS

_log = logging.getLogger("gatepass.cache")

CHANNEL = "gatepass:changes"
_RETRY_SECONDS = 1.0
#: Between the node and the groups in a notice; neither a host name nor a group has one.
_SEPARATOR = "|"
ALL_GROUPS = frozenset(GROUPS)


def notice(origin: str, groups: Iterable[str]) -> str:
    return origin + _SEPARATOR + ",".join(sorted(groups))


def groups_of(payload: str, own_origin: str) -> frozenset[str]:
    """The groups a notice tells this node to drop: none for its own, all for one it cannot read."""
    origin, _, named = payload.partition(_SEPARATOR)
    if origin == own_origin:
        return frozenset()
    groups = frozenset(named.split(",")) & ALL_GROUPS
    return groups or ALL_GROUPS


class ChangeFeed(Protocol):
    """What the read cache and the upkeep need of a feed, whichever carries it."""

    is_listening: bool

    def publish(self, groups: frozenset[str]) -> None: ...

    @property
    def has_pending(self) -> bool: ...

    async def flush(self) -> None: ...

    async def listen(self, on_notice: Callable[[frozenset[str]], None]) -> None: ...

    async def close(self) -> None: ...


class RedisChangeFeed:
    def __init__(self, url: str, *, origin: str) -> None:
        from redis.asyncio import Redis

        self._redis: Any = Redis.from_url(url, socket_connect_timeout=1, health_check_interval=5)
        self._origin = origin
        self._pending: set[asyncio.Task[None]] = set()
        self.is_listening = False

    def publish(self, groups: frozenset[str]) -> None:
        """Announce a committed change; called from synchronous code, so the send runs as a task."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._send(notice(self._origin, groups)))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    async def flush(self) -> None:
        """Wait until every notice announced so far has been handed to Redis (or has failed)."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def _send(self, payload: str) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError

        # Two tries: a pooled connection Redis closed while idle (its `timeout`) or lost in a restart
        # fails the first PUBLISH on it, and the pool then connects afresh.
        for attempt in (1, 2):
            try:
                await asyncio.wait_for(self._redis.publish(CHANNEL, payload), timeout=1)
                return
            except RedisConnectionError as exc:
                if attempt == 2:
                    _log.warning("could not announce a change to other nodes: %s", type(exc).__name__)
            except Exception as exc:  # notices are best effort between nodes; see the module docstring
                _log.warning("could not announce a change to other nodes: %s", type(exc).__name__)
                return

    async def listen(self, on_notice: Callable[[frozenset[str]], None]) -> None:
        """Run for the worker's life: call on_notice for every change announced by another process."""
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                self.is_listening = True
                # Anything may have changed while we were not listening.
                on_notice(ALL_GROUPS)
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    data = message.get("data")
                    payload = data.decode(errors="replace") if isinstance(data, bytes) else str(data)
                    groups = groups_of(payload, self._origin)
                    if groups:
                        on_notice(groups)
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


#: PostgreSQL's channel names are identifiers: no colon.
PG_CHANNEL = "gatepass_changes"
#: How often a listening worker proves that its subscription still hears notices, and how long it waits
#: for its own probe to come back before it stops trusting its cache.
_PROBE_EVERY_SECONDS = 5.0
_PROBE_WITHIN_SECONDS = 2.0
_PROBE_PREFIX = "probe:"


class PostgresChangeFeed:
    """Notices through PostgreSQL's LISTEN/NOTIFY, for nodes that share one PostgreSQL database and no Redis.

    PostgreSQL queues a notification for every listening session when the NOTIFY commits, before it
    answers, so as with Redis a client told "revoked" cannot then reach a node the notice was not on
    its way to. Each worker listens on a connection of its own and proves every few seconds that the
    subscription works, by hearing a probe it sent through its other connection: a connection lost
    without a word, or a transaction-mode pooler (PgBouncer) that silently drops LISTEN, then turns
    the cache off for that worker instead of leaving it stale.

    Notices carry no data (which rows changed does not matter: see reads.py), so publishes that pile up
    while one is being sent go out as one NOTIFY.
    """

    def __init__(self, dsn: str, *, origin: str, connect_timeout: float = 5.0) -> None:
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._origin = origin
        self._sender: Any = None
        #: The groups changed since the last NOTIFY went out: the next one names them all.
        self._due_groups: set[str] = set()
        self._sending: asyncio.Task[None] | None = None
        self._probes_heard: dict[str, asyncio.Future[None]] = {}
        # One statement at a time on the sending connection: notices and probes share it.
        self._send_lock = asyncio.Lock()
        self.is_listening = False

    def publish(self, groups: frozenset[str]) -> None:
        """Announce a committed change; called from synchronous code, so the send runs as a task."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._due_groups |= groups
        if self._sending is None or self._sending.done():
            self._sending = loop.create_task(self._send_while_due())

    @property
    def has_pending(self) -> bool:
        return bool(self._due_groups) or (self._sending is not None and not self._sending.done())

    async def flush(self) -> None:
        """Wait until every notice announced so far has been handed to PostgreSQL (or has failed)."""
        while self._sending is not None and not self._sending.done():
            await asyncio.gather(self._sending, return_exceptions=True)

    async def _send_while_due(self) -> None:
        while self._due_groups:
            # Taken before the send: a publish during it is due again, since this NOTIFY may predate its commit.
            groups, self._due_groups = self._due_groups, set()
            await self._notify(notice(self._origin, groups))

    async def _notify(self, payload: str) -> None:
        import asyncpg

        # Two tries: an idle connection PostgreSQL closed (a restart, an idle timeout) fails the first.
        async with self._send_lock:
            await self._notify_once_or_twice(asyncpg, payload)

    async def _notify_once_or_twice(self, asyncpg: Any, payload: str) -> None:
        for attempt in (1, 2):
            try:
                if self._sender is None or self._sender.is_closed():
                    self._sender = await asyncpg.connect(self._dsn, timeout=self._connect_timeout)
                await asyncio.wait_for(self._sender.execute("SELECT pg_notify($1, $2)", PG_CHANNEL, payload), 2)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # best effort between nodes; see the module docstring
                self._drop_sender()
                if attempt == 2:
                    _log.warning("could not announce a change to other nodes: %s", type(exc).__name__)

    def _drop_sender(self) -> None:
        if self._sender is not None:
            with contextlib.suppress(Exception):
                self._sender.terminate()
            self._sender = None

    async def listen(self, on_notice: Callable[[frozenset[str]], None]) -> None:
        """Run for the worker's life: call on_notice for every change announced by another process."""
        import asyncpg

        def heard(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
            if payload.startswith(_PROBE_PREFIX):
                waiter = self._probes_heard.pop(payload, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
            else:
                groups = groups_of(payload, self._origin)
                if groups:
                    on_notice(groups)

        while True:
            listener: Any = None
            lost = asyncio.Event()

            def closed(_connection: Any, lost: asyncio.Event = lost) -> None:
                # At once, not at the next probe: notices may already be passing this worker by.
                self.is_listening = False
                lost.set()

            try:
                listener = await asyncpg.connect(self._dsn, timeout=self._connect_timeout)
                listener.add_termination_listener(closed)
                await listener.add_listener(PG_CHANNEL, heard)
                await self._probe()
                self.is_listening = True
                # Anything may have changed while we were not listening.
                on_notice(ALL_GROUPS)
                while True:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), _PROBE_EVERY_SECONDS)
                    if lost.is_set():
                        raise ConnectionError("the listening connection closed")
                    await self._probe()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # PostgreSQL down, restarting or behind a pooler: bypass the cache, retry
                if self.is_listening:
                    _log.warning(
                        "change notices from other nodes stopped (%s); reading from the database", type(exc).__name__
                    )
                else:
                    _log.debug("change notices not heard yet: %s", type(exc).__name__)
            finally:
                self.is_listening = False
                self._probes_heard.clear()
                if listener is not None:
                    with contextlib.suppress(Exception):
                        listener.terminate()
            await asyncio.sleep(_RETRY_SECONDS)

    async def _probe(self) -> None:
        """Send a probe through the sending connection; raise TimeoutError unless the listener hears it."""
        payload = f"{_PROBE_PREFIX}{self._origin}:{secrets.token_hex(4)}"
        heard: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._probes_heard[payload] = heard
        await self._notify(payload)
        await asyncio.wait_for(heard, _PROBE_WITHIN_SECONDS)

    async def close(self) -> None:
        await self.flush()
        if self._sender is not None:
            with contextlib.suppress(Exception):
                await self._sender.close(timeout=self._connect_timeout)
            self._sender = None
