"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatepass.http.forwarded import forwarding_chains, parse_address
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


def _may_read_metrics(request: Request) -> bool:
    """Loopback or a listed address, and so is every address the request was forwarded for.

    Checking the whole forwarding chain, not only the peer, keeps a reverse proxy on loopback from
    opening /metrics to the Internet, whether or not it is listed as trusted.
    """
    allowed = web(request).metrics_networks
    peer = request.client.host if request.client else None
    hops = [peer or "", *(item for chain in forwarding_chains(request.headers) for item in chain)]
    hops += request.headers.getlist("x-real-ip")
    for hop in hops:
        address = parse_address(hop)
        if address is None or not (address.is_loopback or any(address in network for network in allowed)):
            return False
    return True


async def metrics_endpoint(request: Request) -> Response:
    if not _may_read_metrics(request):
        # The same answer as a path that does not exist: nothing tells a scanner metrics are here.
        raise HTTPException(status_code=404)
    body, content_type = render_metrics()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
