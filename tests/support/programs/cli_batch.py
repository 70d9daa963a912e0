"""Runs `gatepass` commands one after another in one process, through the CLI's own entry point.

Run by tests/support/cli.py as ``python cli_batch.py`` with a JSON list of argument lists on standard
input. It prints a JSON list with each command's exit code, standard output and standard error. A
batch pays one Python start-up for dozens of users and clients.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from typing import Any

from gatepass.cli import main as gatepass


def run(args: list[str]) -> dict[str, Any]:
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            gatepass(args, standalone_mode=False)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:
            code = 1
            err.write(repr(exc))
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def main() -> None:
    results = [run(args) for args in json.load(sys.stdin)]
    json.dump(results, sys.__stdout__)


if __name__ == "__main__":
    main()
