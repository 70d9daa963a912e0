"""Fixed-window rate limits, in Redis when configured (shared by every worker and node), else in-process.

A Redis outage must not take logins and token issuance down with it: the limiter then allows the
request and logs a warning (fail open), since the limits guard against abuse, not for correctness.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

_log = logging.getLogger("gatepass.rate_limit")


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        """Count one request; None when allowed, else the seconds until the window resets."""
        ...

    async def ping(self) -> str: ...


class InProcessRateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        now = int(time.monotonic())
        window = now // window_seconds
        start, count = self._windows.get(key, (window, 0))
        if start != window:
            start, count = window, 0
        count += 1
        self._windows[key] = (start, count)
        if len(self._windows) > 100_000:
            # Bounded memory: forget windows that have ended.
            self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
        if count > limit:
            return (window + 1) * window_seconds - now
        return None

    async def ping(self) -> str:
        return "ok"


class RedisRateLimiter:
    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis: Any = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        window = int(time.time()) // window_seconds
        redis_key = f"gatepass:rl:{key}:{window}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(redis_key)
                pipe.expire(redis_key, window_seconds + 1)
                count, _ = await pipe.execute()
        except Exception as exc:  # any Redis failure: fail open, see module docstring
            _log.warning("rate limit store unavailable, allowing request: %s", type(exc).__name__)
            return None
        if int(count) > limit:
            return max(1, (window + 1) * window_seconds - int(time.time()))
        return None

    async def ping(self) -> str:
        try:
            await self._redis.ping()
            return "ok"
        except Exception as exc:  # readiness reports the failure instead of raising
            return f"unreachable: {type(exc).__name__}"

    async def close(self) -> None:
        await self._redis.aclose()
