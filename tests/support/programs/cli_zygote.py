"""A Python that has imported what `gatepass` commands need, and forks a command for each request.

Run by tests/support/cli.py as ``python cli_zygote.py SOCKET MODULE,MODULE,...``. It imports the
modules, prints ``ready`` and listens on the Unix socket SOCKET. For each connection it forks a
handler, which reads one request (arguments, environment, working folder, standard input), forks
the command's own process, reports that process's pid, waits for it and sends back its exit code,
standard output and standard error. The command's process becomes `python -m gatepass ARGS`
exactly as the interpreter would run it, and exits as the interpreter would (threads joined,
atexit handlers run, output flushed). The zygote ends when its standard input does (pytest is gone).

Frames on the socket are a 4-byte big-endian length, then that much JSON; bytes travel as hex.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import signal
import socket
import struct
import sys
from typing import Any


def recv_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def recv_frame(conn: socket.socket) -> dict[str, Any]:
    (size,) = struct.unpack("!I", recv_exact(conn, 4))
    message: dict[str, Any] = json.loads(recv_exact(conn, size))
    return message


def send_frame(conn: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode()
    conn.sendall(struct.pack("!I", len(data)) + data)


def exit_code(exc: SystemExit) -> int:
    """As the interpreter turns an uncaught SystemExit into an exit status."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    with contextlib.suppress(Exception):
        sys.stderr.write(str(code) + "\n")
    return 1


def run_command(request: dict[str, Any]) -> None:
    """The command's own process: become `python -m gatepass ARGS`, then exit as the interpreter would."""
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.path[0] = request["cwd"]
    sys.argv = ["-m", *request["args"]]
    code = 0
    try:
        import runpy

        runpy._run_module_as_main("gatepass")  # type: ignore[attr-defined]
    except SystemExit as exc:
        code = exit_code(exc)
    except BaseException as exc:
        # The traceback starts where `python -m` starts it: at runpy, not in this function.
        traceback = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
        sys.excepthook(type(exc), exc, traceback)
        code = 1
    with contextlib.suppress(BaseException):
        import threading

        threading._shutdown()  # type: ignore[attr-defined]
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
    with contextlib.suppress(BaseException):
        sys.stderr.flush()
    os._exit(code)


def handle(conn: socket.socket) -> None:
    """A child of the zygote: forks the command, reports its pid, then its outcome."""
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


def main() -> None:
    path, modules = sys.argv[1], sys.argv[2].split(",")
    for name in modules:
        # A module that fails to import is left alone: the command's own import then fails as it
        # would in a fresh process.
        with contextlib.suppress(BaseException):
            importlib.import_module(name)
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


if __name__ == "__main__":
    main()
