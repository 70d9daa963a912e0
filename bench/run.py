"""Gatepass benchmark, run by `make bench`.

One run, on this machine, against 127.0.0.1 only:

1. a fresh database (PostgreSQL by default: a new database gp_bench_<random>, dropped at the end;
   ``--backend sqlite`` or ``mariadb`` also work), migrated with ``gatepass migrate``;
2. users and clients made with the ``gatepass`` CLI (one user, cloned in SQL so every clone has the
   same argon2 hash), then access and refresh tokens bulk-inserted straight into the tables
   (COPY on PostgreSQL, SQLAlchemy Core elsewhere) with digests computed as Gatepass computes them;
3. the floor (bench/floor.py: a bare Starlette JSON endpoint on the same uvicorn stack and worker count);
4. ``gatepass serve --workers 2``, measured with wrk (bench/wrk/*.lua) on the hot paths, the token
   lookup at 10,000 and at 1,000,000 stored access tokens, and whole authorization code + PKCE flows
   driven by an asyncio + httpx load generator (with and without the password check), and password
   logins alone;
5. the RSS of each worker after the whole run, then bench/RESULTS.md and the table on stdout.

Every process and database it starts is stopped and dropped on exit, error or Ctrl-C.
``--profile`` also records each measured path with py-spy (see bench/PROFILE.md) and leaves
RESULTS.md alone.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import contextlib
import hashlib
import html
import json
import os
import platform
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WRK_DIR = BENCH / "wrk"
RAW_DIR = BENCH / "raw"
BIN = Path(sys.executable).parent

WEB_CLIENT = "bench-web"  # authorization code + refresh (the browser app)
SVC_CLIENT = "bench-svc"  # client credentials
SVC_JWT_CLIENT = "bench-svc-jwt"  # client credentials, RFC 9068 JWT access tokens
RS_CLIENT = "bench-rs"  # a resource server that introspects
REDIRECT_URI = "http://127.0.0.1/bench/callback"
TOKEN_SCOPES = ["openid", "profile", "email", "roles", "all"]
REFRESH_SCOPES = ["openid", "profile", "email"]
FLOW_SCOPE = "openid profile email"

# The bar to beat: node-oidc-provider 9.13 with its in-memory store on a machine like this one.
NODE_BAR = {"b": 9_900, "c": 9_300, "d": 10_200, "f": 170}

PATHS = {
    "a": "(a) GET /api/resource/ToDo/{name}, Bearer",
    "b": "(b) introspection",
    "c": "(c) userinfo",
    "c_dpop": "(c) userinfo with a DPoP-bound token and a fresh proof each (RFC 9449)",
    "d": "(d) client credentials issuance",
    "d_jwt": "(d) client_credentials with JWT access tokens",
    "e": "(e) refresh grant (rotation + id_token)",
    "f_pw": "(f) code + PKCE flows, with password check",
    "f_nopw": "(f) code + PKCE flows, logged-in session",
    "g": "(g) password logins (POST /login, argon2id check)",
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class BenchError(Exception):
    """A step failed in a way the run cannot go on from; the message says which."""


# -- cleanup: every process and database this run starts -------------------------------------


class Cleanup:
    """Undo steps, run last-in first-out once: by the finally of main, or atexit as a backstop."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Callable[[], None]]] = []

    def push(self, label: str, step: Callable[[], None]) -> Callable[[], None]:
        entry = (label, step)
        self._steps.append(entry)

        def run_now() -> None:
            if entry in self._steps:
                self._steps.remove(entry)
                step()

        return run_now

    def run(self) -> None:
        while self._steps:
            label, step = self._steps.pop()
            try:
                step()
            except Exception as exc:  # keep undoing the rest
                print(f"[bench] cleanup '{label}' failed: {exc}", file=sys.stderr, flush=True)


