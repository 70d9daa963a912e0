"""Rate limits on the token, introspection and login endpoints: 429, Retry-After, an OAuth-shaped body."""

from __future__ import annotations

import asyncio
import secrets

import httpx

from gatepass.cache.rate_limit import InProcessRateLimiter, RateLimiter, RedisRateLimiter
from support.html import input_values
from support.server import LiveServer


def _client_credentials_client(server: LiveServer) -> tuple[str, str]:
    bot = server.create_user()
    client = server.create_client("--grant-type", "client_credentials", "--service-user", bot["email"])
    return client["client_id"], client["client_secret"]


async def test_token_requests_over_the_client_limit_get_429_with_retry_after(start_server) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = start_server("sqlite", GATEPASS_RATE_LIMITS_TOKEN_PER_CLIENT_PER_MINUTE="3")
    auth = _client_credentials_client(server)
    async with httpx.AsyncClient(base_url=server.url) as http:
        statuses = [
            (await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=auth)).status_code
            for _ in range(3)
        ]
        limited = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=auth)
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["cache-control"] == "no-store"
    assert limited.json()["error"] == "slow_down"
    assert limited.json()["error_description"].startswith("Too many requests; retry after ")


async def test_introspection_is_limited_per_client(start_server) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = start_server("sqlite", GATEPASS_RATE_LIMITS_INTROSPECTION_PER_CLIENT_PER_MINUTE="2")
    auth = _client_credentials_client(server)
    async with httpx.AsyncClient(base_url=server.url) as http:
        answers = [await http.post("/oauth/introspect", data={"token": "nothing"}, auth=auth) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[-1].json()["error"] == "slow_down"


async def test_login_posts_over_the_ip_limit_get_a_429_page(start_server) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = start_server("sqlite", GATEPASS_RATE_LIMITS_LOGIN_PER_IP_PER_MINUTE="2")
    async with httpx.AsyncClient(base_url=server.url) as http:
        fields = input_values((await http.get("/login")).text)
        answers = [
            await http.post("/login", data={**fields, "email": "nobody@example.com", "password": "wrong-one"})
            for _ in range(3)
        ]
    assert [answer.status_code for answer in answers] == [401, 401, 429]
    assert "Too many login attempts from your network" in answers[-1].text
    assert int(answers[-1].headers["retry-after"]) >= 1


async def test_limits_in_redis_are_shared_by_every_worker(start_server, private_redis) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = start_server(
        "sqlite",
        GATEPASS_SERVER_WORKERS="2",
        GATEPASS_REDIS_URL=private_redis.url,
        GATEPASS_RATE_LIMITS_TOKEN_PER_CLIENT_PER_MINUTE="5",
    )
    auth = _client_credentials_client(server)
    statuses = []
    for _ in range(10):
        # A new connection each time, so the kernel spreads the requests over both workers.
        async with httpx.AsyncClient(base_url=server.url) as http:
            statuses.append(
                (await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=auth)).status_code
            )
    assert statuses.count(200) == 5
    assert statuses.count(429) == 5


async def _spend_then_earn_back(limiter: RateLimiter) -> None:
    """Two per two seconds: both at once, then one more only after a second; never two in a row at a boundary."""
    key = f"test:{secrets.token_hex(4)}"
    assert [await limiter.hit(key, 2, 2) for _ in range(2)] == [None, None]
    assert await limiter.hit(key, 2, 2) == 1  # one comes back after window / limit, rounded up to whole seconds
    await asyncio.sleep(1.1)
    assert await limiter.hit(key, 2, 2) is None
    # A fixed window would have reset by now and let a second through; the cell rate gives back only the one.
    assert await limiter.hit(key, 2, 2) == 1
    assert await limiter.hit(f"{key}:other", 2, 2) is None  # keys are counted apart


async def test_in_process_limits_give_back_one_request_per_window_over_limit() -> None:
    await _spend_then_earn_back(InProcessRateLimiter())


async def test_redis_limits_give_back_one_request_per_window_over_limit(private_redis) -> None:  # type: ignore[no-untyped-def]
    limiter = RedisRateLimiter(private_redis.url)
    try:
        await _spend_then_earn_back(limiter)
    finally:
        await limiter.close()
