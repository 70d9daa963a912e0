"""Fixtures for the flow tests: users and clients on each server, HTTP clients, and lifetimes that run out.

Users and clients are made once per server (in parallel CLI processes) and shared: a test that
needs a pair of user and client with no history (first consent, say) gets its own in ``world``.
Tests marked ``expiry`` need a lifetime to run out: their server reads a clock the test moves forward
(support/clock_server.py), so no test waits for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from support.backchannel import SSL_CONTEXT, Backchannel
from support.backends import Database
from support.browser import HttpBrowser, code_request
from support.clock_server import ClockServer
from support.pkce import Pkce
from support.provision import World, provision
from support.server import LiveServer

# The helpers assert too: have pytest explain their failures.
pytest.register_assert_rewrite("flows_support")

from flows_support import (  # noqa: E402
    ACCESS_TOKEN_TTL_SECONDS,
    CODE_TTL_SECONDS,
    PrivateWorld,
    make_world,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "expiry: moves the private server's clock past a code or token lifetime")


@pytest.fixture(scope="session")
def world(server: LiveServer) -> World:
    """The core users and clients on each backend's shared server."""
    return make_world(server, extended=False)


@pytest.fixture(scope="session")
def sqlite_world(sqlite_server: LiveServer) -> World:
    """Every user and client of the long-tail tests, on the shared SQLite server."""
    return make_world(sqlite_server, extended=True)


# -- a private server: short lifetimes, consent always asked ---------------------------------


async def _issue_private_grants(world: World) -> PrivateWorld:
    eve, web = world.user("eve"), world.client("web")
    async with HttpBrowser(world.server, eve) as browser, httpx.AsyncClient(verify=SSL_CONTEXT) as http:
        first = Pkce.new()
        tokens_code = (await browser.authorize(code_request(web, first))).code
        tokens = await Backchannel(http, world.server).tokens(web, tokens_code, first)
        tokens_issued_at = time.monotonic()
        pkce = Pkce.new()
        code = (await browser.authorize(code_request(web, pkce))).code
        code_issued_at = time.monotonic()
    return PrivateWorld(world, code, pkce, code_issued_at, tokens, tokens_issued_at)


def _make_private_world(var_dir: Path) -> PrivateWorld:
    """Runs in a thread, with an event loop of its own, while the first tests start."""
    live = ClockServer(
        "sqlite",
        var_dir,
        Database.create("sqlite", var_dir),
        extra_env={
            "GATEPASS_TOKENS_CODE_TTL_SECONDS": str(CODE_TTL_SECONDS),
            "GATEPASS_TOKENS_ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_TTL_SECONDS),
        },
    )
    try:
        live.start()
        users, clients = provision(
            live,
            {"eve": {"first_name": "Eve", "last_name": "Early"}},
            lambda _: {
                "web": ("--name", "Private App"),
                "rs": ("--name", "Private RS", "--grant-type", "client_credentials", "--resource-server"),
                "trusted": ("--name", "Private Trusted App", "--skip-authorization"),
            },
            then=[("settings", "set", "consent_mode", "force")],
        )
        return asyncio.run(_issue_private_grants(World(live, users, clients)))
    except BaseException:
        live.stop()
        raise


@pytest.fixture(scope="session")
def _private_world_started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Future[PrivateWorld]]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(_make_private_world, tmp_path_factory.mktemp("gatepass-private"))
        yield future
    if future.exception() is None:
        future.result().world.server.stop()


@pytest.fixture(scope="session")
def private_world(_private_world_started: Future[PrivateWorld]) -> PrivateWorld:
    """A SQLite server of its own, on a clock the tests move, with the shortest code and access-token
    lifetimes, and consent_mode force (a runtime setting that would otherwise change the shared server
    under other tests). Its code and tokens are issued as the session starts."""
    return _private_world_started.result(timeout=300)


@pytest.fixture(scope="session", autouse=True)
def _start_the_clock_early(request: pytest.FixtureRequest) -> Iterator[None]:
    if any(item.get_closest_marker("expiry") for item in request.session.items):
        request.getfixturevalue("_private_world_started")
    yield