CLEANUP = Cleanup()
atexit.register(CLEANUP.run)


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _stop_group(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """Stop a process this run started in its own session, and whatever it forked there."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    # Workers left behind by a killed supervisor are still in the group.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class Managed:
    proc: subprocess.Popen[bytes]
    stop: Callable[[], None]


def start_process(label: str, cmd: list[str], env: dict[str, str], log_path: Path) -> Managed:
    with log_path.open("wb") as output:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
            cmd, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
    return Managed(proc, CLEANUP.push(f"stop {label}", lambda: _stop_group(proc)))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{url} did not start; see {log_path}:\n{log_path.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.25)
    raise BenchError(f"{url} did not answer within {timeout:.0f} s; see {log_path}")


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk is missing: apt-get install -y wrk")
        apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "--no-install-recommends", "wrk"]
        if subprocess.run(install, env=apt_env, check=False).returncode != 0:  # noqa: S603
            subprocess.run(["apt-get", "update"], env=apt_env, check=False)  # noqa: S607
            subprocess.run(install, env=apt_env, check=True)  # noqa: S603
        found = shutil.which("wrk")
    if not found:
        raise BenchError("wrk is not installed and cannot be installed here: run `apt-get install -y wrk` as root")
    return found


# -- CPU and memory from /proc ----------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_cpu_seconds(pid: int, *, with_reaped_children: bool = False) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def _proc_system_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    return int(stat[stat.rfind(")") + 2 :].split()[12]) / CLOCK_TICKS


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat[stat.rfind(")") + 2 :].split()[1])


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _all_pids() -> Iterator[int]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            yield int(entry.name)


def children(pid: int) -> list[int]:
    found = []
    for candidate in _all_pids():
        try:
            stat = Path(f"/proc/{candidate}/stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rfind(")") + 2 :].split()[1]) == pid:
            found.append(candidate)
    return found


def uvicorn_workers(supervisor: int) -> list[int]:
    """The worker processes of a uvicorn supervisor (spawned children, not the resource tracker)."""
    workers = []
    for pid in children(supervisor):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"resource_tracker" not in cmdline:
            workers.append(pid)
    return sorted(workers)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLOCK_TICKS


DB_PROCESS_NAMES = ("postgres", "mariadbd", "mysqld")


@dataclass
class CpuSnapshot:
    at: float
    busy: float
    groups: dict[str, float]
    server_writes: int = 0
    #: CPU seconds of each backend serving the benchmark database (PostgreSQL), when known.
    backends: dict[int, float] | None = None
    #: Of the server's CPU seconds, those spent in the kernel (system calls: sockets, locks, file writes).
    server_system: float = 0.0


def _write_syscalls(pid: int) -> int:
    """write(2) calls of a process so far: a server's are its responses plus its database round trips."""
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("syscw:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_snapshot(groups: dict[str, list[int]], backend_pids: list[int] | None = None) -> CpuSnapshot:
    """CPU so far of each group; the database's from the backends of our database when their pids are
    given (the PostgreSQL server is shared with other sessions' tests), else from every server process."""
    totals = {name: sum(_proc_cpu_seconds(pid) for pid in pids) for name, pids in groups.items()}
    backends = None
    if backend_pids is not None:
        backends = {pid: _proc_cpu_seconds(pid) for pid in backend_pids}
        totals["database"] = sum(backends.values())
    else:
        # Processes that exited (pool churn) are counted through their parent, the server's main process.
        database = [pid for pid in _all_pids() if _comm(pid) in DB_PROCESS_NAMES]
        totals["database"] = sum(
            _proc_cpu_seconds(pid, with_reaped_children=_comm(_parent(pid)) not in DB_PROCESS_NAMES)
            for pid in database
        )
    writes = sum(_write_syscalls(pid) for pid in groups.get("server", []))
    system = sum(_proc_system_seconds(pid) for pid in groups.get("server", []))
    return CpuSnapshot(time.monotonic(), _busy_seconds(), totals, writes, backends, system)


def cpu_per_request(before: CpuSnapshot, after: CpuSnapshot, requests: int) -> dict[str, float]:
    """Microseconds of CPU per request for each group, and 'other': busy CPU of processes not ours."""
    if requests <= 0:
        return {}
    used = {name: max(0.0, after.groups.get(name, 0.0) - before.groups[name]) for name in before.groups}
    if before.backends is not None and after.backends is not None:
        # Backends opened during the measurement count whole; those closed during it are lost (few).
        used["database"] = sum(max(0.0, cpu - before.backends.get(pid, 0.0)) for pid, cpu in after.backends.items())
    out = {name: seconds / requests * 1e6 for name, seconds in used.items()}
    out["other"] = max(0.0, (after.busy - before.busy) - sum(used.values())) / requests * 1e6
    out["machine_busy_pct"] = (after.busy - before.busy) / max(after.at - before.at, 1e-9) / (os.cpu_count() or 1) * 100
    out["server_writes"] = (after.server_writes - before.server_writes) / requests
    out["server_system"] = max(0.0, after.server_system - before.server_system) / requests * 1e6
    return out


# -- databases --------------------------------------------------------------------------------


def _json_text(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _naive_utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


class Seeder:
    """Bulk writes straight into Gatepass's tables."""

    async def insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    async def select(self, table: str, column: str, value: Any) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def scalar(self, sql: str) -> Any:
        raise NotImplementedError

    async def after_bulk(self, tables: list[str]) -> None:
        raise NotImplementedError

    async def sessions_opened(self) -> int | None:
        """Connections ever opened to this database (PostgreSQL only), to see pool churn."""
        return None

    async def backend_pids(self) -> list[int] | None:
        """The server processes serving this database now, besides ours (PostgreSQL only)."""
        return None

    async def close(self) -> None:
        raise NotImplementedError


class PostgresSeeder(Seeder):
    """COPY through asyncpg: about a million rows in tens of seconds, indexes included."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = list(rows[0])
        records = [tuple(_json_text(_naive_utc(row[c])) for c in columns) for row in rows]
        await self._connection.copy_records_to_table(table, records=records, columns=columns)

    async def select(self, table: str, column: str, value: Any) -> list[dict[str, Any]]:
        rows = await self._connection.fetch(f"SELECT * FROM {table} WHERE {column} = $1", value)  # noqa: S608
        return [dict(row) for row in rows]

    async def scalar(self, sql: str) -> Any:
        return await self._connection.fetchval(sql)

    async def backend_pids(self) -> list[int] | None:
        rows = await self._connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return [int(row["pid"]) for row in rows]

    async def sessions_opened(self) -> int | None:
        await self._connection.execute("SELECT pg_stat_clear_snapshot()")
        value = await self._connection.fetchval(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return int(value) if value is not None else None

    async def after_bulk(self, tables: list[str]) -> None:
        for table in tables:
            await self._connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            )
            # Analyse now, so autovacuum does not wake up in the middle of a measurement.
            await self._connection.execute(f"VACUUM (ANALYZE) {table}")
        await self._connection.execute("CHECKPOINT")

    async def close(self) -> None:
        await self._connection.close()


class CoreSeeder(Seeder):
    """SQLAlchemy Core executemany (SQLite, MariaDB), typed by Gatepass's own table definitions."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine

        from gatepass.db.tables import Base

        self._engine = create_engine(url)
        self._tables = Base.metadata.tables

    async def insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        with self._engine.begin() as connection:
            for start in range(0, len(rows), 20_000):
                connection.execute(self._tables[table].insert(), rows[start : start + 20_000])

    async def select(self, table: str, column: str, value: Any) -> list[dict[str, Any]]:
        from sqlalchemy import select

        target = self._tables[table]
        with self._engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(select(target).where(target.c[column] == value))]

    async def scalar(self, sql: str) -> Any:
        from sqlalchemy import text

        with self._engine.connect() as connection:
            return connection.execute(text(sql)).scalar()

    async def after_bulk(self, tables: list[str]) -> None:
        from sqlalchemy import text

        with self._engine.begin() as connection:
            if self._engine.dialect.name == "sqlite":
                connection.execute(text("ANALYZE"))
            else:
                for table in tables:
                    connection.execute(text(f"ANALYZE TABLE {table}"))

    async def close(self) -> None:
        self._engine.dispose()


class Database:
    """A database made for this run only, and dropped at its end."""

    backend = ""
    gatepass_url = ""
    label = ""

    async def create(self) -> None:
        raise NotImplementedError

    async def drop(self) -> None:
        raise NotImplementedError

    async def seeder(self) -> Seeder:
        raise NotImplementedError

    def version(self) -> str:
        return ""


class PostgresDatabase(Database):
    backend = "postgresql"

    def __init__(self, server_url: str) -> None:
        parts = urlsplit(server_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 5432
        self.user = parts.username or "postgres"
        self.password = parts.password
        self.name = f"gp_bench_{secrets.token_hex(6)}"
        auth = self.user + (f":{self.password}" if self.password else "")
        self.gatepass_url = f"postgresql://{auth}@{self.host}:{self.port}/{self.name}"
        self.label = f"PostgreSQL, database {self.name} on {self.host}:{self.port}"
        self._version = ""

    async def _connect(self, database: str) -> Any:
        import asyncpg

        return await asyncpg.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, database=database, timeout=10
        )

    async def create(self) -> None:
        admin = await self._connect("postgres")
        try:
            await admin.execute(f'CREATE DATABASE "{self.name}"')
            self._version = await admin.fetchval("SHOW server_version")
        finally:
            await admin.close()

    async def drop(self) -> None:
        admin = await self._connect("postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()

    async def seeder(self) -> Seeder:
        return PostgresSeeder(await self._connect(self.name))

    def version(self) -> str:
        return f"PostgreSQL {self._version}"


class SqliteDatabase(Database):
    backend = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.path = folder / "gatepass.db"
        self.gatepass_url = f"sqlite:///{self.path}"
        self.label = f"SQLite file {self.path} (WAL)"

    async def create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    async def drop(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    async def seeder(self) -> Seeder:
        return CoreSeeder(f"sqlite:///{self.path}")

    def version(self) -> str:
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"


class MariaDatabase(Database):
    backend = "mariadb"

    def __init__(self, server_url: str) -> None:
        parts = urlsplit(server_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 3306
        self.user = parts.username or "root"
        self.password = parts.password or ""
        self.name = f"gp_bench_{secrets.token_hex(6)}"
        auth = self.user + (f":{self.password}" if self.password else "")
        self.gatepass_url = f"mysql://{auth}@{self.host}:{self.port}/{self.name}"
        self.label = f"MariaDB, database {self.name} on {self.host}:{self.port}"
        self._version = ""

    def _admin(self) -> Any:
        import pymysql

        return pymysql.connect(host=self.host, port=self.port, user=self.user, password=self.password)

    async def create(self) -> None:
        connection = self._admin()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")
                cursor.execute("SELECT VERSION()")
                self._version = str(cursor.fetchone()[0])
        finally:
            connection.close()

    async def drop(self) -> None:
        connection = self._admin()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
        finally:
            connection.close()

    async def seeder(self) -> Seeder:
        auth = self.user + (f":{self.password}" if self.password else "")
        return CoreSeeder(f"mysql+pymysql://{auth}@{self.host}:{self.port}/{self.name}?charset=utf8mb4")

    def version(self) -> str:
        return f"MariaDB {self._version}"


# -- seeding ----------------------------------------------------------------------------------


class Reservoir:
    """A uniform sample of at most ``size`` items from a stream of unknown length."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self.size = size
        self.items: list[str] = []
        self.seen = 0
        self._rng = rng

    def add(self, item: str) -> None:
        self.seen += 1
        if len(self.items) < self.size:
            self.items.append(item)
            return
        slot = self._rng.randrange(self.seen)
        if slot < self.size:
            self.items[slot] = item


@dataclass
class Fixture:
    """What the seeding made and the measurements need."""

    users: list[tuple[int, str]]  # (id, email), the first one is the base user
    password: str
    secrets: dict[str, str]  # client_id -> client_secret
    digest_key: bytes
    lookup_sample: Reservoir
    owner_tokens: list[str] = field(default_factory=list)  # tokens of users[0], for the document API
    access_tokens: int = 0
    refresh_tokens: list[str] = field(default_factory=list)
    refresh_family_rows: int = 0
    next_grant_id: int = 1


def gatepass_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(  # noqa: S603 - the project's own CLI
        [str(BIN / "gatepass"), *args], env=env, input=stdin, capture_output=True, text=True, cwd=ROOT, check=False
    )
    if result.returncode != 0:
        raise BenchError(f"gatepass {' '.join(args[:2])} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def _json_from(output: str) -> Any:
    return json.loads(output[output.index("{") :])


def seed_accounts(env: dict[str, str], base_email: str, password: str, id_token_alg: str) -> dict[str, str]:
    """The base user, the clients and consent_mode=force, through the real CLI."""
    gatepass_cli(env, "migrate")
    gatepass_cli(env, "user", "add", base_email, "--password-stdin", "--first-name", "Bench", "--last-name", "User",
                 "--json", stdin=password + "\n")
    client_args = {
        WEB_CLIENT: ["--name", "Bench web app", "--redirect-uri", REDIRECT_URI, "--grant-type", "authorization_code",
                     "--grant-type", "refresh_token", *[arg for s in TOKEN_SCOPES for arg in ("--scope", s)],
                     "--id-token-alg", id_token_alg],
        SVC_CLIENT: ["--name", "Bench service", "--grant-type", "client_credentials", "--service-user", base_email,
                     "--scope", "all"],
        SVC_JWT_CLIENT: ["--name", "Bench JWT service", "--grant-type", "client_credentials", "--service-user",
                         base_email, "--scope", "all", "--access-token-format", "jwt"],
        RS_CLIENT: ["--name", "Bench resource server", "--grant-type", "client_credentials", "--service-user",
                    base_email, "--scope", "all", "--resource-server"],
    }
    commands = {client_id: [str(BIN / "gatepass"), "client", "add", "--client-id", client_id, *args, "--json"]
                for client_id, args in client_args.items()}
    commands["settings"] = [str(BIN / "gatepass"), "settings", "set", "consent_mode", "force"]
    # Independent of each other: run them side by side (each CLI start costs a second or two).
    running = {key: subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,  # noqa: S603
                                     cwd=ROOT) for key, cmd in commands.items()}
    client_secrets = {}
    for key, proc in running.items():
        out, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise BenchError(f"gatepass {' '.join(commands[key][1:3])} failed: {err.strip() or out.strip()}")
        if key != "settings":
            client_secrets[key] = _json_from(out)["client_secret"]
    return client_secrets


async def clone_users(seeder: Seeder, base_email: str, count: int) -> list[tuple[int, str]]:
    """count-1 copies of the base user (same argon2 hash and roles), so the flows log in as many people."""
    base = (await seeder.select("users", "email", base_email))[0]
    roles = await seeder.select("user_roles", "user_id", base["id"])
    clones = []
    for n in range(1, count):
        row = {k: v for k, v in base.items() if k != "id"}
        email = f"bench-user-{n:04d}@bench.test"
        row.update(email=email, sub=secrets.token_hex(16), last_name=f"User {n}", full_name=f"Bench User {n}")
        if "api_key" in row:
            row["api_key"] = None
            row["api_secret_digest"] = None
        clones.append(row)
    await seeder.insert("users", clones)
    users = [(int(base["id"]), base_email)]
    for row in clones:
        user_id = int((await seeder.select("users", "email", row["email"]))[0]["id"])
        users.append((user_id, row["email"]))
    role_rows = [{**{k: v for k, v in role.items() if k != "user_id"}, "user_id": user_id}
                 for user_id, _ in users[1:] for role in roles]
    await seeder.insert("user_roles", role_rows)
    return users


def _grant(grant_id: int, user_id: int, scopes: list[str], now: datetime) -> dict[str, Any]:
    return {
        "id": grant_id, "client_id": WEB_CLIENT, "user_id": user_id, "grant_type": "authorization_code",
        "scopes": scopes, "code_id": None, "nonce": None, "resource": None, "auth_time": now, "created_at": now,
        "expires_at": now + timedelta(days=30), "last_used_at": now, "revoked_at": None,
    }


def _access(digest: str, grant_id: int, user_id: int, scopes: list[str], now: datetime) -> dict[str, Any]:
    return {
        "token_digest": digest, "grant_id": grant_id, "client_id": WEB_CLIENT, "user_id": user_id, "scopes": scopes,
        "resource": None, "created_at": now, "expires_at": now + timedelta(days=1), "revoked_at": None,
    }


async def seed_access_tokens(seeder: Seeder, fixture: Fixture, target: int, *, tokens_per_grant: int = 10) -> float:
    """Grow the stored access tokens to ``target``: one grant per ten tokens, users in turn."""
    from gatepass.protocol.tokens import new_token, token_digest

    started = time.monotonic()
    now = datetime.now(UTC)
    chunk = 50_000
    while fixture.access_tokens < target:
        size = min(chunk, target - fixture.access_tokens)
        grants: list[dict[str, Any]] = []
        tokens: list[dict[str, Any]] = []
        for n in range(size):
            index = fixture.access_tokens + n
            user_id = fixture.users[index % len(fixture.users)][0]
            if index % tokens_per_grant == 0 or not grants:
                grants.append(_grant(fixture.next_grant_id, user_id, TOKEN_SCOPES, now))
                fixture.next_grant_id += 1
            token = new_token()
            tokens.append(_access(token_digest(fixture.digest_key, token), grants[-1]["id"], grants[-1]["user_id"],
                                  TOKEN_SCOPES, now))
            fixture.lookup_sample.add(token)
            if grants[-1]["user_id"] == fixture.users[0][0] and len(fixture.owner_tokens) < 4_000:
                fixture.owner_tokens.append(token)
        await seeder.insert("token_grants", grants)
        await seeder.insert("access_tokens", tokens)
        fixture.access_tokens += size
    await seeder.after_bulk(["token_grants", "access_tokens", "refresh_tokens"])
    return time.monotonic() - started


async def seed_refresh_families(seeder: Seeder, fixture: Fixture, count: int) -> None:
    """count grants, each with one live refresh token and its current access token (as after a code flow)."""
    from gatepass.protocol.tokens import new_token, token_digest

    now = datetime.now(UTC)
    for start in range(0, count, 20_000):
        grants, refresh, access = [], [], []
        for n in range(start, min(count, start + 20_000)):
            user_id = fixture.users[n % len(fixture.users)][0]
            grants.append(_grant(fixture.next_grant_id, user_id, REFRESH_SCOPES, now))
            token = new_token()
            refresh.append({"token_digest": token_digest(fixture.digest_key, token), "grant_id": fixture.next_grant_id,
                            "created_at": now, "rotated_at": None, "revoked_at": None})
            access.append(_access(token_digest(fixture.digest_key, new_token()), fixture.next_grant_id, user_id,
                                  REFRESH_SCOPES, now))
            fixture.refresh_tokens.append(token)
            fixture.next_grant_id += 1
        await seeder.insert("token_grants", grants)
        await seeder.insert("refresh_tokens", refresh)
        await seeder.insert("access_tokens", access)
    fixture.refresh_family_rows += count


# -- measurements -----------------------------------------------------------------------------


@dataclass
class Result:
    key: str
    label: str
    available: bool = True
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0
    requests: int = 0
    note: str = ""
    cpu: dict[str, float] = field(default_factory=dict)
    flows_per_s: float = 0.0
    new_connections: int | None = None


@dataclass
class Run:
    args: argparse.Namespace
    wrk: str
    raw: Path
    tmp: Path
    loop: asyncio.AbstractEventLoop
    results: dict[str, Result] = field(default_factory=dict)
    server_pid: int = 0
    workers: list[int] = field(default_factory=list)
    seeder: Seeder | None = None

    def sessions_opened(self) -> int | None:
        return self.loop.run_until_complete(self.seeder.sessions_opened()) if self.seeder else None

    def backend_pids(self) -> list[int] | None:
        return self.loop.run_until_complete(self.seeder.backend_pids()) if self.seeder else None

    def file(self, name: str, lines: list[str]) -> Path:
        path = self.tmp / name
        path.write_text("\n".join(lines) + "\n")
        return path

    def cpu_groups(self, load_pids: list[int]) -> dict[str, list[int]]:
        return {"server": [self.server_pid, *self.workers] if self.server_pid else [], "load": load_pids}


def _profile_start(run: Run, name: str, seconds: float) -> subprocess.Popen[bytes] | None:
    """py-spy on the server's supervisor and, through --subprocesses, every worker."""
    if not run.args.profile or not run.server_pid:
        return None
    out = Path(run.args.profile) / f"{name}.folded"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(BIN / "py-spy"), "record", "--pid", str(run.server_pid), "--subprocesses",
           "--duration", str(max(1, int(seconds))), "--rate", str(run.args.profile_rate), "--format", "raw",
           "--output", str(out), "--nonblocking"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


def _profile_wait(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wrk_once(run: Run, name: str, script: str, url: str, options: dict[str, Any], seconds: float,
             *, record: bool) -> Result:
    threads = run.args.threads
    cmd = [run.wrk, "-t", str(threads), "-c", str(run.args.connections), "-d", f"{seconds:g}s", "--timeout", "10s",
           "-s", str(WRK_DIR / script), url, "--", f"threads={threads}",
           *[f"{key}={value}" for key, value in options.items()]]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # noqa: S603
    def kill_wrk() -> None:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    stop = CLEANUP.push(f"wrk {name}", kill_wrk)
    profiler = _profile_start(run, name, seconds) if record else None
    sessions_before = run.sessions_opened()
    before = cpu_snapshot(run.cpu_groups([]), run.backend_pids())
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        out, _ = proc.communicate(timeout=seconds + 60)
    finally:
        stop()
    after = cpu_snapshot(run.cpu_groups([]), run.backend_pids())
    # wrk has exited by now: its CPU time is in the rusage of reaped children.
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    after.groups["load"] += (children_after.ru_utime + children_after.ru_stime
                             - children_before.ru_utime - children_before.ru_stime)
    _profile_wait(profiler)
    if record:
        (run.raw / f"wrk-{name}.txt").write_text(" ".join(cmd) + "\n\n" + out)
    line = next((line for line in out.splitlines() if line.startswith("GPBENCH ")), None)
    if proc.returncode != 0 or line is None:
        raise BenchError(f"wrk failed for {name}:\n{out[-2000:]}")
    data = json.loads(line[len("GPBENCH ") :])
    seconds_run = data["duration_us"] / 1e6
    errors = data["connect"] + data["read"] + data["write"] + data["status"] + data["timeout"]
    result = Result(key=name, label=name, rps=data["requests"] / seconds_run, p50_ms=data["p50_us"] / 1000,
                    p99_ms=data["p99_us"] / 1000, errors=errors, requests=data["requests"])
    result.cpu = cpu_per_request(before, after, data["requests"])
    sessions_after = run.sessions_opened()
    if sessions_before is not None and sessions_after is not None:
        result.new_connections = sessions_after - sessions_before
    if data["wrapped"]:
        result.note = f"ran out of seeded refresh tokens ({data['wrapped']} requests); raise --refresh-tokens"
    return result


def measure_wrk(run: Run, key: str, label: str, script: str, url: str, options: dict[str, Any],
                warmup_options: dict[str, Any] | None = None) -> Result:
    if run.args.warmup > 0:
        wrk_once(run, f"{key}-warmup", script, url, warmup_options or options, run.args.warmup, record=False)
    result = wrk_once(run, key, script, url, options, run.args.duration, record=True)
    result.key, result.label = key, label
    run.results[key] = result
    log(f"{label}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, "
        f"errors {result.errors}")
    return result


def _dpop_proofs(key: Any, method: str, url: str, count: int, access_token: str | None = None) -> list[str]:
    """Single-use proofs for ``method`` ``url`` (RFC 9449 §4.2), dated a few seconds ahead so that they last the
    run (a proof is accepted up to 60 s after its iat)."""
    from joserfc import jwt

    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    claims: dict[str, Any] = {"htm": method, "htu": url, "iat": int(time.time()) + 8}
    if access_token is not None:
        claims["ath"] = base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()
    return [jwt.encode(header, {**claims, "jti": secrets.token_urlsafe(12)}, key, algorithms=["ES256"])
            for _ in range(count)]


def measure_dpop_userinfo(run: Run, base: str, refresh_token: str, web_basic: str) -> None:
    """(c) again with a DPoP-bound token: the difference from (c) is what checking a proof costs a worker."""
    from joserfc.jwk import ECKey

    key, token_url, url = ECKey.generate_key("P-256"), f"{base}/oauth/token", f"{base}/oauth/userinfo"
    [token_proof] = _dpop_proofs(key, "POST", token_url, 1)
    response = httpx.post(token_url, data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                          headers={"Authorization": f"Basic {web_basic}", "DPoP": token_proof})
    check(response.status_code == 200 and response.json().get("token_type") == "DPoP", "DPoP refresh", response)
    access = response.json()["access_token"]
    # Enough proofs for the run at a rate above what userinfo reaches here; the warm-up has its own.
    per_second = run.args.dpop_proofs_per_second
    warm_count = max(1, int(per_second * run.args.warmup))
    warm = run.file("dpop-warmup.txt", _dpop_proofs(key, "GET", url, warm_count, access))
    main = run.file("dpop-main.txt", _dpop_proofs(key, "GET", url, int(per_second * run.args.duration), access))
    options = {"path": "/oauth/userinfo", "token": access}
    measure_wrk(run, "c_dpop", PATHS["c_dpop"], "dpop_get.lua", url, {**options, "proofs": main},
                {**options, "proofs": warm})


def basic(client_id: str, secret: str) -> str:
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def check(condition: bool, what: str, response: httpx.Response) -> None:
    if not condition:
        raise BenchError(f"sanity check failed for {what}: HTTP {response.status_code} {response.text[:500]}")


# -- authorization code + PKCE flows ----------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')
_CONSENT_FORM = re.compile(r'<form method="post" action="/oauth/consent".*?</form>', re.S)


class FlowError(Exception):
    pass


def _expect(response: httpx.Response, status: int, step: str) -> httpx.Response:
    if response.status_code != status:
        raise FlowError(f"{step}: HTTP {response.status_code} (wanted {status}) {response.text[:200]}")
    return response


async def _log_in(client: httpx.AsyncClient, login_url: str, email: str, password: str) -> str:
    page = _expect(await client.get(login_url), 200, "login page")
    csrf = _CSRF.search(page.text)
    if csrf is None:
        raise FlowError("login page has no csrf_token")
    next_url = parse_qs(urlsplit(login_url).query).get("next", ["/"])[0]
    form = {"csrf_token": html.unescape(csrf.group(1)), "next": next_url, "email": email, "password": password}
    done = _expect(await client.post("/login", data=form), 303, "login submit")
    return done.headers["location"]


async def one_flow(client: httpx.AsyncClient, email: str, password: str, web_basic: str, *, logged_in: bool) -> int:
    """One whole flow as a browser and its app do it; returns the number of HTTP requests."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    query = urlencode({"response_type": "code", "client_id": WEB_CLIENT, "redirect_uri": REDIRECT_URI,
                       "scope": FLOW_SCOPE, "state": state, "nonce": secrets.token_urlsafe(16),
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    requests = 1  # authorize, then (login page, login, authorize again), consent, token
    response = await client.get(f"/oauth/authorize?{query}")
    if not logged_in:
        login_url = _expect(response, 303, "authorize (no session)").headers["location"]
        if not login_url.startswith("/login"):
            raise FlowError(f"authorize sent the browser to {login_url[:100]}, not to /login")
        back = await _log_in(client, login_url, email, password)
        response = await client.get(back)
        requests += 3
    page = _expect(response, 200, "consent page").text
    consent = _CONSENT_FORM.search(page)
    if consent is None:
        raise FlowError("no consent form")
    form = {html.unescape(k): html.unescape(v) for k, v in _HIDDEN.findall(consent.group(0))}
    form["decision"] = "allow"
    redirect = _expect(await client.post("/oauth/consent", data=form), 303, "consent submit").headers["location"]
    params = parse_qs(urlsplit(redirect).query)
    if params.get("state") != [state] or "code" not in params:
        raise FlowError(f"bad redirect {redirect[:200]}")
    token = await client.post("/oauth/token", headers={"Authorization": f"Basic {web_basic}"}, data={
        "grant_type": "authorization_code", "code": params["code"][0], "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier})
    body = _expect(token, 200, "token").json()
    if "access_token" not in body or "id_token" not in body:
        raise FlowError(f"token response without tokens: {sorted(body)}")
    return requests + 2


async def one_login(client: httpx.AsyncClient, email: str, password: str) -> int:
    """A new browser logging in: the login page (CSRF cookie), then the form with the real password."""
    client.cookies.clear()
    await _log_in(client, "/login?next=/", email, password)
    return 2


@dataclass
class FlowStats:
    flows: int = 0
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    first_error: str = ""
    elapsed: float = 0.0


async def flow_load(base: str, users: list[tuple[int, str]], password: str, web_basic: str, *, logged_in: bool,
                    concurrency: int, warmup: float, duration: float, max_duration: float,
                    on_ready: Callable[[], Awaitable[None]], logins_only: bool = False) -> FlowStats:
    """Flows of ``concurrency`` browsers; counts those completing in the measured window.

    The window lasts ``duration`` seconds after the warm-up, longer (up to ``max_duration``) until at
    least ``concurrency`` flows completed in it, so that slow flows still give a figure.
    """
    stats = FlowStats()
    window_end: list[float] = []  # set once, by the first browser to see the window closed
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    ready = asyncio.Event()
    logged_in_count = [0]
    clock: dict[str, float] = {}

    def is_closed(now: float) -> bool:
        is_due = now >= clock["hard_end"] or (now >= clock["nominal_end"] and stats.flows >= concurrency)
        if is_due and not window_end:
            window_end.append(now)
        return bool(window_end)

    async def browser(n: int) -> None:
        email = users[n % len(users)][1]
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            login_failed = False
            if logged_in:
                # One login per browser before the clock starts: the flows reuse its session.
                try:
                    await _log_in(client, "/login?next=/", email, password)
                except (FlowError, httpx.HTTPError) as exc:
                    login_failed = True
                    stats.errors += 1
                    stats.first_error = stats.first_error or f"login: {exc}"
            logged_in_count[0] += 1
            if logged_in_count[0] == concurrency:
                await on_ready()  # CPU counters and the profiler start here, after the logins
                clock["measure_from"] = time.monotonic() + warmup
                clock["nominal_end"] = clock["measure_from"] + duration
                clock["hard_end"] = clock["measure_from"] + max(duration, max_duration)
                ready.set()
            await ready.wait()
            if login_failed:
                return
            measure_from = clock["measure_from"]
            rounds = 0
            while not is_closed(time.monotonic()) and rounds < 1_000_000:
                rounds += 1
                if not logged_in:
                    client.cookies.clear()  # a new browser each time: login form, CSRF, password check
                began = time.monotonic()
                try:
                    if logins_only:
                        sent = await one_login(client, email, password)
                    else:
                        sent = await one_flow(client, email, password, web_basic, logged_in=logged_in)
                except (FlowError, httpx.HTTPError, KeyError, ValueError) as exc:
                    if time.monotonic() >= measure_from and not window_end:
                        stats.errors += 1
                        stats.first_error = stats.first_error or str(exc)
                    continue
                finished = time.monotonic()
                # Throughput: the flows that complete inside the measured window.
                if finished >= measure_from and not is_closed(finished):
                    stats.flows += 1
                    stats.requests += sent
                    stats.latencies.append(finished - began)

    await asyncio.gather(*(browser(n) for n in range(concurrency)))
    stats.elapsed = (window_end[0] if window_end else time.monotonic()) - clock["measure_from"]
    return stats


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def measure_flows(run: Run, key: str, base: str, fixture: Fixture, *, logged_in: bool,
                  logins_only: bool = False) -> Result:
    args = run.args
    web_basic = basic(WEB_CLIENT, fixture.secrets[WEB_CLIENT])
    load = [os.getpid()]
    started: dict[str, Any] = {}

    async def on_ready() -> None:
        started["profiler"] = _profile_start(run, key, args.flow_warmup + args.flow_duration)
        started["sessions"] = await run.seeder.sessions_opened() if run.seeder else None
        pids = await run.seeder.backend_pids() if run.seeder else None
        started["cpu"] = cpu_snapshot(run.cpu_groups(load), pids)

    stats = run.loop.run_until_complete(flow_load(
        base, fixture.users, fixture.password, web_basic, logged_in=logged_in, concurrency=args.connections,
        warmup=args.flow_warmup, duration=args.flow_duration, max_duration=args.flow_max_duration,
        on_ready=on_ready, logins_only=logins_only))
    after = cpu_snapshot(run.cpu_groups(load), run.backend_pids())
    _profile_wait(started.get("profiler"))
    before, sessions_before = started["cpu"], started["sessions"]
    label = PATHS[key]
    result = Result(key=key, label=label, rps=stats.requests / stats.elapsed, flows_per_s=stats.flows / stats.elapsed,
                    p50_ms=percentile(stats.latencies, 50) * 1000, p99_ms=percentile(stats.latencies, 99) * 1000,
                    errors=stats.errors, requests=stats.requests)
    # The load generator also ran in the warm-up: count CPU over flows of the whole window.
    window = args.flow_warmup + stats.elapsed
    result.cpu = cpu_per_request(before, after, max(1, round(stats.requests * window / max(stats.elapsed, 1e-9))))
    sessions_after = run.sessions_opened()
    if sessions_before is not None and sessions_after is not None:
        result.new_connections = sessions_after - sessions_before
    unit = "logins" if logins_only else "flows"
    result.note = f"{stats.flows} {unit} completed in a {stats.elapsed:.0f} s window"
    if stats.first_error:
        result.note += f"; first error: {stats.first_error[:160]}"
    run.results[key] = result
    log(f"{label}: {result.flows_per_s:,.1f} {unit}/s ({result.rps:,.0f} req/s), p50 {result.p50_ms:.0f} ms, "
        f"p99 {result.p99_ms:.0f} ms, errors {result.errors}")
    return result


# -- the run ----------------------------------------------------------------------------------


def machine_facts() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    wrk_out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout  # noqa: S607
    wrk_version = wrk_out.split("\n")[0].split(" [")[0]
    versions = {}
    from importlib.metadata import PackageNotFoundError, version

    for package in ("starlette", "uvicorn", "uvloop", "httptools", "sqlalchemy", "asyncpg", "argon2-cffi"):
        with contextlib.suppress(PackageNotFoundError):
            versions[package] = version(package)
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{mem_kib / 1024 / 1024:.0f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "wrk": wrk_version,
    }


def gatepass_env(args: argparse.Namespace, db: Database, tmp: Path, port: int, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({
        "GATEPASS_DATABASE_URL": db.gatepass_url,
        "GATEPASS_SERVER_INSTANCE_SECRET": secret,
        "GATEPASS_SERVER_VAR_DIR": str(tmp / "var"),
        "GATEPASS_SERVER_HOST": "127.0.0.1",
        "GATEPASS_SERVER_PORT": str(port),
        "GATEPASS_SERVER_ISSUER": f"http://127.0.0.1:{port}",
        "GATEPASS_SERVER_LOG_LEVEL": args.log_level,
        "GATEPASS_ADMIN_EMAIL": "bench-admin@bench.test",
        "GATEPASS_ADMIN_PASSWORD": secrets.token_urlsafe(18),
        # Benchmarking the paths, not the limiter: every limit off.
        "GATEPASS_RATE_LIMITS_LOGIN_PER_IP_PER_MINUTE": "0",
        "GATEPASS_RATE_LIMITS_TOKEN_PER_IP_PER_MINUTE": "0",
        "GATEPASS_RATE_LIMITS_TOKEN_PER_CLIENT_PER_MINUTE": "0",
        "GATEPASS_RATE_LIMITS_INTROSPECTION_PER_CLIENT_PER_MINUTE": "0",
    })
    if args.pool_size:
        env["GATEPASS_DATABASE_POOL_SIZE"] = str(args.pool_size)
    env["GATEPASS_DATABASE_READ_CACHE"] = args.read_cache
    env["GATEPASS_TOKENS_JWT_ACCESS_TOKEN_ALG"] = args.jwt_alg
    if args.redis:
        env["GATEPASS_REDIS_URL"] = args.redis
    return env


def selected(args: argparse.Namespace, key: str) -> bool:
    return not args.only or key in args.only


def run_bench(args: argparse.Namespace) -> Run:
    from gatepass.protocol.tokens import derive_key

    wrk = ensure_wrk()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    raw = RAW_DIR / stamp
    raw.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="gp-bench-"))
    CLEANUP.push("remove temporary folder", lambda: shutil.rmtree(tmp, ignore_errors=True))
    try:
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    CLEANUP.push("close event loop", loop.close)
    run = Run(args=args, wrk=wrk, raw=raw, tmp=tmp, loop=loop)
    run.facts = machine_facts()  # type: ignore[attr-defined]
    run.load_before = os.getloadavg()  # type: ignore[attr-defined]
    started = time.monotonic()

    db: Database
    if args.backend == "postgresql":
        db = PostgresDatabase(args.pg_url)
    elif args.backend == "mariadb":
        db = MariaDatabase(args.mariadb_url)
    else:
        db = SqliteDatabase(tmp / "db")
    log(f"fresh database: {db.label}")
    loop.run_until_complete(db.create())
    if not args.keep_database:
        CLEANUP.push("drop database", lambda: asyncio.run(db.drop()))
    run.db_label, run.db_version = db.label, db.version()  # type: ignore[attr-defined]

    port = free_port()
    secret = secrets.token_urlsafe(36)
    env = gatepass_env(args, db, tmp, port, secret)
    base = f"http://127.0.0.1:{port}"
    password = "Bench-" + secrets.token_urlsafe(18)
    base_email = "bench-user-0000@bench.test"

    log("migrate, then users and clients through the gatepass CLI")
    client_secrets = seed_accounts(env, base_email, password, args.id_token_alg)
    seeder = loop.run_until_complete(db.seeder())
    CLEANUP.push("close seeding connection", lambda: loop.run_until_complete(seeder.close()))
    run.seeder = seeder
    users = loop.run_until_complete(clone_users(seeder, base_email, args.users))
    digest_key = derive_key(secret.encode(), "token-digest")
    fixture = Fixture(users=users, password=password, secrets=client_secrets, digest_key=digest_key,
                      lookup_sample=Reservoir(args.lookup_sample, random.Random(8)))
    fixture.next_grant_id = int(loop.run_until_complete(seeder.scalar("SELECT max(id) FROM token_grants")) or 0) + 1
    log(f"{len(users)} users; seeding {args.refresh_tokens:,} refresh-token families and {args.small:,} access tokens")
    loop.run_until_complete(seed_refresh_families(seeder, fixture, args.refresh_tokens))
    loop.run_until_complete(seed_access_tokens(seeder, fixture, args.small))
    small_sample = list(fixture.lookup_sample.items)

    floor_port = free_port()
    floor_cmd = [sys.executable, str(BENCH / "floor.py"), "--port", str(floor_port), "--workers", str(args.workers)]
    floor = start_process("floor", floor_cmd, env, raw / "floor.log")
    wait_http(f"http://127.0.0.1:{floor_port}/floor", floor.proc, raw / "floor.log")
    run.server_pid, run.workers = floor.proc.pid, uvicorn_workers(floor.proc.pid)
    floor_url = f"http://127.0.0.1:{floor_port}/floor"
    measure_wrk(run, "floor", "floor: bare Starlette JSON", "floor.lua", floor_url, {})
    floor.stop()

    def serve(label: str, server_env: dict[str, str], server_base: str) -> Managed:
        log(f"gatepass serve --workers {args.workers} on {server_base} (read cache "
            f"{server_env['GATEPASS_DATABASE_READ_CACHE']})")
        server = start_process(label, [str(BIN / "gatepass"), "serve", "--workers", str(args.workers)], server_env,
                               raw / f"{label}.log")
        wait_http(f"{server_base}/healthz", server.proc, raw / f"{label}.log")
        run.server_pid, run.workers = server.proc.pid, []
        deadline = time.monotonic() + 30
        while len(run.workers) < args.workers and time.monotonic() < deadline:
            run.workers = uvicorn_workers(server.proc.pid)
            time.sleep(0.2)
            run.workers = uvicorn_workers(server.proc.pid)
        return server

    # The lookup rows measure the database lookup itself, so they run against a server whose read
    # cache is off: with it on, they would measure how many of the sampled tokens repeat.
    lookup_port = free_port()
    lookup_base = f"http://127.0.0.1:{lookup_port}"
    lookup_server = serve("gatepass-lookups", {
        **env, "GATEPASS_SERVER_PORT": str(lookup_port), "GATEPASS_SERVER_ISSUER": lookup_base,
        "GATEPASS_DATABASE_READ_CACHE": "off",
    }, lookup_base)
    rs_basic = basic(RS_CLIENT, client_secrets[RS_CLIENT])

    def lookup_paths(size_key: str, sample: list[str]) -> None:
        base = lookup_base
        tokens = run.file(f"lookup-{size_key}.txt", sample)
        probe = httpx.post(f"{base}/oauth/introspect", data={"token": sample[0]},
                           headers={"Authorization": f"Basic {rs_basic}"})
        check(probe.status_code == 200 and probe.json().get("active") is True, "introspection", probe)
        probe = httpx.get(f"{base}/oauth/userinfo", headers={"Authorization": f"Bearer {sample[0]}"})
        check(probe.status_code == 200 and "sub" in probe.json(), "userinfo", probe)
        if selected(args, "b"):
            measure_wrk(run, f"b@{size_key}", f"{PATHS['b']}, {size_key} tokens", "introspect.lua",
                        f"{base}/oauth/introspect", {"basic": rs_basic, "tokens": tokens})
        if selected(args, "c"):
            measure_wrk(run, f"c@{size_key}", f"{PATHS['c']}, {size_key} tokens", "bearer_get.lua",
                        f"{base}/oauth/userinfo", {"path": "/oauth/userinfo", "tokens": tokens})

    lookup_paths("small", small_sample)
    log(f"seeding up to {args.large:,} access tokens")
    seconds = loop.run_until_complete(seed_access_tokens(seeder, fixture, args.large))
    log(f"seeded {fixture.access_tokens:,} access tokens in {seconds:.0f} s (analysed, checkpointed)")
    large_sample = list(fixture.lookup_sample.items)
    lookup_paths("large", large_sample)
    lookup_server.stop()
    server = serve("gatepass", env, base)
    # The hot-path rows: clients that each use their token many times, as real ones do (a token lives an
    # hour), so the tokens in use are a working set of --active-tokens, drawn from the whole table.
    active = run.file("active.txt", large_sample[: args.active_tokens])
    if selected(args, "b"):
        measure_wrk(run, "b", PATHS["b"], "introspect.lua", f"{base}/oauth/introspect",
                    {"basic": rs_basic, "tokens": active})
    if selected(args, "c"):
        measure_wrk(run, "c", PATHS["c"], "bearer_get.lua", f"{base}/oauth/userinfo",
                    {"path": "/oauth/userinfo", "tokens": active})
    if selected(args, "c_dpop"):
        web_basic = basic(WEB_CLIENT, client_secrets[WEB_CLIENT])
        measure_dpop_userinfo(run, base, fixture.refresh_tokens.pop(0), web_basic)

    # (a) the document API, when it is served.
    if selected(args, "a"):
        owner = fixture.owner_tokens[0]
        created = httpx.post(f"{base}/api/resource/ToDo", json={"description": "benchmark ToDo"},
                             headers={"Authorization": f"Bearer {owner}"})
        name = None
        with contextlib.suppress(ValueError, AttributeError, TypeError, KeyError):
            name = created.json()["data"]["name"]
        if created.status_code in (200, 201) and name:
            path = f"/api/resource/ToDo/{name}"
            probe = httpx.get(f"{base}{path}", headers={"Authorization": f"Bearer {fixture.owner_tokens[1]}"})
            check(probe.status_code == 200, "GET /api/resource/ToDo/{name}", probe)
            tokens = run.file("owner.txt", fixture.owner_tokens[: args.active_tokens])
            measure_wrk(run, "a", PATHS["a"], "bearer_get.lua", f"{base}{path}", {"path": path, "tokens": tokens})
        else:
            run.results["a"] = Result("a", PATHS["a"], available=False,
                                      note=f"not available yet (POST /api/resource/ToDo: HTTP {created.status_code})")
            log(f"(a) not available yet: POST /api/resource/ToDo answered HTTP {created.status_code}")

    if selected(args, "d"):
        svc_basic = basic(SVC_CLIENT, client_secrets[SVC_CLIENT])
        probe = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials", "scope": "all"},
                           headers={"Authorization": f"Basic {svc_basic}"})
        check(probe.status_code == 200 and "access_token" in probe.json(), "client credentials", probe)
        measure_wrk(run, "d", PATHS["d"], "client_credentials.lua", f"{base}/oauth/token",
                    {"basic": svc_basic, "scope": "all"})

    if selected(args, "d_jwt"):
        jwt_basic = basic(SVC_JWT_CLIENT, client_secrets[SVC_JWT_CLIENT])
        probe = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials", "scope": "all"},
                           headers={"Authorization": f"Basic {jwt_basic}"})
        check(probe.status_code == 200 and probe.json().get("access_token", "").count(".") == 2,
              "client credentials with a JWT access token", probe)
        measure_wrk(run, "d_jwt", PATHS["d_jwt"], "client_credentials.lua", f"{base}/oauth/token",
                    {"basic": jwt_basic, "scope": "all"})

    if selected(args, "e"):
        web_basic = basic(WEB_CLIENT, client_secrets[WEB_CLIENT])
        pool = fixture.refresh_tokens
        probe = httpx.post(f"{base}/oauth/token", data={"grant_type": "refresh_token", "refresh_token": pool[-1]},
                           headers={"Authorization": f"Basic {web_basic}"})
        check(probe.status_code == 200 and "refresh_token" in probe.json(), "refresh grant", probe)
        share = args.warmup / (args.warmup + args.duration) if args.warmup > 0 else 0.0
        split = int((len(pool) - 1) * share)
        warm = run.file("refresh-warmup.txt", pool[:split] or pool[:1])
        main = run.file("refresh-main.txt", pool[split:-1])
        measure_wrk(run, "e", PATHS["e"], "refresh.lua", f"{base}/oauth/token",
                    {"basic": web_basic, "tokens": main}, {"basic": web_basic, "tokens": warm})

    if selected(args, "f"):
        measure_flows(run, "f_pw", base, fixture, logged_in=False)
        measure_flows(run, "f_nopw", base, fixture, logged_in=True)

    if selected(args, "g"):
        measure_flows(run, "g", base, fixture, logged_in=False, logins_only=True)

    run.rss = {pid: rss_kib(pid) for pid in uvicorn_workers(server.proc.pid)}  # type: ignore[attr-defined]
    run.supervisor_rss = rss_kib(server.proc.pid)  # type: ignore[attr-defined]
    server.stop()

    if selected(args, "floor"):
        floor = start_process("floor", floor_cmd, env, raw / "floor-end.log")
        wait_http(floor_url, floor.proc, raw / "floor-end.log")
        run.server_pid, run.workers = floor.proc.pid, uvicorn_workers(floor.proc.pid)
        first = run.results["floor"]
        measure_wrk(run, "floor_end", "floor again, at the end", "floor.lua", floor_url, {})
        floor.stop()
        run.results["floor_start"] = first
        end = run.results["floor_end"]
        mean = Result("floor", "floor: bare Starlette JSON (mean of start and end)", rps=(first.rps + end.rps) / 2,
                      p50_ms=(first.p50_ms + end.p50_ms) / 2, p99_ms=max(first.p99_ms, end.p99_ms),
                      errors=first.errors + end.errors, requests=first.requests + end.requests, cpu=first.cpu)
        run.results["floor"] = mean
    run.seeded = fixture  # type: ignore[attr-defined]
    run.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
    run.load_after = os.getloadavg()  # type: ignore[attr-defined]
    return run


# -- the report -------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _lookup_cost(result: Result) -> float:
    return result.cpu.get("server", 0.0) + result.cpu.get("database", 0.0)


def goals(run: Run) -> list[tuple[str, str, str]]:
    """(goal, measured, verdict) for each speed and memory goal of the data path, and node-oidc-provider's bar."""
    res = run.results
    floor = res.get("floor")
    out: list[tuple[str, str, str]] = []

    def ratio(r: Result) -> float:
        return r.rps / floor.rps if floor and floor.rps else 0.0

    def verdict(ok: bool) -> str:
        return "met" if ok else "not met"

    large = run.seeded.access_tokens  # type: ignore[attr-defined]
    for key in ("b", "c"):
        r = res.get(f"{key}@large")
        if r is not None and r.available:
            worker = r.cpu.get("server", 0)
            out.append((f"{key}: uncached lookup, {large:,} stored tokens: ≤ 300 µs of worker CPU and ≥ 20% of floor",
                        f"{worker:,.0f} µs, {ratio(r):.1%} of floor",
                        verdict(0 < worker <= 300 and ratio(r) >= 0.20)))
    r = res.get("d")
    if r is not None and r.available:
        out.append(("d: client_credentials issuance ≥ 20% of floor, p99 < 25 ms",
                    f"{ratio(r):.1%} of floor, p99 {_ms(r.p99_ms)} ms", verdict(ratio(r) >= 0.20 and r.p99_ms < 25)))
    r = res.get("d_jwt")
    if r is not None and r.available:
        out.append(("d: client_credentials with JWT access tokens ≥ 40% of floor", f"{ratio(r):.1%} of floor",
                    verdict(ratio(r) >= 0.40)))
    r = res.get("e")
    if r is not None and r.available:
        out.append(("e: refresh ≥ 12% of floor", f"{ratio(r):.1%} of floor", verdict(ratio(r) >= 0.12)))
    r = res.get("a")
    if r is not None and r.available:
        out.append(("a: document GET by name ≥ 25% of floor", f"{ratio(r):.1%} of floor", verdict(ratio(r) >= 0.25)))
    r = res.get("f_pw")
    if r is not None and r.available:
        out.append((f"f: code + PKCE flows with a password login ≥ 40 flows/s on {run.args.workers} workers",
                    f"{r.flows_per_s:,.1f} flows/s", verdict(r.flows_per_s >= 40)))
    for key in ("b", "c"):
        small, large_run = res.get(f"{key}@small"), res.get(f"{key}@large")
        if small and large_run:
            # Cost per lookup (worker + database CPU per request) is what the table size could change;
            # requests/s and p99 also move with the other tenants of a shared machine, so they are shown
            # beside it, and the verdict asks the cost to stay within 10%.
            speed = large_run.rps / small.rps if small.rps else 0
            cost_small, cost_large = _lookup_cost(small), _lookup_cost(large_run)
            out.append((f"{key}: as fast with {large:,} stored tokens as with "
                        f"{run.args.small:,} (worker + database CPU per request within 10%)",
                        f"{cost_small:,.0f} → {cost_large:,.0f} µs/request; {speed:.0%} of the req/s, "
                        f"p99 {_ms(small.p99_ms)} → {_ms(large_run.p99_ms)} ms",
                        verdict(cost_small > 0 and cost_large <= cost_small * 1.10)))
    rss = getattr(run, "rss", {})
    if rss:
        worst = max(rss.values()) / 1024
        out.append(("< 150 MB RSS per worker after the whole run", f"largest worker {worst:.0f} MiB", verdict(worst < 150)))
    for key, bar in NODE_BAR.items():
        r = res.get("f_nopw" if key == "f" else key)
        if r is None or not r.available:
            continue
        value = r.flows_per_s if key == "f" else r.rps
        unit = "flows/s" if key == "f" else "req/s"
        out.append((f"{key} beats node-oidc-provider ({bar:,} {unit})", f"{value:,.0f} {unit}", verdict(value > bar)))
    return out


def summary(run: Run, command: str) -> dict[str, Any]:
    """What bench/suite.py puts side by side: every measured path, its ratio to the floor, and the goals."""
    floor = run.results.get("floor")
    return {
        "command": command,
        "backend": run.args.backend,
        "read_cache": run.args.read_cache,
        "redis": bool(run.args.redis),
        "database": run.db_label,  # type: ignore[attr-defined]
        "load_before": run.load_before[0],  # type: ignore[attr-defined]
        "results": {
            key: {
                "label": PATHS.get(key, r.label),
                "available": r.available,
                "rps": r.rps,
                "flows_per_s": r.flows_per_s,
                "p50_ms": r.p50_ms,
                "p99_ms": r.p99_ms,
                "errors": r.errors,
                "ratio": r.rps / floor.rps if floor and floor.rps else 0.0,
                "cpu": r.cpu,
                "note": r.note,
            }
            for key, r in run.results.items()
        },
        "rss_mib": [kib / 1024 for kib in getattr(run, "rss", {}).values()],
        "goals": [{"goal": g, "measured": m, "verdict": v} for g, m, v in goals(run)],
    }


def table(run: Run) -> str:
    res = run.results
    floor = res.get("floor")
    lines = ["| hot path | requests/s | p50 ms | p99 ms | errors | ratio to floor |",
             "|---|---:|---:|---:|---:|---:|"]
    order = ["floor", "a", "b", "c", "c_dpop", "d", "d_jwt", "e", "f_pw", "f_nopw", "g"]
    for key in order:
        r = res.get(key)
        if r is None:
            continue
        if not r.available:
            lines.append(f"| {r.label} | {r.note} | | | | |")
            continue
        rate = f"{r.rps:,.0f}"
        if key.startswith("f_"):
            rate = f"{r.flows_per_s:,.1f} flows/s ({r.rps:,.0f} req/s)"
        if key == "g":
            rate = f"{r.flows_per_s:,.1f} logins/s ({r.rps:,.0f} req/s)"
        share = f"{r.rps / floor.rps:.1%}" if floor and floor.rps and key != "floor" else "1"
        label = PATHS.get(key, r.label)
        if key in ("b", "c"):
            label += f", {run.seeded.access_tokens:,} stored tokens"  # type: ignore[attr-defined]
        if key in ("a", "b", "c"):
            label += f", {run.args.active_tokens:,} tokens in use"
        if key == "floor":
            label = r.label
        lines.append(f"| {label} | {rate} | {_ms(r.p50_ms)} | {_ms(r.p99_ms)} | {r.errors} | {share} |")
    return "\n".join(lines)


def lookup_table(run: Run) -> str:
    res = run.results
    seeded = run.seeded  # type: ignore[attr-defined]
    lines = ["| lookup | stored access tokens | requests/s | p50 ms | p99 ms | errors | worker + DB CPU µs/req |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for key in ("b", "c"):
        for size in ("small", "large"):
            r = res.get(f"{key}@{size}")
            if r is None:
                continue
            count = run.args.small if size == "small" else seeded.access_tokens
            lines.append(f"| {PATHS[key]} | {count:,} | {r.rps:,.0f} | {_ms(r.p50_ms)} | {_ms(r.p99_ms)} "
                         f"| {r.errors} | {_lookup_cost(r):,.0f} |")
    return "\n".join(lines)


def cpu_table(run: Run) -> str:
    lines = ["| path | server µs/req | database µs/req | load generator µs/req | other processes µs/req | "
             "machine busy | server writes/req | new DB connections |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    keys = ["floor_start", "floor_end", "a", "b", "b@small", "b@large", "c", "c@small", "c@large", "c_dpop", "d",
            "d_jwt", "e", "f_pw", "f_nopw", "g"]
    for key in keys:
        r = run.results.get(key)
        if r is None or not r.cpu:
            continue
        c = r.cpu
        lines.append(f"| {key} | {c.get('server', 0):,.0f} | {c.get('database', 0):,.0f} | {c.get('load', 0):,.0f} | "
                     f"{c.get('other', 0):,.0f} | {c.get('machine_busy_pct', 0):.0f}% | "
                     f"{c.get('server_writes', 0):.1f} | {'' if r.new_connections is None else r.new_connections} |")
    return "\n".join(lines)


def report(run: Run, command: str) -> str:
    args, facts, seeded = run.args, run.facts, run.seeded  # type: ignore[attr-defined]
    rss = getattr(run, "rss", {})
    rss_line = ", ".join(f"{kib / 1024:.0f} MiB" for kib in rss.values())
    total = sum(rss.values()) / 1024
    notes = [r for r in run.results.values() if r.note]
    goal_rows = "\n".join(f"| {g} | {m} | {v} |" for g, m, v in goals(run))
    return f"""# Gatepass benchmark results

Written by `make bench` (bench/run.py) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {run.elapsed / 60:.1f} minutes.
Command: `{command}`

## Machine

- {facts['cpu']}, {facts['memory']} memory, {facts['os']}, Python {facts['python']}
- {run.db_version}: {run.db_label} (created and dropped by the run)
- {facts['packages']}; {facts['wrk']}
- load average before the run {run.load_before[0]:.2f}, after {run.load_after[0]:.2f} (the machine is shared:
  other sessions' tests run beside the benchmark, hence the ratios to the floor measured in the same run)

## Hot paths

`gatepass serve --workers {args.workers}` (uvicorn, uvloop, httptools; log level {args.log_level},
rate limits off, read cache {args.read_cache}{', Redis ' + args.redis if args.redis else ', no Redis'}), wrk with {args.connections} connections and
{args.threads} threads, {args.duration:g} s per path after a {args.warmup:g} s warm-up. Flows:
{args.connections} concurrent asyncio + httpx browsers, measured for {args.flow_duration:g} s after a
{args.flow_warmup:g} s warm-up, or longer (up to {args.flow_max_duration:g} s) until {args.connections}
flows completed; their p50/p99 are of whole flows. Errors are socket errors, timeouts and HTTP
statuses ≥ 400 (wrk), or failed flows. Ratio: requests/s over the floor's requests/s (mean of the
floor measured at the start and at the end of the run: {run.results['floor_start'].rps:,.0f} and
{run.results['floor_end'].rps:,.0f} req/s).

{table(run)}

Stored at measurement time: {seeded.access_tokens:,} access tokens for lookups, plus
{seeded.refresh_family_rows:,} refresh-token families (grant, refresh token, access token) for (e).

## Token lookup: 10,000 vs 1,000,000 stored access tokens

Each run rotates through {args.lookup_sample:,} different tokens (a uniform sample of the whole table), against
a `gatepass serve` of its own with the read cache off, so every request looks its token up in the database:
these rows measure that lookup, where the hot-path rows above measure clients that reuse their tokens.

{lookup_table(run)}

## CPU per request

From /proc: CPU time of the Gatepass processes, of the database server (PostgreSQL: the backends serving
the benchmark database; MariaDB: the whole server), of the load generator, and of everything else on the
machine (other sessions), divided by the requests (flows: HTTP requests).
Server writes/req: write(2) calls of the server processes per request, i.e. its HTTP responses plus one per
message it sends to the database (each is a round trip): the floor shows what one response costs. New DB
connections: connections opened to the benchmark database during the measurement (pool churn).

{cpu_table(run)}

## Memory

Worker RSS (VmRSS) after the whole run: {rss_line}; sum {total:.0f} MiB (supervisor
{getattr(run, 'supervisor_rss', 0) / 1024:.0f} MiB, not a worker).

## Goals (and the bar set by node-oidc-provider)

| goal | measured | verdict |
|---|---|---|
{goal_rows}

The bar of node-oidc-provider (9.13 with its in-memory store) was measured on another machine "like
this one"; compare the ratios to the floor rather than the raw numbers. Its flows check no password, so
they compare with the logged-in row.

## How each path is measured

- (a) `GET /api/resource/ToDo/{{name}}` with `Authorization: Bearer`, rotating through tokens of the ToDo's owner.
- (b) `POST /oauth/introspect`, client_secret_basic as a resource server, `token_type_hint=access_token`,
  rotating through the sample of stored tokens (scope `openid profile email roles all`: the answer has user fields).
- (c) `GET /oauth/userinfo` with `Authorization: Bearer`, same tokens.
  The DPoP row: `Authorization: DPoP` with one token bound to an ES256 key (RFC 9449) and a new proof per
  request (made beforehand; each is single-use, so each request also records its jti in the database).
- (d) `POST /oauth/token` `grant_type=client_credentials&scope=all`, client_secret_basic; each writes a grant,
  an access token and an audit event. The JWT row: the same request for a client whose access tokens are RFC 9068
  JWTs (tokens.jwt_access_token_alg, RS256 by default), which writes the audit event only.
- (e) `POST /oauth/token` `grant_type=refresh_token`: every request spends a different seeded refresh token once
  (scope `openid profile email`, so each rotation also signs an RS256 id_token).
- (f) authorize → login page (CSRF cookie) → login POST (argon2 check) → authorize, which shows the consent page
  → consent POST → code → token (PKCE S256, client_secret_basic, id_token): 6 requests, with `consent_mode=force`
  so every flow shows the consent page, and a new browser (no cookies) each time. The logged-in variant keeps
  one session per browser (logged in before the clock starts) and starts at authorize: 3 requests.
- (g) a new browser (no cookies) logging in: login page (CSRF cookie) → login POST with the real password, which
  the server checks with argon2id (security.password_hash_* settings) off its event loop: 2 requests a login.
{chr(10).join(f'- note, {r.key}: {r.note}' for r in notes)}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "mariadb"), default="postgresql")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432",
                        help="the server to create the database on")
    parser.add_argument("--mariadb-url", default="mysql://root@127.0.0.1:3306")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32, help="wrk connections, and concurrent flows")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=float, default=10, help="seconds measured per path")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up before each path")
    parser.add_argument("--flow-duration", type=float, default=10)
    parser.add_argument("--flow-warmup", type=float, default=3)
    parser.add_argument("--flow-max-duration", type=float, default=40,
                        help="measure flows longer, up to this, until as many flows as browsers completed")
    parser.add_argument("--small", type=int, default=10_000, help="stored access tokens, first lookup measurement")
    parser.add_argument("--large", type=int, default=1_000_000, help="stored access tokens, second measurement")
    parser.add_argument("--refresh-tokens", type=int, default=80_000, help="seeded refresh tokens for (e)")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--active-tokens", type=int, default=1_000,
                        help="distinct tokens the hot-path rows (a), (b), (c) rotate through")
    parser.add_argument("--lookup-sample", type=int, default=20_000, help="distinct tokens each lookup run rotates")
    parser.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    parser.add_argument("--pool-size", type=int, default=0, help="database.pool_size per worker (default: Gatepass's)")
    parser.add_argument("--read-cache", choices=("auto", "node", "off"), default="auto",
                        help="database.read_cache: auto (Gatepass's default: on with SQLite, PostgreSQL or Redis, off "
                             "for MariaDB without Redis), node (on: one node) or off")
    parser.add_argument("--redis", metavar="URL", default="",
                        help="redis.url for the server (read-cache notices between nodes), e.g. redis://127.0.0.1:6379/0")
    parser.add_argument("--jwt-alg", choices=("RS256", "ES256", "EdDSA"), default="RS256",
                        help="tokens.jwt_access_token_alg for the JWT access token row (d_jwt)")
    parser.add_argument("--id-token-alg", choices=("RS256", "ES256", "EdDSA"), default="RS256",
                        help="the web client's id_token_signed_response_alg: the id_tokens of the flows (f) and of "
                             "each refresh (e); RS256 is OpenID Connect's default")
    parser.add_argument("--dpop-proofs-per-second", type=int, default=8_000,
                        help="DPoP proofs made beforehand per second of the (c_dpop) row: above its rate, or replays")
    parser.add_argument("--only", type=lambda s: set(s.split(",")), default=set(),
                        help="comma list of a,b,c,d,d_jwt,e,f,g,floor (development; the table is then partial)")
    parser.add_argument("--profile", metavar="DIR",
                        help="also record each path with py-spy into DIR; RESULTS.md is left alone")
    parser.add_argument("--profile-rate", type=int, default=200)
    parser.add_argument("--results", default=str(BENCH / "RESULTS.md"))
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database (debugging)")
    args = parser.parse_args()
    if args.large < args.small:
        parser.error("--large must be at least --small")
    args.only = args.only and args.only | {"floor"}

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    command = "make bench" if os.environ.get("MAKELEVEL") else " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    if os.environ.get("MAKELEVEL") and len(sys.argv) > 1:
        command = f"make bench BENCH_ARGS='{' '.join(sys.argv[1:])}'"
    try:
        run = run_bench(args)
        text = report(run, command)
        (run.raw / "RESULTS.md").write_text(text)
        (run.raw / "summary.json").write_text(json.dumps(summary(run, command), indent=1))
        if not args.profile and not args.only:
            Path(args.results).write_text(text)
            Path(args.results).with_suffix(".json").write_text(json.dumps(summary(run, command), indent=1))
            log(f"wrote {args.results}")
        print()
        print(table(run))
        print()
        print(lookup_table(run))
        print()
        for goal, measured, verdict in goals(run):
            print(f"  {verdict:>12}  {goal}: {measured}")
        return 0
    except BenchError as exc:
        print(f"[bench] {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        CLEANUP.run()


if __name__ == "__main__":
    sys.exit(main())
