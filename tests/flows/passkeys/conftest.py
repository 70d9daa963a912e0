"""A Gatepass served at http://localhost: WebAuthn needs a relying party id that is a domain (never an IP
address) and a secure context, which a loopback host name is; the shared servers answer at 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from support.backends import Database
from support.server import LiveServer, stop_process


@dataclass
class LocalhostServer(LiveServer):
    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"


@pytest.fixture(scope="module")
def passkey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    var_dir = tmp_path_factory.mktemp("gatepass-passkeys")
    server = LocalhostServer("sqlite", var_dir, Database.create("sqlite", var_dir)).start()
    try:
        yield server
    finally:
        if server.process is not None:
            stop_process(server.process)
        server.database.drop()
