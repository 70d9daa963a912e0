"""Many writers at once on one SQLite file (and on PostgreSQL): none waits in SQLite's busy handler, nothing is lost.

Inside a worker, the hot writes (issuance, audit) share group commits on the process's one writer
(on its event loop), and the engine's write transactions take turns on the event loop with BEGIN IMMEDIATE;
between the workers the turn is the lock file's flock. client_credentials tokens issued 64 at a
time through two workers, until the two have been seen writing at the same time (their CPU time,
sampled), must each end up stored, active and audited.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from worker_processes import cpu_ticks, worker_pids

from gatepass.config import load_settings
from gatepass.db.base import Database, single_statement
from gatepass.db.engine import create_engine
from support.load import Answer, post_form
from support.rows import rows
from support.server import LiveServer

#: Tokens issued, in batches: the 2,000 the data-path issue names, and more (up to MAX_TOKENS) until both
#: workers have been seen writing at once (the test measures it).
BATCH = 200
MIN_TOKENS = 2000
MAX_TOKENS = 4000
CONCURRENCY = 64
#: How often the workers' CPU time is read while the tokens are issued.
SAMPLE_SECONDS = 0.05
#: Sampling intervals in which both workers must have run, so that the writers did meet, not merely take turns.
OVERLAPPING_INTERVALS = 10
NO_LIMITS = {
    "GATEPASS_RATE_LIMITS_TOKEN_PER_IP_PER_MINUTE": "0",
    "GATEPASS_RATE_LIMITS_TOKEN_PER_CLIENT_PER_MINUTE": "0",
    "GATEPASS_RATE_LIMITS_INTROSPECTION_PER_CLIENT_PER_MINUTE": "0",
}


def _count(server: LiveServer, query: str, *params: object) -> int:
    [(found,)] = rows(server, query, *params)
    return int(found)


async def _all_at_once(calls: list[Callable[[], Awaitable[Answer]]]) -> list[Answer]:
    """Every call, at most CONCURRENCY in flight at a time."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def bounded(call: Callable[[], Awaitable[Answer]]) -> Answer:
        async with gate:
            return await call()

    return list(await asyncio.gather(*(bounded(call) for call in calls)))


