from __future__ import annotations

import httpx

from support.server import LiveServer


def test_healthz_answers_ok(server: LiveServer) -> None:
    response = httpx.get(f"{server.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_the_database_reachable(server: LiveServer) -> None:
    response = httpx.get(f"{server.url}/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


def test_every_page_forbids_framing(server: LiveServer) -> None:
    response = httpx.get(f"{server.url}/login")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
