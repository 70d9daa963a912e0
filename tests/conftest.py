"""Shared fixtures: one Gatepass server per database backend, a headless Chromium, CI rules.

Session fixtures are per pytest-xdist worker (pyproject.toml runs three): each worker starts the
servers its tests need, with databases of their own.

SQLite always runs. PostgreSQL and MariaDB run when reachable and are required under CI=true,
where any skipped test fails the run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

# The shared helpers assert too: have pytest explain their failures.
pytest.register_assert_rewrite("support")

from support.backchannel import SSL_CONTEXT, Backchannel  # noqa: E402
from support.backends import BACKENDS, IS_CI, require  # noqa: E402
from support.browser import close_logged_in  # noqa: E402
from support.clock_server import ClockServer, private_clock_server  # noqa: E402
from support.server import OPEN_REGISTRATION, LiveServer, private_server  # noqa: E402

CHROMIUM = os.environ.get("GATEPASS_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent.parent / "var" / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked long_running first: with worksteal they then start at once, beside the short ones,
    instead of landing at the end of a worker's share and running on alone after the rest are done."""
    items.sort(key=lambda item: item.get_closest_marker("long_running") is None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not IS_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            # Under xdist the progress line is not ended yet.
            reporter.write("\n")
            reporter.write_line(f"CI=true: {skipped} test(s) were skipped; CI requires every test to run", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A running Gatepass on each backend, shared by the session: create your own users and clients."""
    with private_server(request.param, tmp_path_factory.mktemp(f"gatepass-{request.param}")) as live:
        yield live


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One SQLite-backed Gatepass for tests whose subject does not depend on the database."""
    with private_server("sqlite", tmp_path_factory.mktemp("gatepass-sqlite")) as live:
        yield live


#: The clock servers' own settings. Clients name their address in X-Forwarded-For (the test process
#: is the trusted proxy, as nginx is in production), and a lockout comes after few failed logins and
#: grows to a short cap, so the lockout tests need few requests; no other test fails a login there.
CLOCK_SERVER_ENV = {
    "GATEPASS_SERVER_TRUSTED_PROXIES": "127.0.0.1",
    "GATEPASS_SECURITY_LOGIN_FAILURES_BEFORE_LOCKOUT": "2",
    "GATEPASS_SECURITY_LOGIN_FAILURES_BEFORE_ACCOUNT_LOCKOUT": "6",
    "GATEPASS_SECURITY_LOGIN_LOCKOUT_MAX_SECONDS": "1000",
}


@pytest.fixture(scope="session", params=BACKENDS)
def clock_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClockServer]:
    """Gatepass on each backend, served from the test process on a clock the tests move forward
    (``clock_server.clock.advance(seconds=...)``), for codes, tokens, sessions and lockouts that run out.

    Shared by the session, and a move is seen by every later test: issue what you test after your
    last move, and keep no logged-in browser from one test to the next (sessions run out too).
    """
    if request.param == "sqlite":
        # One SQLite clock server per worker, whichever fixture asks for it.
        yield request.getfixturevalue("sqlite_clock_server")
        return
    var_dir = tmp_path_factory.mktemp(f"gatepass-clock-{request.param}")
    with private_clock_server(request.param, var_dir, CLOCK_SERVER_ENV) as live:
        yield live


@pytest.fixture(scope="session")
def sqlite_clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClockServer]:
    """clock_server on SQLite only, for tests whose subject does not depend on the database."""
    with private_clock_server("sqlite", tmp_path_factory.mktemp("gatepass-clock-sqlite"), CLOCK_SERVER_ENV) as live:
        yield live


def _open_registration_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with private_server(backend, tmp_path_factory.mktemp(f"gatepass-open-{backend}"), OPEN_REGISTRATION) as live:
        yield live.open_registration()


@pytest.fixture(scope="session", params=BACKENDS)
def open_registration_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A server of its own on each backend where anyone may register a client (RFC 7591), as often as they like."""
    yield from _open_registration_server(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def sqlite_open_registration_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """open_registration_server on SQLite only, for tests whose subject does not depend on the database."""
    yield from _open_registration_server("sqlite", tmp_path_factory)


@pytest.fixture
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., LiveServer]]:
    """Start a private Gatepass with extra settings: start_server("sqlite", GATEPASS_TOKENS_...="60")."""
    with contextlib.ExitStack() as started:

        def start(backend: str = "sqlite", **extra_env: str) -> LiveServer:
            var_dir = tmp_path_factory.mktemp(f"gatepass-{backend}")
            return started.enter_context(private_server(backend, var_dir, extra_env))

        yield start


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client for back-channel calls (absolute URLs), shared by the session."""
    # No keep-alive: a connection idle past the server's keep-alive timeout can be closed by the
    # server just as the next request is sent on it, which fails as a read error unrelated to the test.
    # A new connection per request also lets the kernel spread requests over a server's workers.
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=60, limits=limits, verify=SSL_CONTEXT) as client:
        yield client


@pytest.fixture
def api(server: LiveServer, http: httpx.AsyncClient) -> Backchannel:
    """The back-channel endpoints of each backend's shared server."""
    return Backchannel(http, server)


@pytest.fixture
def sqlite_api(sqlite_server: LiveServer, http: httpx.AsyncClient) -> Backchannel:
    """The back-channel endpoints of the shared SQLite server."""
    return Backchannel(http, sqlite_server)


@pytest.fixture(scope="session", autouse=True)
async def _close_shared_browsers() -> AsyncIterator[None]:
    yield
    await close_logged_in()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """Debian's headless Chromium driven by Playwright (never a downloaded browser)."""
    require(None if shutil.which(CHROMIUM) or Path(CHROMIUM).exists() else f"{CHROMIUM} is not installed")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Any, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A fresh browser context and page; a screenshot of the last page is kept as an artifact."""
    context = await browser.new_context()
    page = await context.new_page()
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        await page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    finally:
        await context.close()
