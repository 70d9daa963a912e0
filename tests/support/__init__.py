"""Real things for tests: databases on each backend and Gatepass servers in their own processes."""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import json
import os
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
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


def require(reason: str | None) -> None:
    """Skip for a missing service on a laptop; under CI=true a missing service is a failure."""
    if reason is None:
        return
    import pytest

    if IS_CI:
        pytest.fail(f"CI requires this, but: {reason}")
    pytest.skip(reason)


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
        """`python -m gatepass ARGS` with this server's settings (see run_gatepass)."""
        result = run_gatepass(args, env=self.env, input=input, timeout=120)
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


# -- `gatepass` commands, forked from a warm interpreter ----------------------------------------
#
# A `gatepass` command spends about 1.5 s importing (SQLAlchemy, Alembic, Authlib, Starlette, ...)
# before it does its work, and the suite runs hundreds of them. So each pytest process starts one
# "zygote": a Python that has done those imports and then waits. For each command it forks twice:
# a handler, and under it the command's own process, which gets the environment, working folder,
# arguments and standard input, output and error that `python -m gatepass` would get, runs
# gatepass's __main__ exactly as `-m` does, and exits as the interpreter would (threads joined,
# atexit handlers run, output flushed). Exit code, output and error come back as from
# subprocess.run. Anything the zygote cannot reproduce (another PYTHON*/LANG/... environment, no
# fork) runs as a plain subprocess; GATEPASS_TEST_CLI_FORK=0 turns the zygote off.

#: What `gatepass <command>` imports on any backend; a module that fails to import is left alone
#: (the command's own import then fails as it would in a fresh process).
_WARM_MODULES = (
    "gatepass.cli",
    "gatepass.app",
    "gatepass.db.migrate",
    "gatepass.services.accounts",
    "gatepass.services.stores",
    "gatepass.services.clients",
    "gatepass.services.doctypes",
    "gatepass.services.providers",
    "sqlalchemy.exc",
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "sqlalchemy.dialects.postgresql.asyncpg",
    "sqlalchemy.dialects.mysql.aiomysql",
    "aiosqlite",
    "asyncpg",
    "aiomysql",
    "alembic.command",
    "alembic.config",
    "alembic.script",
    "alembic.runtime.migration",
    "alembic.runtime.environment",
    "alembic.ddl.sqlite",
    "alembic.ddl.postgresql",
    "alembic.ddl.mysql",
)

_ZYGOTE = r"""
import importlib, json, os, select, signal, socket, struct, sys

def recv_exact(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data

def recv_frame(conn):
    (size,) = struct.unpack("!I", recv_exact(conn, 4))
    return json.loads(recv_exact(conn, size))

def send_frame(conn, message):
    data = json.dumps(message).encode()
    conn.sendall(struct.pack("!I", len(data)) + data)

def exit_code(exc):
    # As the interpreter turns an uncaught SystemExit into an exit status.
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(str(code) + "\n")
    except Exception:
        pass
    return 1

def run_command(request):
    # The command's own process: become `python -m gatepass ARGS`, then exit as the interpreter would.
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.path[0] = request["cwd"]
    sys.argv = ["-m", *request["args"]]
    code = 0
    try:
        import runpy
        runpy._run_module_as_main("gatepass")
    except SystemExit as exc:
        code = exit_code(exc)
    except BaseException as exc:
        # The traceback starts where `python -m` starts it: at runpy, not in this function.
        sys.excepthook(type(exc), exc, exc.__traceback__.tb_next)
        code = 1
    try:
        import threading
        threading._shutdown()
    except BaseException:
        pass
    try:
        import atexit
        atexit._run_exitfuncs()
    except SystemExit as exc:
        code = exit_code(exc)
    except BaseException:
        pass
    try:
        sys.stdout.flush()
    except BaseException:
        code = 120
    try:
        sys.stderr.flush()
    except BaseException:
        pass
    os._exit(code)

def handle(conn):
    # A child of the zygote: forks the command, reports its pid, then its outcome.
    request = recv_frame(conn)
    if request.get("input") is None:
        stdin = os.open(os.devnull, os.O_RDONLY)
    else:
        stdin = os.memfd_create("stdin")
        os.write(stdin, bytes.fromhex(request["input"]))
        os.lseek(stdin, 0, os.SEEK_SET)
    out, err = os.memfd_create("stdout"), os.memfd_create("stderr")
    pid = os.fork()
    if pid == 0:
        try:
            conn.close()
            for fd, target in ((stdin, 0), (out, 1), (err, 2)):
                os.dup2(fd, target)
                os.close(fd)
        except BaseException:
            os._exit(70)
        run_command(request)
    send_frame(conn, {"pid": pid})
    _, status = os.waitpid(pid, 0)
    outputs = []
    for fd in (out, err):
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        outputs.append(b"".join(chunks).hex())
    send_frame(conn, {"returncode": os.waitstatus_to_exitcode(status), "stdout": outputs[0], "stderr": outputs[1]})

def main():
    path, modules = sys.argv[1], sys.argv[2].split(",")
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException:
            pass
    import threading
    if threading.active_count() != 1:
        sys.exit("an import started a thread: forking is not safe")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(128)
    # Handlers are not waited for: the kernel reaps them.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        # Standard input is a pipe from pytest: its end means pytest is gone.
        readable, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in readable:
            return
        conn, _ = listener.accept()
        if os.fork() == 0:
            try:
                listener.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                handle(conn)
            finally:
                os._exit(0)
        conn.close()

main()
"""

