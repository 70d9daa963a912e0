"""Real things for tests: databases on each backend and Gatepass servers in their own processes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

IS_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ("sqlite", "postgresql", "mariadb")
POSTGRES_URL = os.environ.get("GATEPASS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("GATEPASS_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test")
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"
REDIRECT_URI = "http://127.0.0.1:9999/callback"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def backend_unavailable_reason(backend: str) -> str | None:
    if backend == "postgresql" and not _port_open("127.0.0.1", 5432):
        return "PostgreSQL is not reachable on 127.0.0.1:5432"
    if backend == "mariadb" and not _port_open("127.0.0.1", 3306):
        return "MariaDB is not reachable on 127.0.0.1:3306"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(4)}@example.com"


def _run_admin_sql(backend: str, statement: str) -> None:
    """Run in a thread of its own, so it works from sync and async tests alike."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _admin_sql(backend, statement)).result()


async def _admin_sql(backend: str, statement: str) -> None:
    if backend == "postgresql":
        import asyncpg

        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()
    else:
        import aiomysql

        connection = await aiomysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
        try:
            async with connection.cursor() as cursor:
                await cursor.execute(statement)
        finally:
            connection.close()


@dataclass
class Database:
    backend: str
    url: str
    name: str | None = None

    @classmethod
    def create(cls, backend: str, var_dir: Path) -> Database:
        if backend == "sqlite":
            return cls(backend, f"sqlite:///{var_dir / 'gatepass.db'}")
        name = f"gp_{secrets.token_hex(6)}"
        _run_admin_sql(backend, f"CREATE DATABASE {name}")
        base = POSTGRES_URL if backend == "postgresql" else MARIADB_URL
        return cls(backend, base.rsplit("/", 1)[0] + "/" + name, name)

    def drop(self) -> None:
        if self.name:
            statement = f"DROP DATABASE IF EXISTS {self.name}"
            if self.backend == "postgresql":
                statement += " WITH (FORCE)"
            _run_admin_sql(self.backend, statement)


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
            # Many tests log in from 127.0.0.1 against one shared server; rate-limit tests turn these back on.
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
        deadline = time.monotonic() + 60
        # One client for the whole wait: a new one per poll reloads the CA bundle every time.
        with httpx.Client(timeout=1) as probe:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"gatepass serve exited: {self.log_path.read_text()[-3000:]}")
                try:
                    if probe.get(f"{self.url}/healthz").status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"gatepass serve did not start: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def cli(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "gatepass", *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"gatepass {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def create_user(
        self,
        email: str | None = None,
        password: str = "correct-horse-1",
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
