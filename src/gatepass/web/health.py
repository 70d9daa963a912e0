"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatepass.metrics import render_metrics
from gatepass.web.context import web


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    checks = await web(request).check_ready()
    is_ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if is_ready else "unavailable", "checks": checks},
        status_code=200 if is_ready else 503,
        headers={"Cache-Control": "no-store"},
    )


async def metrics_endpoint(request: Request) -> Response:
    body, content_type = render_metrics()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