class Overlap:
    """Samples the workers' CPU time: the intervals in which every worker ran."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.intervals = 0
        self.both = 0
        self.ticks = dict.fromkeys(pids, 0)

    async def watch(self, stop: asyncio.Event) -> None:
        last = {pid: cpu_ticks(pid) for pid in self.pids}
        while not stop.is_set():
            await asyncio.sleep(SAMPLE_SECONDS)
            now = {pid: cpu_ticks(pid) for pid in self.pids}
            self.intervals += 1
            self.both += all(now[pid] > last[pid] for pid in self.pids)
            for pid in self.pids:
                self.ticks[pid] += now[pid] - last[pid]
            last = now


# PostgreSQL too: there issuance and its audit event go past SQLAlchemy, as one statement on the driver
# (db/driver.py). MariaDB's one-script issuance has the store-contract tests' concurrent callers.
@pytest.mark.long_running
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_concurrent_issuance_through_two_workers_loses_no_token_and_no_audit_row(
    start_server: Callable[..., LiveServer], backend: str
) -> None:
    server = start_server(backend, GATEPASS_SERVER_WORKERS="2", **NO_LIMITS)
    bot = server.create_user()
    client = server.create_client(
        "--grant-type", "client_credentials", "--service-user", bot["email"], "--scope", "all"
    )
    auth = (client["client_id"], client["client_secret"])
    workers = worker_pids(server)
    assert len(workers) == 2, workers
    overlap, stop = Overlap(workers), asyncio.Event()
    # A new connection per request (support/load.py): a kept-alive one stays with the worker that accepted it,
    # and one worker can accept nearly all of them, leaving the other idle.
    issue = functools.partial(
        post_form, f"{server.url}/oauth/token", {"grant_type": "client_credentials", "scope": "all"}, basic=auth
    )
    watching = asyncio.create_task(overlap.watch(stop))
    issued: list[Answer] = []
    try:
        while len(issued) < MIN_TOKENS or (overlap.both < OVERLAPPING_INTERVALS and len(issued) < MAX_TOKENS):
            issued += await _all_at_once([issue for _ in range(BATCH)])
    finally:
        stop.set()
        await watching
    # The claim needs both workers writing at the same time, not taking turns by chance.
    assert overlap.both >= OVERLAPPING_INTERVALS, (
        f"the workers ran together in only {overlap.both} of {overlap.intervals} intervals (CPU ticks {overlap.ticks})"
    )
    assert {answer.status for answer in issued} == {200}, next(answer.body for answer in issued if answer.status != 200)
    tokens = [answer.json()["access_token"] for answer in issued]
    assert len(set(tokens)) == len(issued)
    answers = await _all_at_once(
        [
            functools.partial(post_form, f"{server.url}/oauth/introspect", {"token": token}, basic=auth)
            for token in tokens
        ]
    )
    assert [answer.status for answer in answers] == [200] * len(issued)
    assert [(answer.json()["active"], answer.json()["client_id"]) for answer in answers] == [
        (True, client["client_id"])
    ] * len(issued)
    audited = "SELECT count(*) FROM audit_events WHERE event = 'token.issued' AND client_id = ?"
    assert _count(server, audited, client["client_id"]) == len(issued)
    assert _count(server, "SELECT count(*) FROM access_tokens WHERE client_id = ?", client["client_id"]) == len(issued)


def _no_busy_handler(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


async def test_writers_of_one_process_never_meet_in_the_busy_handler(tmp_path: Path) -> None:
    """With SQLite's busy handler off, any writer that met another there would fail at once."""
    engine = create_engine(load_settings({"GATEPASS_SERVER_VAR_DIR": str(tmp_path)}))
    event.listen(engine.sync_engine, "connect", _no_busy_handler)
    sessions = Database.of(engine).sessions
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))

        async def one_statement(n: int) -> None:
            async with single_statement(engine) as connection:
                await connection.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": f"single {n}"})

        async def read_then_write(n: int) -> None:
            async with sessions() as session, session.begin():
                await session.execute(text("SELECT count(*) FROM notes"))
                await session.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": f"session {n}"})
                await session.execute(text("UPDATE notes SET body = body || '.' WHERE id = :id"), {"id": n + 1})

        async def refused(n: int) -> None:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO notes (body) VALUES (NULL)"))

        outcomes = await asyncio.gather(
            *(one_statement(n) for n in range(300)),
            *(read_then_write(n) for n in range(100)),
            *(refused(n) for n in range(20)),
            return_exceptions=True,
        )
        failures = [type(outcome).__name__ for outcome in outcomes if outcome is not None]
        assert failures == ["IntegrityError"] * 20  # a failed transaction gives its turn back
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM notes"))).scalar() == 400
    finally:
        await engine.dispose()


async def test_writers_of_two_processes_take_turns_without_the_busy_handler(tmp_path: Path) -> None:
    """Between processes the turn is the lock file beside the database: with SQLite's busy handler off,
    a writer of one process that met the other's in SQLite would fail at once."""
    engine = create_engine(load_settings({"GATEPASS_SERVER_VAR_DIR": str(tmp_path)}))
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
        child = Path(__file__).with_name("sqlite_writer_process.py")
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable, str(child), str(tmp_path), label, "300", stderr=asyncio.subprocess.PIPE
            )
            for label in ("first", "second")
        ]
        errors = [(await process.communicate())[1].decode()[-2000:] for process in processes]
        assert [process.returncode for process in processes] == [0, 0], errors
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM notes"))).scalar() == 600
    finally:
        await engine.dispose()
