"""A per-worker cache of hot reads (clients, users, access tokens, permissions, keys, settings).

Correctness rests on one rule: every write that could change a cached read announces itself
(db/engine.py watches the statements, so no write path can forget), and every read first checks
whether anything was announced since the cache was filled; if so, the entries it may affect are dropped.

- Workers of one node share 8-byte "change stamps" in a memory-mapped file under var_dir, one per
  group of entries (see GROUPS). A writer stores a new random stamp after its transaction has
  committed; every worker compares the stamp on each read, which costs well under a microsecond.
  So a revocation, a role change or a settings change made by any worker (or by the CLI on that
  node) is seen by every worker on its next request, as strictly as when every read went to the
  database.
- Other nodes hear of a change through Redis pub/sub or PostgreSQL's LISTEN/NOTIFY (change_feed.py),
  naming the groups it changed; a node ignores its own notices (its stamp told its workers already).
  While that subscription is down, the cache is bypassed, since notices could be missed.
- ``max_age_seconds`` bounds how long any entry is trusted, whatever happens to the notices.

A group's entries are dropped wholesale when changes arrive or the cache is full: a refill costs one
query per key, and writes are rare next to reads, so precise invalidation would buy little.
"""

from __future__ import annotations

import mmap
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable
from pathlib import Path
from typing import TypeVar

Value = TypeVar("Value")

#: Entries are grouped by what changes them. Token rows change with every refresh and revocation;
#: the rest (users, roles, clients, permissions, keys, settings) only when an admin or a login
#: changes them. A token change drops the token entries only; any other change drops them all, since
#: deleting a user or a client also deletes their tokens.
RECORDS, TOKENS = "records", "tokens"
GROUPS = (RECORDS, TOKENS)
_SLOT_BYTES = 8


class ChangeStamp:
    """The node-wide stamps, one slot per group: random values, replaced by every write to that group."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        size = _SLOT_BYTES * len(GROUPS)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(descriptor).st_size < size:
                # Two processes may both extend the file: the same size either way, content kept.
                os.ftruncate(descriptor, size)
            self._map = mmap.mmap(descriptor, size)
        finally:
            os.close(descriptor)

    @property
    def node(self) -> str:
        """Who this node is to the other nodes: the processes that share this stamp, and so hear of each
        other's writes through it (a feed's notice from one of them is news to none of them).

        A random name kept beside the stamp (made once, by whichever process comes first), prefixed with the
        host's name, so that two hosts that share one var_dir on a network file system (where a memory map
        is not shared) still count as two nodes."""
        path = self._path.with_name(self._path.name + ".node")
        try:
            chosen = path.read_text().strip()
        except FileNotFoundError:
            draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            draft.write_text(secrets.token_hex(8))
            try:
                os.link(draft, path)  # fails if another process came first: then its name is the node's
            except FileExistsError:
                pass
            finally:
                draft.unlink()
            chosen = path.read_text().strip()
        return f"{socket.gethostname()}/{chosen}"

    def read(self, slot: int) -> bytes:
        # A torn read can only look like a change (a needless refill), never hide one for long.
        return self._map[slot * _SLOT_BYTES : (slot + 1) * _SLOT_BYTES]

    def renew(self, slot: int) -> None:
        self._map[slot * _SLOT_BYTES : (slot + 1) * _SLOT_BYTES] = secrets.token_bytes(_SLOT_BYTES)


class _Group:
    __slots__ = ("entries", "seen", "slot")

    def __init__(self, slot: int) -> None:
        self.slot = slot
        self.entries: dict[Hashable, tuple[float, object]] = {}
        self.seen: tuple[bytes, int] = (b"", -1)


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
        self._groups = {name: _Group(slot) for slot, name in enumerate(GROUPS)}
        #: By group: bumped for each notice from another node that names it, which empties it.
        self._remote_generations = dict.fromkeys(GROUPS, 0)

    @property
    def is_enabled(self) -> bool:
        return self._stamp is not None

    @property
    def node(self) -> str | None:
        """This node's name in change notices (ChangeStamp.node); None when the cache is off."""
        return None if self._stamp is None else self._stamp.node

    def changed(self, groups: Iterable[str]) -> None:
        """A write to these groups committed here: tell this node's workers, this one included."""
        if self._stamp is not None:
            for name in groups:
                self._stamp.renew(self._groups[name].slot)

    def heard_of_change(self, groups: Iterable[str] = GROUPS) -> None:
        """Another node announced a change to these groups (all of them: notices may have been missed): forget
        their entries."""
        for name in groups:
            if name in self._remote_generations:
                self._remote_generations[name] += 1

    def _current(self, name: str) -> _Group | None:
        """The group, emptied if anything changed since it was filled; None when the cache must be bypassed."""
        if self._stamp is None or not self._is_trustworthy():
            return None
        group = self._groups[name]
        seen = (self._stamp.read(group.slot), self._remote_generations[name])
        if seen != group.seen:
            group.entries.clear()
            group.seen = seen
        return group

    async def get(
        self, key: Hashable, load: Callable[[], Awaitable[Value | None]], *, group: str = RECORDS
    ) -> Value | None:
        current = self._current(group)
        if current is None:
            return await load()
        now = time.monotonic()
        hit = current.entries.get(key)
        if hit is not None and now - hit[0] < self._max_age:
            return hit[1]  # type: ignore[return-value]
        loaded_from = current.seen
        value = await load()
        # Store only if nothing changed while loading: the row read may predate that change.
        if value is not None and self._current(group) is current and current.seen == loaded_from:
            if len(current.entries) >= self._max_entries:
                current.entries.clear()
            current.entries[key] = (now, value)
        return value


#: For stores built without a cache (the CLI, tests of a store alone): every read goes to the database.
NO_CACHE = ReadCache(None, max_age_seconds=0)
