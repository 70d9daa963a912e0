"""Counting requests against a per-minute limit, for the endpoints of both servers that take a password or a secret."""

from __future__ import annotations

from starlette.requests import Request

from gatepass import metrics
from gatepass.context import context_of
from gatepass.protocol.errors import SlowDown


async def check_rate(request: Request, name: str, key: str, limit: int, *, window_seconds: int = 60) -> None:
    """Raise SlowDown (429 with Retry-After) when ``key`` went over the limit for ``name`` in the window."""
    if limit <= 0:
        return
    retry_after = await context_of(request).rate_limiter.hit(f"{name}:{key}", limit, window_seconds)
    if retry_after is not None:
        metrics.RATE_LIMITED.labels(name).inc()
        raise SlowDown(f"Too many requests; retry after {retry_after} seconds", retry_after_seconds=retry_after)
