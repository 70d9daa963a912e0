"""Security headers, request id, access log and metrics on every response (pure ASGI: cheap on the hot path)."""

from __future__ import annotations

import logging
import secrets
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatepass import metrics
from gatepass.logging import request_id_var

# frame-ancestors 'none': no page, least of all consent, may be framed (RFC 9700 §4.16).
CSP = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'"
_access_log = logging.getLogger("gatepass.access")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers["X-Request-Id"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"
            metrics.REQUESTS.labels(endpoint, scope["method"], str(status)).inc()
            metrics.LATENCY.labels(endpoint).observe(elapsed)
            if _access_log.isEnabledFor(logging.INFO):
                # The path only: query strings carry codes and state.
                _access_log.info("%s %s %d", scope["method"], scope["path"], status,
                                 extra={"http": {"method": scope["method"], "path": scope["path"], "status": status,
                                                 "duration_ms": round(elapsed * 1000, 2), "endpoint": endpoint}})
            request_id_var.reset(token)
