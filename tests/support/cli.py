"""`gatepass` commands for tests, forked from a warm interpreter so that each costs no start-up.

A `gatepass` command spends about 1.5 s importing (SQLAlchemy, Alembic, Authlib, Starlette, ...)
before it does its work, and the suite runs hundreds of them. So each pytest process starts one
"zygote" (programs/cli_zygote.py): a Python that has done those imports and then waits. For each
command it forks a process that gets the environment, working folder, arguments and standard
input, output and error that `python -m gatepass` would get. Exit code, output and error come back
as from subprocess.run. Anything the zygote cannot reproduce (another PYTHON*/LANG/... environment,
no fork) runs as a plain subprocess; GATEPASS_TEST_CLI_FORK=0 turns the zygote off.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from support.programs import PROGRAMS

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
                [sys.executable, str(PROGRAMS / "cli_zygote.py"), self.path, ",".join(_WARM_MODULES)],
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


def _base_env(env: Mapping[str, str]) -> dict[str, str]:
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
    args: Sequence[str], *, env: dict[str, str], input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python -m gatepass ARGS` with this environment, as subprocess.run(capture_output=True, text=True)."""
    args = tuple(args)
    zygote = _get_zygote()
    if zygote is not None and _base_env(env) == zygote.env and args[:1] != ("serve",):
        CLI_RUNS["forked"] += 1
        return zygote.run(args, env, input, timeout)
    CLI_RUNS["subprocess"] += 1
    return subprocess.run(_command(args), env=env, input=input, capture_output=True, text=True, timeout=timeout)
