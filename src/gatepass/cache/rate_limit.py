"""Rate limits, in Redis when configured (shared by every worker and node), else in-process.

"N per window" is enforced as a generic cell rate (GCRA): a key may spend its N at once, then earns one
request back every window/N seconds. Unlike fixed windows there is no boundary at which a client gets
2N in a row (N at the end of one window, N at the start of the next), and the Retry-After given is when
the next request will really be allowed. The state per key is one timestamp.

A Redis outage must not take logins and token issuance down with it: the limiter then allows the
request and logs a warning (fail open), since the limits guard against abuse, not for correctness.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Protocol

_log = logging.getLogger("gatepass.rate_limit")

_KEYS_KEPT_IN_PROCESS = 100_000


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        """Count one request; None when allowed, else the whole seconds until the next one will be."""
        ...

    async def ping(self) -> str: ...


def _seconds_to_wait(wait: float) -> int:
    return max(1, math.ceil(wait))


class InProcessRateLimiter:
    def __init__(self) -> None:
        # key -> the time at which the key's budget is whole again (the "theoretical arrival time").
        self._budget_whole_at: dict[str, float] = {}

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        now = time.monotonic()
        whole_at = max(self._budget_whole_at.get(key, now), now) + window_seconds / limit
        wait = whole_at - window_seconds - now
        if wait > 0:
            return _seconds_to_wait(wait)
        self._budget_whole_at[key] = whole_at
        if len(self._budget_whole_at) > _KEYS_KEPT_IN_PROCESS:
            # Bounded memory: a key whose budget is whole again is the same as a key never seen.
            self._budget_whole_at = {k: at for k, at in self._budget_whole_at.items() if at > now}
        return None

    async def ping(self) -> str:
        return "ok"


# The same cell rate as InProcessRateLimiter, atomically in Redis and on Redis's clock (nodes' clocks may
# differ). Returns nil when allowed, else the seconds to wait, as a string (Lua numbers become integers).
_HIT_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local whole_at = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now) + window / limit
local wait = whole_at - window - now
if wait > 0 then
  return tostring(wait)
end
redis.call('SET', KEYS[1], tostring(whole_at), 'PX', math.ceil((whole_at - now) * 1000) + 1000)
return false
"""


class RedisRateLimiter:
    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis: Any = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._hit_script: Any = self._redis.register_script(_HIT_SCRIPT)

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        try:
            wait = await self._hit_script(keys=[f"gatepass:rate:{key}"], args=[limit, window_seconds])
        except Exception as exc:  # any Redis failure: fail open, see module docstring
            _log.warning("rate limit store unavailable, allowing request: %s", type(exc).__name__)
            return None
        return None if wait is None else _seconds_to_wait(float(wait))

    async def ping(self) -> str:
        try:
            await self._redis.ping()
            return "ok"
        except Exception as exc:  # readiness reports the failure instead of raising
            return f"unreachable: {type(exc).__name__}"

    async def close(self) -> None:
        await self._redis.aclose()
