"""The worker processes of a `gatepass serve` subprocess, and the CPU time each has used."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from support.server import LiveServer

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def worker_pids(server: LiveServer) -> list[int]:
    """The server's workers: its children that run our app (not multiprocessing's resource tracker)."""
    assert server.process is not None
    children = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True)
    pids = [int(pid) for pid in children.stdout.split()]
    return [
        pid
        for pid in pids
        if "gatepass" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
        or "multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    ]


def cpu_ticks(pid: int) -> int:
    """User and system CPU time ``pid`` has used so far, in clock ticks (proc(5): fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def cpu_seconds(ticks: int) -> float:
    return ticks / _CLOCK_TICKS
