"""A thread of the process's own that takes work from a queue in batches: the SQLite reader's.

The reader hands its connection's statements to one thread so that the event loop never waits on a
read that has to go to the disk, and takes every item waiting at once so that items arriving together
share one hop. (Writes are different: they are short, all in memory until a commit, and hold the write
turn while they run, so the writer runs them on the event loop itself: db/sqlite_writer.py.) The thread
starts on first use in each process: a forked worker inherits the object but not the thread, and starts
its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")


class BatchingThread(Generic[Item]):
    """Subclasses say what a batch is worth (``_handle``) and what happens when the thread ends (``_finish``)."""

    def __init__(self, *, name: str, max_batch: int, stop_timeout_seconds: float) -> None:
        self._name = name
        self._max_batch = max_batch
        self._stop_timeout_seconds = stop_timeout_seconds
        self._items: queue.SimpleQueue[Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._pid = os.getpid()

    def _submit(self, item: Item) -> None:
        self._ensure_started()
        self._items.put(item)

    def _stop(self) -> None:
        """Finish the items already queued, then stop the thread (a later item starts it again)."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._items.put(None)
            thread.join(timeout=self._stop_timeout_seconds)

    def _ensure_started(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid != os.getpid():
                self._pid, self._thread, self._items = os.getpid(), None, queue.SimpleQueue()
                self._forget_parent()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        try:
            while True:
                first = self._items.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while len(batch) < self._max_batch:
                    try:
                        queued = self._items.get_nowait()
                    except queue.Empty:
                        break
                    if queued is None:
                        stop = True
                        break
                    batch.append(queued)
                self._handle(batch)
                if stop:
                    return
        finally:
            self._finish()

    def _handle(self, batch: list[Item]) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """On the thread, after its last batch: close what it opened."""

    def _forget_parent(self) -> None:
        """In a forked child: drop what the parent's thread had opened (the child opens its own)."""


#: One answer for the event loop: the future, and its value or error.
Answer = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Any, BaseException | None]


def answer_all(answers: Iterable[Answer]) -> None:
    """Settle the futures of a batch with one call into each loop (a worker has one; tests may have more)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
    for loop, future, value, error in answers:
        by_loop.setdefault(loop, []).append((future, value, error))
    for loop, settled in by_loop.items():
        # A loop that closed meanwhile (shutdown) has nobody left to answer.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle_all, settled)


def _settle_all(settled: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, error in settled:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)
