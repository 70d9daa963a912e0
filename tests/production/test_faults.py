"""Faults under load: the database or Redis restarts, a worker dies; Gatepass answers what it documents and recovers.

The load runs until what the test waits for is seen (a 503, recovery), never for a fixed time.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from private_servers import PrivatePostgres, PrivateRedis
from worker_processes import worker_pids

from support.backends import Database
from support.server import LiveServer


def _service_client(server: LiveServer) -> tuple[str, str]:
    bot = server.create_user()
    client = server.create_client("--grant-type", "client_credentials", "--service-user", bot["email"], name="Bot")
    return client["client_id"], client["client_secret"]


@dataclass(frozen=True)
class Answer:
    status: int  # 0: the connection failed
    body: dict[str, Any]
    headers: dict[str, str]


async def _issue_tokens_until(
    server: LiveServer, auth: tuple[str, str], stop: asyncio.Event, answers: list[Answer]
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        while not stop.is_set():
            try:
                response = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=auth)
                answers.append(Answer(response.status_code, response.json(), dict(response.headers)))
            except httpx.TransportError:
                answers.append(Answer(0, {}, {}))
            await asyncio.sleep(0.02)  # a steady load, not a flood


async def _until(condition: Callable[[], bool], what: str, within_seconds: float = 30) -> None:
    """Watch the load until ``condition`` holds (the wait ends as soon as it does)."""
    deadline = time.monotonic() + within_seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {within_seconds} s: {what}"
        await asyncio.sleep(0.05)


def _recovered(answers: list[Answer], since: int = 0) -> bool:
    recent = answers[since:][-8:]
    return len(recent) == 8 and all(answer.status == 200 for answer in recent)


async def test_database_restart_under_load_answers_503_then_recovers(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    server = LiveServer("postgresql", tmp_path, Database("postgresql", private_postgres.url)).start()
    try:
        auth = _service_client(server)
        stop, answers = asyncio.Event(), list[Answer]()
        load = [asyncio.create_task(_issue_tokens_until(server, auth, stop, answers)) for _ in range(4)]
        await _until(lambda: _recovered(answers), "tokens flowing before the outage")
        await asyncio.to_thread(private_postgres.stop)
        down_from = len(answers)
        await _until(lambda: sum(a.status == 503 for a in answers[down_from:]) >= 4, "503s while PostgreSQL is down")
        await asyncio.to_thread(private_postgres.start)
        up_from = len(answers)
        await _until(lambda: _recovered(answers, up_from), "Gatepass recovering by itself once PostgreSQL is back")
        stop.set()
        await asyncio.gather(*load)

        assert {answer.status for answer in answers} <= {200, 503}, {answer.status for answer in answers}
        # Every answer during the outage is the documented one: a 503 the client knows to retry.
        failures = [answer for answer in answers if answer.status == 503]
        for answer in failures:
            assert answer.body["error"] == "temporarily_unavailable"
            assert re.fullmatch(
                r"The service is temporarily unavailable; retry shortly \(request [0-9a-f]+\)",
                str(answer.body["error_description"]),
            ), answer.body
            assert (answer.headers["retry-after"], answer.headers["cache-control"]) == ("1", "no-store")

        # Nothing half-written: every token the clients received is a live row.
        tokens = [answer.body["access_token"] for answer in answers if answer.status == 200]
        async with httpx.AsyncClient(base_url=server.url) as http:
            for token in tokens[:: max(1, len(tokens) // 40)]:
                response = await http.post("/oauth/introspect", data={"token": token}, auth=auth)
                assert response.json()["active"] is True
    finally:
        server.stop()


async def test_killing_one_worker_under_load_leaves_the_others_serving(start_server) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = start_server("sqlite", GATEPASS_SERVER_WORKERS="2")
    auth = _service_client(server)
    workers = worker_pids(server)
    assert len(workers) >= 2, f"expected two workers, found {workers}"
    stop, answers = asyncio.Event(), list[Answer]()
    load = [asyncio.create_task(_issue_tokens_until(server, auth, stop, answers)) for _ in range(4)]
    await _until(lambda: _recovered(answers), "tokens flowing before the kill")
    os.kill(workers[0], signal.SIGKILL)
    killed_at = len(answers)
    await _until(
        lambda: len(answers) - killed_at > 20 and _recovered(answers, killed_at), "the other worker serving alone"
    )
    stop.set()
    await asyncio.gather(*load)
    after = [answer.status for answer in answers[killed_at:]]
    assert after[-8:] == [200] * 8
    # Only what was in flight on the killed worker is lost: at most one failed connection per client, and no
    # answer other than a token (a 5xx would mean the surviving worker broke too).
    assert set(after) <= {0, 200}, after
    assert after.count(0) <= len(load), after


async def test_redis_outage_keeps_tokens_flowing_and_readyz_reports_it(
    start_server: Callable[..., LiveServer],
    private_redis: PrivateRedis,
) -> None:
    server: LiveServer = start_server(
        "sqlite", GATEPASS_REDIS_URL=private_redis.url, GATEPASS_RATE_LIMITS_TOKEN_PER_CLIENT_PER_MINUTE="1000"
    )
    auth = _service_client(server)
    async with httpx.AsyncClient(base_url=server.url) as http:
        ready = await http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}

        await asyncio.to_thread(private_redis.stop)
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"].startswith("unreachable")
        # Rate limits fail open: an outage of the limiter must not stop token issuance.
        issued = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=auth)
        assert issued.status_code == 200

        await asyncio.to_thread(private_redis.start)
        ready = await http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"]["redis"] == "ok"
