"""Summarise py-spy profiles (``--format raw``: one folded stack and its sample count per line).

    python bench/profile_summary.py bench/raw/profiles/*.folded [--top 15]

For each file: where the CPU went by component (the file of the innermost frame decides),
the functions with the most samples on top of the stack (self), and the Gatepass and library
functions with the most samples anywhere in the stack (inclusive).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# First match wins, on the file of the innermost frame.
COMPONENTS = [
    ("argon2 (password hash)", ("argon2/", "_argon2")),
    ("JOSE / RSA key import and signing", ("joserfc/", "cryptography/", "authlib/")),
    ("asyncpg (driver, protocol)", ("asyncpg/",)),
    ("aiosqlite / sqlite3", ("aiosqlite/", "sqlite3/")),
    ("aiomysql / PyMySQL", ("aiomysql/", "pymysql/")),
    ("SQLAlchemy ORM (session, unit of work, loading)", ("sqlalchemy/orm/",)),
    ("SQLAlchemy Core (compile, execute, results, pool)", ("sqlalchemy/",)),
    ("greenlet (async bridge)", ("greenlet/",)),
    ("Jinja2 templates", ("jinja2/", "markupsafe/")),
    ("multipart / form parsing", ("multipart/", "python_multipart/")),
    ("Starlette (routing, requests, responses)", ("starlette/",)),
    ("uvicorn + httptools (HTTP server)", ("uvicorn/", "httptools/")),
    ("prometheus_client (metrics)", ("prometheus_client/",)),
    ("logging", ("logging/",)),
    ("json", ("json/",)),
    ("asyncio / uvloop event loop", ("asyncio/", "uvloop/", "anyio/")),
    ("Gatepass code", ("gatepass/",)),
    ("hmac / hashlib / secrets", ("hmac.py", "hashlib.py", "secrets.py", "base64.py")),
    ("dataclasses / typing / enum / datetime", ("dataclasses.py", "typing.py", "enum.py", "datetime.py")),
]

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]*)(?::(?P<line>\d+))?\)$")


def parse_frame(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip(), ""
    return match.group("func"), match.group("file")


def component(path: str) -> str:
    for name, needles in COMPONENTS:
        if any(needle in path for needle in needles):
            return name
    return "other (" + (path.rsplit("/", 1)[-1] or "native") + ")"


def load(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        # --subprocesses puts the process (pid and command line) first: not a Python frame.
        frames = [parse_frame(f) for f in stack.split(";") if f and not f.startswith("process ")]
        stacks.append((frames, int(count)))
    return stacks


# Library functions worth naming in the inclusive view, beside every Gatepass function that is not
# web plumbing (the route and middleware wrappers hold nearly everything and say nothing).
LANDMARKS = (
    "_async_ping", "_start_transaction", "_prepare_and_execute", "Transaction.commit", "Transaction.rollback",
    "AsyncSession.flush", "AsyncSession.close", "AsyncSession.execute", "AsyncConnection.execute",
    "greenlet_spawn", "PasswordHasher.verify", "import_key", "encode", "Template.render", "Request.form",
    "JSONResponse.render", "_compile_w_cache", "_generate_cache_key", "instances",
)
PLUMBING = ("gatepass/web/middleware.py", "gatepass/web/routes.py")


def _is_landmark(func: str, file: str) -> bool:
    if "gatepass/" in file:
        return not file.endswith(PLUMBING)
    return any(func == mark or func.endswith("." + mark) or func.endswith(mark) for mark in LANDMARKS)


def label(func: str, file: str) -> str:
    short = file
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in short:
            short = short.split(marker, 1)[1]
    return f"{func} ({short})" if short else func


def summarise(path: Path, top: int) -> str:
    stacks = load(path)
    total = sum(count for _, count in stacks) or 1
    components: Counter[str] = Counter()
    selfs: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        if not frames:
            components["process with no Python frame (native, idle)"] += count
            continue
        func, file = frames[-1]
        components[component(file)] += count
        selfs[label(func, file)] += count
        seen = set()
        for func, file in frames:
            name = label(func, file)
            if name not in seen and _is_landmark(func, file):
                seen.add(name)
                inclusive[name] += count
    out = [f"### {path.stem}: {total} samples", "", "| component (innermost frame) | share |", "|---|---:|"]
    out += [f"| {name} | {count / total:.1%} |" for name, count in components.most_common()]
    out += ["", "| self: top functions | share |", "|---|---:|"]
    out += [f"| `{name}` | {count / total:.1%} |" for name, count in selfs.most_common(top)]
    out += ["", "| inclusive: Gatepass functions and library landmarks | share |", "|---|---:|"]
    out += [f"| `{name}` | {count / total:.1%} |" for name, count in inclusive.most_common(top)]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    for path in args.files:
        print(summarise(path, args.top))


if __name__ == "__main__":
    main()
