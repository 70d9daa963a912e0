"""A per-worker cache of hot reads (clients, users, access tokens, permissions, keys, settings).

Correctness rests on one rule: every write that could change a cached read announces itself
(db/engine.py watches the statements, so no write path can forget), and every read first checks
whether anything was announced since the cache was filled; if so, the whole cache is dropped.

- Workers of one node share an 8-byte "change stamp" in a memory-mapped file under var_dir. A
  writer stores a new random stamp after its transaction has committed; every worker compares the
  stamp on each read, which costs well under a microsecond. So a revocation, a role change or a
  settings change made by any worker (or by the CLI on that node) is seen by every worker on its
  next request, as strictly as when every read went to the database.
- Other nodes hear of a change through Redis pub/sub (change_feed.py). While that subscription is
  down, the cache is bypassed, since notices could be missed.
- ``max_age_seconds`` bounds how long any entry is trusted, whatever happens to the notices.

Entries are dropped wholesale when changes arrive or the cache is full: a refill costs one query
per key, and writes are rare next to reads, so precise invalidation would buy little.
"""

from __future__ import annotations

import mmap
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Hashable
from pathlib import Path
from typing import TypeVar

Value = TypeVar("Value")

_STAMP_BYTES = 8


class ChangeStamp:
    """The node-wide stamp: a random value, replaced by every write that affects cached reads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(descriptor).st_size < _STAMP_BYTES:
                # Two processes may both extend the file: the same size either way, content kept.
                os.ftruncate(descriptor, _STAMP_BYTES)
            self._map = mmap.mmap(descriptor, _STAMP_BYTES)
        finally:
            os.close(descriptor)

    def read(self) -> bytes:
        # A torn read can only look like a change (a needless refill), never hide one for long.
        return self._map[:_STAMP_BYTES]

    def renew(self) -> None:
        self._map[:_STAMP_BYTES] = secrets.token_bytes(_STAMP_BYTES)


class ReadCache:
    """Cached reads for one worker; ``get`` loads through on a miss and never caches a None."""

    def __init__(
        self,
        stamp: ChangeStamp | None,
        *,
        max_age_seconds: float,
        max_entries: int = 200_000,
        is_trustworthy: Callable[[], bool] = lambda: True,
    ) -> None:
        self._stamp = stamp
        self._max_age = max_age_seconds
        self._max_entries = max_entries
        self._is_trustworthy = is_trustworthy
        self._entries: dict[Hashable, tuple[float, object]] = {}
        self._seen_stamp = stamp.read() if stamp is not None else b""
        self._local_generation = 0
        self._seen_generation = 0

    @property
    def is_enabled(self) -> bool:
        return self._stamp is not None

    def changed(self) -> None:
        """A write committed here: tell this node's workers (the stamp) and forget what this worker holds."""
        if self._stamp is not None:
            self._stamp.renew()
        self._local_generation += 1

    def heard_of_change(self) -> None:
        """Another node announced a change (or notices may have been missed): forget everything."""
        self._local_generation += 1

    def _is_current(self) -> bool:
        """Drop every entry if anything changed since they were loaded; False when the cache must be bypassed."""
        if self._stamp is None or not self._is_trustworthy():
            return False
        stamp = self._stamp.read()
        if stamp != self._seen_stamp or self._local_generation != self._seen_generation:
            self._entries.clear()
            self._seen_stamp, self._seen_generation = stamp, self._local_generation
        return True

    async def get(self, key: Hashable, load: Callable[[], Awaitable[Value | None]]) -> Value | None:
        if not self._is_current():
            return await load()
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self._max_age:
            return hit[1]  # type: ignore[return-value]
        loaded_from = (self._seen_stamp, self._seen_generation)
        value = await load()
        # Store only if nothing changed while loading: the row read may predate that change.
        if value is not None and self._is_current() and loaded_from == (self._seen_stamp, self._seen_generation):
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[key] = (now, value)
        return value


#: For stores built without a cache (the CLI, tests of a store alone): every read goes to the database.
NO_CACHE = ReadCache(None, max_age_seconds=0)
