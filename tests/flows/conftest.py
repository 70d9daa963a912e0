"""Fixtures for the flow tests: users and clients on each server, made once.

Users and clients are made once per server (in parallel CLI processes) and shared: a test that
needs a pair of user and client with no history (first consent, say) gets its own in ``world``.
Tests of a lifetime that runs out use ``clock_world``, whose server reads a clock the test moves
forward (support/clock_server.py), so no test waits for it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.clock_server import ClockServer, private_clock_server
from support.provision import World, provision
from support.server import LiveServer

# The helpers assert too: have pytest explain their failures.
pytest.register_assert_rewrite("flows_support")

from flows_support import make_world  # noqa: E402


@pytest.fixture(scope="session")
def world(server: LiveServer) -> World:
    """The core users and clients on each backend's shared server."""
    return make_world(server, extended=False)


@pytest.fixture(scope="session")
def sqlite_world(sqlite_server: LiveServer) -> World:
    """Every user and client of the long-tail tests, on the shared SQLite server."""
    return make_world(sqlite_server, extended=True)


# -- servers of their own ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def clock_world(clock_server: ClockServer) -> World:
    """The core users and clients on each backend's clock server, for lifetimes that run out."""
    return make_world(clock_server, extended=False)


@pytest.fixture(scope="session")
def consent_forced_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A SQLite server of its own with consent_mode force: a runtime setting that would change the
    shared server under other tests."""
    with private_clock_server("sqlite", tmp_path_factory.mktemp("gatepass-consent-forced")) as live:
        users, clients = provision(
            live,
            {"eve": {"first_name": "Eve", "last_name": "Early"}},
            lambda _: {
                "web": ("--name", "Private App"),
                "trusted": ("--name", "Private Trusted App", "--skip-authorization"),
            },
            then=[("settings", "set", "consent_mode", "force")],
        )
        yield World(live, users, clients)
