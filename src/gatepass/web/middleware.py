"""The middleware of every request, pure ASGI (no Request object per request: cheap)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatepass import metrics
from gatepass.logging import request_id_var
from gatepass.web.errors import unhandled_error
from gatepass.web.requests import find_unusable_input

# frame-ancestors 'none': no page, least of all consent, may be framed (RFC 9700 §4.16).
CSP = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'"
_access_log = logging.getLogger("gatepass.access")


#: Added to every response that does not set its own.
_SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


class AnswerFrameMiddleware:
    """What frames every answer, in one layer (each layer costs every request a call and a send wrapper):

    - a fresh request id, in the log context of everything the request logs and in ``X-Request-Id``;
    - the security headers, on every answer that does not set its own;
    - the generic 500 for an exception no handler took, with those headers and that id (Starlette would
      answer it past every middleware and then raise it again for the server to log a second time; here
      the traceback is logged once, with the request id);
    - one access-log line and the request metrics, with the answer's status and time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # Not a secret, only unique enough to find one request's lines: no system call per request for it.
        # (`random` is seeded again in each forked worker.)
        request_id = f"{random.getrandbits(64):016x}"
        scope.setdefault("state", {})["request_id"] = request_id
        request_id_header = (b"x-request-id", request_id.encode())
        context_token = request_id_var.set(request_id)
        status = 500
        is_started = False

        async def send_framed(message: Message) -> None:
            nonlocal status, is_started
            if message["type"] == "http.response.start":
                is_started = True
                status = message["status"]
                # Ours wins over an id an endpoint or a proxied answer may have set: the log knows only ours.
                headers = [item for item in message.get("headers", ()) if item[0].lower() != b"x-request-id"]
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in _SECURITY_HEADERS if header[0] not in present)
                headers.append(request_id_header)
                message["headers"] = headers
            await send(message)

        try:
            try:
                await self.app(scope, receive, send_framed)
            except Exception as exc:
                if is_started:
                    # Half an answer is out: only the server can end the connection now.
                    raise
                response = await unhandled_error(Request(scope), exc)
                await response(scope, receive, send_framed)
        finally:
            self._observe(scope, status, time.perf_counter() - started)
            request_id_var.reset(context_token)

    @staticmethod
    def _observe(scope: Scope, status: int, elapsed: float) -> None:
        route = scope.get("route")
        endpoint = getattr(route, "path", None) or "unmatched"
        metrics.observe_request(endpoint, scope["method"], status, elapsed)
        if _access_log.isEnabledFor(logging.INFO):
            # The path only: query strings carry codes and state.
            _access_log.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "http": {
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "endpoint": endpoint,
                    }
                },
            )


def _is_console(path: str) -> bool:
    return path == "/admin" or path.startswith("/admin/")


class UnusableInputMiddleware:
    """Refuse a path or query holding a NUL or a lone surrogate before any endpoint reads it (web/requests.py).

    The admin console is left to answer for itself: its filters treat such text as matching nothing
    and its unknown ids as not found, which its own tests hold it to.
    """

    def __init__(self, app: ASGIApp, *, answer: Callable[[Request, str], Response]) -> None:
        self.app = app
        self._answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _is_console(scope["path"]):
            problem = find_unusable_input(scope)
            if problem is not None:
                response = self._answer(Request(scope), problem)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class NoticesBeforeAnswerMiddleware:
    """Answer only once the change notices a request caused have reached Redis (see cache/change_feed.py).

    Redis queues a notice for every subscribed node when it runs the PUBLISH, before its reply, so a
    client told "revoked" cannot then reach a node the notice was not already on its way to. Requests
    that changed nothing pass straight on.
    """

    def __init__(self, app: ASGIApp, *, has_pending: Callable[[], bool], flush: Callable[[], Awaitable[None]]) -> None:
        self.app = app
        self._has_pending = has_pending
        self._flush = flush

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_after_notices(message: Message) -> None:
            if message["type"] == "http.response.start" and self._has_pending():
                await self._flush()
            await send(message)

        await self.app(scope, receive, send_after_notices)


MAX_BODY_BYTES = 1024 * 1024


class BodyLimitMiddleware:
    """Refuse bodies over 1 MiB with an answer in OAuth's JSON shape (no endpoint needs more)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            response = JSONResponse(
                {"error": "invalid_request", "error_description": "The request body is larger than 1 MiB"},
                status_code=413,
                headers={"Cache-Control": "no-store"},
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise HTTPException(status_code=413, detail="The request body is larger than 1 MiB")
            return message

        await self.app(scope, counting_receive, send)
