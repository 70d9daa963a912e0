"""Shared fixtures: one Gatepass server per database backend, a headless Chromium, CI rules.

Session fixtures are per pytest-xdist worker (pyproject.toml runs two): each worker starts the
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

import pytest

from support.backends import BACKENDS, IS_CI, require
from support.server import LiveServer, private_server

CHROMIUM = os.environ.get("GATEPASS_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent.parent / "var" / "test-artifacts"


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


@pytest.fixture
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., LiveServer]]:
    """Start a private Gatepass with extra settings: start_server("sqlite", GATEPASS_TOKENS_...="60")."""
    with contextlib.ExitStack() as started:

        def start(backend: str = "sqlite", **extra_env: str) -> LiveServer:
            var_dir = tmp_path_factory.mktemp(f"gatepass-{backend}")
            return started.enter_context(private_server(backend, var_dir, extra_env))

        yield start


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
