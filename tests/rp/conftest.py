"""A provider Gatepass (the identity provider) and an app Gatepass that logs in through it.

Both are real `gatepass serve` processes on loopback, shared by the module's tests; each test
adds its own client on the provider and its own provider entry on the app, so tests stay apart.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rp_support import APP_ROLES, IDP_ROLES, parallel

from support.server import LiveServer, private_server


def _create_roles(server: LiveServer, roles: tuple[str, ...]) -> None:
    parallel(*[(server.cli, "role", "add", role) for role in roles])


@pytest.fixture(scope="session")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The identity provider: users and roles live here."""
    with private_server("sqlite", tmp_path_factory.mktemp("idp")) as live:
        _create_roles(live, IDP_ROLES)
        yield live


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app server (SQLite, so tests can read its audit log): users log in here through the IdP."""
    with private_server("sqlite", tmp_path_factory.mktemp("app")) as live:
        _create_roles(live, APP_ROLES)
        yield live
