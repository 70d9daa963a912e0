"""Gatepass served from the test process on a clock the test moves: lifetimes run out without waiting.

The real application (``gatepass.app.create_app``) is served by uvicorn on a free port, in a thread
with an event loop of its own, so clients still talk real HTTP to it (httpx, requests, Authlib,
PyJWT work unchanged). Every service reads the time from a ``FakeClock``: a test that needs a code,
token, session or lockout to run out calls ``server.clock.advance(seconds=...)`` instead of sleeping.

The server has the settings, folder and database a subprocess ``LiveServer`` would have, and is one:
``server.cli``, ``create_user``, ``create_client`` and ``provision`` work on it as they do on the
subprocess. The CLI runs in a process of its own and so on the real clock. Tests about the server
process itself (workers, signals, faults, start-up, the CLI) keep the subprocess ``LiveServer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import uvicorn
from starlette.applications import Starlette

from gatepass.app import create_app
from gatepass.config import Settings, load_settings
from gatepass.context import Gatepass
from gatepass.logging import JsonFormatter, RedactingFilter
from support.backends import Database, backend_unavailable_reason, require
from support.server import LiveServer

T = TypeVar("T")

#: How long a server may take to migrate its database and answer /healthz.
START_DEADLINE_SECONDS = 60


class FakeClock:
    """The server's time: the real time plus what the test has added, so time still passes between requests.

    It keeps running rather than standing still because rows are told apart and ordered by when they
    were written (sessions, audit events, last use), as they are in production.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta()

    def __call__(self) -> datetime:
        with self._lock:
            offset = self._offset
        return datetime.now(UTC) + offset

    @property
    def moved_seconds(self) -> float:
        """How far ahead of the real time the clock runs: a relying party on the real time lags it by as much."""
        with self._lock:
            return self._offset.total_seconds()

    def advance(self, *, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0) -> None:
        """Move the time of every service forward; the clock never goes back."""
        step = timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)
        if step < timedelta():
            raise ValueError(f"the clock only moves forward, not by {step}")
        with self._lock:
            self._offset += step


class _ThisThreadOnly(logging.Filter):
    """Keeps the log lines of one server's thread: several servers can run in one test process."""

    def __init__(self, thread_id: int) -> None:
        super().__init__()
        self.thread_id = thread_id

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread_id


@dataclass
class ClockServer(LiveServer):
    """A LiveServer served from this process, whose services read ``clock``."""

    clock: FakeClock = field(default_factory=FakeClock)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _uvicorn: uvicorn.Server | None = field(default=None, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _app: Starlette | None = field(default=None, init=False, repr=False)
    _failure: BaseException | None = field(default=None, init=False, repr=False)

    def start(self) -> ClockServer:
        settings = load_settings(self.env)
        if settings.server.workers != 1:
            raise ValueError("a clock server has one worker: use LiveServer to test several")
        self.log_path.touch()
        # What `gatepass serve` does before it serves: the schema, the built-in roles, the keys, the first admin.
        self.cli("migrate")
        self._app = create_app(settings, clock=self.clock)
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=self.port,
            http="httptools",
            lifespan="on",
            # Leave the test process's logging alone: this server's lines go to its own log file.
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
        )
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name=f"gatepass-{self.port}", daemon=True)
        self._thread.start()
        self._wait_until_healthy()
        return self

    def _serve(self) -> None:
        assert self._uvicorn is not None and self._thread is not None
        handler = logging.FileHandler(self.log_path, encoding="utf-8")
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RedactingFilter())
        handler.addFilter(_ThisThreadOnly(threading.get_ident()))
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            asyncio.run(self._serve_until_told(self._uvicorn))
        except BaseException as exc:  # start() reports it to the test
            self._failure = exc
        finally:
            root.removeHandler(handler)
            handler.close()

    async def _serve_until_told(self, server: uvicorn.Server) -> None:
        self._loop = asyncio.get_running_loop()
        await server.serve()

    def _wait_until_healthy(self) -> None:
        assert self._thread is not None
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        with httpx.Client(timeout=1) as probe:
            while time.monotonic() < deadline:
                if not self._thread.is_alive():
                    raise RuntimeError(f"the in-process server stopped: {self._failure!r}\n{self._log_tail()}")
                if self._uvicorn is not None and self._uvicorn.started:
                    with contextlib.suppress(httpx.HTTPError):
                        if probe.get(f"{self.url}/healthz").status_code == 200:
                            return
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"the in-process server did not start: {self._log_tail()}")

    def _log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
            if self._thread.is_alive() and self._uvicorn is not None:
                self._uvicorn.force_exit = True
                self._thread.join(timeout=15)
        self._thread = self._uvicorn = self._loop = None

    @property
    def settings(self) -> Settings:
        """The settings the app was made with: tests move the clock by the lifetimes they name."""
        return load_settings(self.env)

    @property
    def gatepass(self) -> Gatepass:
        """The services of the running app, for driving what a timer would (see ``run``)."""
        assert self._app is not None, "the server has not started"
        gatepass: Gatepass = self._app.state.gatepass
        return gatepass

    def run(self, job: Callable[[Gatepass], Awaitable[T]], timeout_seconds: float = 30) -> T:
        """Run ``job(services)`` on the server's event loop and return its result.

        For work the server does on a timer (writing the last use of grants, purging): the test does
        it now rather than waiting for the timer. Blocks the calling thread until the job is done.
        """
        assert self._loop is not None, "the server is not running"
        services = self.gatepass

        async def call() -> T:
            return await job(services)

        done: Future[T] = asyncio.run_coroutine_threadsafe(call(), self._loop)
        return done.result(timeout=timeout_seconds)


def start_clock_server(backend: str, var_dir: Path, extra_env: dict[str, str] | None = None) -> ClockServer:
    """A started clock server on a new database of ``backend``; skipped (failed under CI) when the backend is missing."""
    require(backend_unavailable_reason(backend))
    live = ClockServer(backend, var_dir, Database.create(backend, var_dir), extra_env=dict(extra_env or {}))
    try:
        return live.start()
    except BaseException:
        live.database.drop()
        raise


@contextlib.contextmanager
def private_clock_server(backend: str, var_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[ClockServer]:
    """start_clock_server(), then stopped and its database dropped."""
    live = start_clock_server(backend, var_dir, extra_env)
    try:
        yield live
    finally:
        live.stop()
        live.database.drop()