#: What the environment of a forked command may differ in from the zygote's (Gatepass settings, and
#: the test pytest is running): the rest (PYTHON*, locale, TZ, PATH, ...) may be read when an
#: interpreter starts, so a command whose environment differs there runs as a plain subprocess.
_SETTINGS_PREFIX = "GATEPASS_"
_PER_TEST = "PYTEST_CURRENT_TEST"


class _Zygote:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="gatepass-cli-"))
        self.path = str(self.folder / "zygote.sock")
        self.env = _base_env(os.environ)
        with (self.folder / "zygote.log").open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _ZYGOTE, self.path, ",".join(_WARM_MODULES)],
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        assert self.process.stdout is not None
        if self.process.stdout.readline() != b"ready\n":
            raise RuntimeError(f"the CLI zygote did not start: {self.stop()[-3000:]}")

    def stop(self) -> str:
        # The end of its standard input tells the zygote to exit.
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        log = (self.folder / "zygote.log").read_text(errors="replace")
        shutil.rmtree(self.folder, ignore_errors=True)
        return log

    def run(
        self, args: tuple[str, ...], env: dict[str, str], input: str | None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        encoding = _text_encoding()
        request = {
            "args": list(args),
            "env": env,
            "cwd": os.getcwd(),
            "input": None if input is None else input.encode(encoding).hex(),
        }
        pid = None
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            try:
                conn.connect(self.path)
                _send_frame(conn, request)
                pid = _recv_frame(conn)["pid"]
                outcome = _recv_frame(conn)
            except TimeoutError:
                if pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, 9)
                raise subprocess.TimeoutExpired(_command(args), timeout) from None
        return subprocess.CompletedProcess(
            _command(args),
            outcome["returncode"],
            _decode(bytes.fromhex(outcome["stdout"]), encoding),
            _decode(bytes.fromhex(outcome["stderr"]), encoding),
        )


#: How many commands ran each way in this process (to check that forking is in use).
CLI_RUNS = {"forked": 0, "subprocess": 0}
_zygote: _Zygote | None = None
_zygote_failed = False
_zygote_lock = threading.Lock()


def _base_env(env: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if not key.startswith(_SETTINGS_PREFIX) and key != _PER_TEST}


def _text_encoding() -> str:
    import locale

    return locale.getpreferredencoding(False)


def _decode(data: bytes, encoding: str) -> str:
    # As subprocess.run(text=True) does: universal newlines.
    return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


def _command(args: tuple[str, ...]) -> list[str]:
    return [sys.executable, "-m", "gatepass", *args]


def _send_frame(conn: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode()
    conn.sendall(struct.pack("!I", len(data)) + data)


def _recv_frame(conn: socket.socket) -> dict[str, Any]:
    def exact(size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                raise RuntimeError("the CLI zygote closed the connection")
            data += chunk
        return data

    (size,) = struct.unpack("!I", exact(4))
    message: dict[str, Any] = json.loads(exact(size))
    return message


def _get_zygote() -> _Zygote | None:
    global _zygote, _zygote_failed
    if os.environ.get("GATEPASS_TEST_CLI_FORK", "1") == "0" or not hasattr(os, "memfd_create"):
        return None
    with _zygote_lock:
        if _zygote is None and not _zygote_failed:
            try:
                _zygote = _Zygote()
            except (OSError, RuntimeError) as exc:
                _zygote_failed = True
                print(f"gatepass CLI commands run as plain subprocesses: {exc}", file=sys.stderr)
            else:
                atexit.register(_zygote.stop)
        return _zygote


def run_gatepass(
    args: tuple[str, ...] | list[str], *, env: dict[str, str], input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python -m gatepass ARGS` with this environment, as subprocess.run(capture_output=True, text=True)."""
    args = tuple(args)
    zygote = _get_zygote()
    if zygote is not None and _base_env(env) == zygote.env and args[:1] != ("serve",):
        CLI_RUNS["forked"] += 1
        return zygote.run(args, env, input, timeout)
    CLI_RUNS["subprocess"] += 1
    return subprocess.run(_command(args), env=env, input=input, capture_output=True, text=True, timeout=timeout)
