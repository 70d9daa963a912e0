"""`make bench`: the three set-ups a user meets, one after another, side by side in bench/RESULTS.md.

1. SQLite, the default (`gatepass serve` with no database setting; the read cache is on);
2. PostgreSQL with default settings and no Redis (the read cache is on; PostgreSQL's LISTEN/NOTIFY tells every
   node of each change);
3. PostgreSQL with Redis (the read cache is on, and Redis tells every node of each change).

Each is one bench/run.py run with its own floor, written to bench/RESULTS-<set-up>.md (the detail: CPU
per request, lookups at two table sizes, memory, how each path is measured) and .json; this script then
writes bench/RESULTS.md with every path's requests/s and ratio to its run's floor for the three, and
each run's goals. A set-up whose server is not reachable here (PostgreSQL at --pg-url, Redis at --redis)
is left out with the reason. Options after ``--`` go to every run.py run, e.g.
``make bench BENCH_ARGS="-- --duration 5"``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
ORDER = ("floor", "a", "b", "c", "c_dpop", "d", "d_jwt", "e", "f_pw", "f_nopw", "g", "b@large", "c@large")
LABELS = {
    "floor": "floor: bare Starlette JSON",
    "f_pw": "(f) code + PKCE flows, with password check",
    "f_nopw": "(f) code + PKCE flows, logged-in session",
    "g": "(g) password logins",
    "b@large": "(b) introspection, uncached lookup of 1,000,000 stored tokens",
    "c@large": "(c) userinfo, uncached lookup of 1,000,000 stored tokens",
}


def _reachable(url: str, default_port: int) -> str | None:
    """None when something listens at the URL's host and port, else why not."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as error:
        return f"nothing answers at {host}:{port} ({error.strerror or error})"


def _rate(entry: dict[str, Any], key: str) -> str:
    if not entry["available"]:
        return entry["note"] or "not measured"
    if key.startswith("f_"):
        return f"{entry['flows_per_s']:,.1f} flows/s"
    if key == "g":
        return f"{entry['flows_per_s']:,.1f} logins/s"
    ratio = "" if key == "floor" else f" ({entry['ratio']:.1%})"
    return f"{entry['rps']:,.0f}{ratio}, p99 {entry['p99_ms']:,.1f} ms"


def write_results(runs: list[tuple[str, dict[str, Any] | None, str]], path: Path, elapsed_minutes: float) -> str:
    heads = [name for name, _, _ in runs]
    lines = [
        "# Gatepass benchmark results",
        "",
        f"Written by `make bench` (bench/suite.py) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"{elapsed_minutes:.0f} minutes.",
        "",
        "Three set-ups, each measured by one bench/run.py run against its own floor (a bare Starlette JSON",
        "endpoint on the same uvicorn stack, measured at the start and end of that run), `gatepass serve",
        "--workers 2`, wrk with 32 connections. Each cell: requests/s (ratio to that run's floor), p99.",
        "The machine is shared with other work, so compare ratios rather than raw numbers. The detail of",
        "each run (CPU per request, lookups at two table sizes, memory, how each path is measured) is in",
        "its own file, linked in the column head.",
        "",
        "| path | " + " | ".join(f"[{name}]({file})" for name, _, file in runs) + " |",
        "|---|" + "---:|" * len(heads),
    ]
    for key in ORDER:
        cells = []
        for _, summary, _ in runs:
            entry = (summary or {}).get("results", {}).get(key)
            cells.append(_rate(entry, key) if entry else "")
        if any(cells):
            label = LABELS.get(key) or next(
                (s["results"][key]["label"] for _, s, _ in runs if s and key in s["results"]), key
            )
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    rss = [f"{max(s['rss_mib']):.0f} MiB" if s and s["rss_mib"] else "" for _, s, _ in runs]
    lines.append("| largest worker RSS after the run | " + " | ".join(rss) + " |")
    lines += ["", "## Goals", ""]
    for name, summary, _ in runs:
        lines.append(f"### {name}")
        lines.append("")
        if summary is None:
            lines += ["Not measured: see above.", ""]
            continue
        lines += ["| goal | measured | verdict |", "|---|---|---|"]
        lines += [f"| {g['goal']} | {g['measured']} | {g['verdict']} |" for g in summary["goals"]]
        lines += ["", f"Command: `{summary['command']}`", ""]
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--only", default="sqlite,postgresql,postgresql-redis",
                        help="comma list of the set-ups to run (the others keep their last results)")
    parser.add_argument("run_args", nargs="*", help="after --: options for every bench/run.py run")
    args = parser.parse_args()
    setups = {
        "sqlite": ("SQLite (default)", ["--backend", "sqlite"], None),
        "postgresql": ("PostgreSQL, no Redis (cache on, LISTEN/NOTIFY)", ["--backend", "postgresql", "--pg-url", args.pg_url],
                       _reachable(args.pg_url, 5432)),
        "postgresql-redis": ("PostgreSQL with Redis (cache on)",
                             ["--backend", "postgresql", "--pg-url", args.pg_url, "--redis", args.redis],
                             _reachable(args.pg_url, 5432) or _reachable(args.redis, 6379)),
    }
    chosen = set(args.only.split(","))
    started = datetime.now(UTC)
    runs: list[tuple[str, dict[str, Any] | None, str]] = []
    failed = False
    for key, (name, options, unavailable) in setups.items():
        results = BENCH / f"RESULTS-{key}.md"
        if key in chosen and unavailable is None:
            print(f"[suite] {name}: bench/run.py {' '.join(options + args.run_args)}", flush=True)
            # Relative to the working directory, so that each file's "Command:" line reads as typed from the checkout.
            results_arg = os.path.relpath(results)
            code = subprocess.call([sys.executable, str(BENCH / "run.py"), *options, "--results", results_arg,  # noqa: S603
                                    *args.run_args])
            failed = failed or code != 0
        elif unavailable is not None:
            print(f"[suite] {name}: left out, {unavailable}", flush=True)
            runs.append((f"{name}: not measured, {unavailable}", None, results.name))
            continue
        summary_path = results.with_suffix(".json")
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
        runs.append((name, summary, results.name))
    text = write_results(runs, BENCH / "RESULTS.md", (datetime.now(UTC) - started).total_seconds() / 60)
    print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
