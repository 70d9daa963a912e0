"""A provider Gatepass (the identity provider) and an app Gatepass that logs in through it.

Both are real `gatepass serve` processes on loopback, shared by the module's tests; each test
adds its own client on the provider and its own provider entry on the app, so tests stay apart.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rp_support import APP_ROLES, IDP_ROLES, parallel, start_live

from support import LiveServer


def _create_roles(server: LiveServer, roles: tuple[str, ...]) -> None:
    parallel(*[(server.cli, "role", "add", role) for role in roles])


@pytest.fixture(scope="session")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The identity provider: users and roles live here."""
    live = start_live("sqlite", tmp_path_factory, "idp")
    _create_roles(live, IDP_ROLES)
    yield live
    live.stop()


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app server (SQLite, so tests can read its audit log): users log in here through the IdP."""
    live = start_live("sqlite", tmp_path_factory, "app")
    _create_roles(live, APP_ROLES)
    yield live
    live.stop()
