"""`gatepass serve` in a process of its own, on its own port, folder and database, and its CLI.

Every test server has the same administrator and no rate limits on logins or tokens, since many
tests log in from 127.0.0.1 at once; a test about rate limits turns them back on.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from support.backends import Database, require_backend
from support.cli import run_gatepass

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"
#: The password of the users tests make, unless they say otherwise.
PASSWORD = "correct-horse-1"
#: The redirect URI clients are registered with, unless they say otherwise; nothing listens there.
REDIRECT_URI = "http://127.0.0.1:9999/callback"
#: Open dynamic client registration (RFC 7591) with no limit on registrations per address.
OPEN_REGISTRATION = {"GATEPASS_RATE_LIMITS_REGISTRATION_PER_IP_PER_HOUR": "0"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(4)}@example.com"


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    """Return once the server at ``url`` answers /healthz; raise with the end of its log if it exits first."""
    deadline = time.monotonic() + 60
    # One client for the whole wait: a new one per poll reloads the CA bundle every time.
    with httpx.Client(timeout=1) as probe:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"gatepass serve exited: {log_path.read_text(errors='replace')[-3000:]}")
            try:
                if probe.get(f"{url}/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"gatepass serve did not start: {log_path.read_text(errors='replace')[-3000:]}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Ask a server to stop (SIGTERM: it finishes its requests), and kill it if it has not within 15 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class LiveServer:
    """`gatepass serve` in a subprocess, on its own port, var folder and database."""

    backend: str
    var_dir: Path
    database: Database
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.var_dir / "server.log"

    @property
    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("GATEPASS_")}
        env.update(
            {
                "GATEPASS_SERVER_ISSUER": self.url,
                "GATEPASS_SERVER_PORT": str(self.port),
                "GATEPASS_SERVER_VAR_DIR": str(self.var_dir),
                "GATEPASS_DATABASE_URL": self.database.url,
                "GATEPASS_ADMIN_EMAIL": ADMIN_EMAIL,
                "GATEPASS_ADMIN_PASSWORD": ADMIN_PASSWORD,
                "GATEPASS_SECURITY_PURGE_INTERVAL_SECONDS": "0",
                "GATEPASS_RATE_LIMITS_LOGIN_PER_IP_PER_MINUTE": "0",
                "GATEPASS_RATE_LIMITS_TOKEN_PER_IP_PER_MINUTE": "0",
                "GATEPASS_RATE_LIMITS_TOKEN_PER_CLIENT_PER_MINUTE": "0",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self) -> LiveServer:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gatepass", "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until_healthy(self.url, self.process, self.log_path)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        self.process = None

    def cli(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`python -m gatepass ARGS` with this server's settings (see run_gatepass)."""
        result = run_gatepass(args, env=self.env, input=input, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"gatepass {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def create_user(
        self,
        email: str | None = None,
        password: str = PASSWORD,
        *,
        roles: tuple[str, ...] = (),
        first_name: str = "Test",
        last_name: str = "User",
    ) -> dict[str, Any]:
        email = email or unique_email()
        args = [
            "user",
            "add",
            email,
            "--password-stdin",
            "--first-name",
            first_name,
            "--last-name",
            last_name,
            "--json",
        ]
        for role in roles:
            args += ["--role", role]
        user: dict[str, Any] = json.loads(self.cli(*args, input=password + "\n").stdout)
        user["password"] = password
        return user

    def create_client(self, *args: str, name: str = "Test App") -> dict[str, Any]:
        """`gatepass client add --json`; by default a confidential client with REDIRECT_URI."""
        if "--redirect-uri" not in args and "client_credentials" not in args:
            args = (*args, "--redirect-uri", REDIRECT_URI)
        client: dict[str, Any] = json.loads(self.cli("client", "add", "--name", name, "--json", *args).stdout)
        return client

    def open_registration(self) -> LiveServer:
        """Let anyone register a client (RFC 7591); the registration rate limit is a setting of its start."""
        self.cli("settings", "set", "registration_mode", "open")
        return self


def start_live_server(backend: str, var_dir: Path, extra_env: dict[str, str] | None = None) -> LiveServer:
    """A started server on a new database of ``backend``; skipped (failed under CI) when the backend is missing."""
    require_backend(backend)
    return LiveServer(backend, var_dir, Database.create(backend, var_dir), extra_env=dict(extra_env or {})).start()


@contextlib.contextmanager
def private_server(backend: str, var_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """start_live_server(), then stopped and its database dropped."""
    live = start_live_server(backend, var_dir, extra_env)
    try:
        yield live
    finally:
        live.stop()
        live.database.drop()
