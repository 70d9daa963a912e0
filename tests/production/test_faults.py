"""Faults under load: the database or Redis restarts, a worker dies; Gatepass fails fast and recovers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from private_servers import PrivatePostgres, PrivateRedis

from support.backends import Database
from support.server import LiveServer


def _service_client(server: LiveServer) -> tuple[str, str]:
    bot = server.create_user()
    client = server.create_client("--grant-type", "client_credentials", "--service-user", bot["email"], name="Bot")
    return client["client_id"], client["client_secret"]


async def _issue_tokens_until(
    server: LiveServer, auth: tuple[str, str], stop: asyncio.Event, results: list[tuple[float, int, dict[str, object]]]
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        while not stop.is_set():
            started = time.monotonic()
            try:
                response = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=auth)
                results.append((time.monotonic() - started, response.status_code, response.json()))
            except httpx.TransportError:
                results.append((time.monotonic() - started, 0, {}))
            await asyncio.sleep(0.02)


async def test_database_restart_under_load_answers_503_fast_then_recovers(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    server = LiveServer("postgresql", tmp_path, Database("postgresql", private_postgres.url)).start()
    try:
        auth = _service_client(server)
        stop, results = asyncio.Event(), list[tuple[float, int, dict[str, object]]]()
        load = [asyncio.create_task(_issue_tokens_until(server, auth, stop, results)) for _ in range(4)]
        await asyncio.sleep(1)
        await asyncio.to_thread(private_postgres.stop)
        await asyncio.sleep(2)
        await asyncio.to_thread(private_postgres.start)
        await asyncio.sleep(4)
        stop.set()
        await asyncio.gather(*load)

        statuses = {status for _, status, _ in results}
        failures = [(elapsed, body) for elapsed, status, body in results if status == 503]
        assert statuses <= {200, 503}, statuses
        assert failures, "the outage was not noticed: no 503 while PostgreSQL was down"
        assert all(body["error"] == "temporarily_unavailable" for _, body in failures)
        assert max(elapsed for elapsed, _ in failures) < 12, "503s must come fast, not after long queues"
        assert [status for _, status, _ in results[-8:]] == [200] * 8, "Gatepass did not recover by itself"

        # Nothing half-written: every token the clients received is a live row.
        tokens = [body["access_token"] for _, status, body in results if status == 200]
        async with httpx.AsyncClient(base_url=server.url) as http:
            for token in tokens[:: max(1, len(tokens) // 40)]:
                response = await http.post("/oauth/introspect", data={"token": token}, auth=auth)
                assert response.json()["active"] is True
    finally:
        server.stop()


def _worker_pids(server: LiveServer) -> list[int]:
    assert server.process is not None
    children = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True)
    pids = [int(pid) for pid in children.stdout.split()]
    # Skip multiprocessing's resource tracker: workers are the ones serving our app.
    return [
        pid
        for pid in pids
        if "gatepass" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
        or "multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    ]


async def test_killing_one_worker_under_load_leaves_the_others_serving(start_server) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = start_server("sqlite", GATEPASS_SERVER_WORKERS="2")
    auth = _service_client(server)
    workers = _worker_pids(server)
    assert len(workers) >= 2, f"expected two workers, found {workers}"
    stop, results = asyncio.Event(), list[tuple[float, int, dict[str, object]]]()
    load = [asyncio.create_task(_issue_tokens_until(server, auth, stop, results)) for _ in range(4)]
    await asyncio.sleep(1)
    os.kill(workers[0], signal.SIGKILL)
    killed_at = len(results)
    await asyncio.sleep(3)
    stop.set()
    await asyncio.gather(*load)
    after = [status for _, status, _ in results[killed_at:]]
    assert len(after) > 20
    assert after[-10:] == [200] * 10
    assert sum(status == 200 for status in after) >= len(after) * 0.9


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
