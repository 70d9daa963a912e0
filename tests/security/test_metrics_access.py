"""/metrics answers loopback and the listed addresses only; anyone else gets the 404 of a missing page.

A reverse proxy on the same machine connects from loopback, so the addresses it forwards the
request for must pass as well: a scrape through nginx from the Internet is refused even though
the connection itself comes from 127.0.0.1.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest

from support.server import LiveServer


def _outward_address() -> str:
    """An address of this machine that is not loopback (the one it would use to reach TEST-NET-2)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))
        except OSError:
            pytest.skip("this machine has no address besides loopback")
        address: str = probe.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("this machine has no address besides loopback")
    return address


def _missing_page(response: httpx.Response, server: LiveServer) -> None:
    missing = httpx.get(f"{server.url}/no-such-page")
    assert response.status_code == 404
    assert (response.status_code, response.text) == (missing.status_code, missing.text)


def test_metrics_are_served_to_loopback(sqlite_server: LiveServer) -> None:
    response = httpx.get(f"{sqlite_server.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE" in response.text


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-For": "203.0.113.80"},
        {"X-Forwarded-For": "127.0.0.1, 203.0.113.80"},
        {"Forwarded": "for=203.0.113.80"},
        {"X-Real-IP": "203.0.113.80"},
        {"X-Forwarded-For": "unknown"},
    ],
    ids=["x-forwarded-for", "spoofed-loopback-on-the-left", "forwarded", "x-real-ip", "not-an-address"],
)
def test_metrics_forwarded_for_an_outside_address_are_not_found(
    sqlite_server: LiveServer, headers: dict[str, str]
) -> None:
    _missing_page(httpx.get(f"{sqlite_server.url}/metrics", headers=headers), sqlite_server)


def test_metrics_for_a_listed_address_and_not_for_others(start_server: Callable[..., LiveServer]) -> None:
    address = _outward_address()
    unlisted = start_server("sqlite", GATEPASS_SERVER_HOST="0.0.0.0")
    outside = f"http://{address}:{unlisted.port}/metrics"
    _missing_page(httpx.get(outside), unlisted)
    assert httpx.get(f"{unlisted.url}/healthz").status_code == 200

    listed = start_server(
        "sqlite", GATEPASS_SERVER_HOST="0.0.0.0", GATEPASS_SERVER_METRICS_ALLOWED_ADDRESSES=f"10.0.0.0/8, {address}/32"
    )
    assert httpx.get(f"http://{address}:{listed.port}/metrics").status_code == 200
    forwarded = httpx.get(f"{listed.url}/metrics", headers={"X-Forwarded-For": f"{address}"})
    assert forwarded.status_code == 200
    _missing_page(httpx.get(f"{listed.url}/metrics", headers={"X-Forwarded-For": "203.0.113.81"}), listed)
