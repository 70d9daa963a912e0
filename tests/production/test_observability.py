"""Metrics, JSON logs with request ids, and no credential in any log line."""

from __future__ import annotations

import json

import httpx
from flow import authorization_code_flow

from support.server import LiveServer


async def test_logs_are_json_with_request_ids_and_hold_no_credential(start_server) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = start_server("sqlite")
    user = server.create_user(password="a-password-never-logged")
    client = server.create_client(name="Logged app")
    tokens = await authorization_code_flow(server, client, user, scope="openid profile roles")
    auth = (client["client_id"], client["client_secret"])
    async with httpx.AsyncClient(base_url=server.url) as http:
        refreshed = await http.post(
            "/oauth/token", auth=auth, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )
        await http.post("/oauth/introspect", auth=auth, data={"token": refreshed.json()["access_token"]})
        await http.get("/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        await http.get("/oauth/authorize", params={"client_id": client["client_id"], "code": "leaky-code-value"})
        await http.post("/oauth/revoke", auth=auth, data={"token": refreshed.json()["refresh_token"]})
    server.stop()  # flush and close the log

    text = server.log_path.read_text()
    secrets_seen = {
        "password": user["password"],
        "client_secret": client["client_secret"],
        "code": tokens["code"],
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "id_token": tokens["id_token"],
        "refreshed access token": refreshed.json()["access_token"],
        "query code": "leaky-code-value",
    }
    leaked = [name for name, value in secrets_seen.items() if value in text]
    assert leaked == []
    access_lines = [
        json.loads(line) for line in text.splitlines() if line.startswith("{") and '"gatepass.access"' in line
    ]
    assert len(access_lines) >= 6
    assert all(len(line["request_id"]) == 16 for line in access_lines)
    assert {line["http"]["endpoint"] for line in access_lines} >= {"/oauth/token", "/oauth/authorize"}


async def test_metrics_count_requests_tokens_and_oauth_errors(sqlite_server: LiveServer) -> None:
    bot = sqlite_server.create_user()
    client = sqlite_server.create_client("--grant-type", "client_credentials", "--service-user", bot["email"])
    async with httpx.AsyncClient(base_url=sqlite_server.url) as http:
        issued = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
        )
        refused = await http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client["client_id"], "wrong-secret")
        )
        scrape = await http.get("/metrics")
    assert issued.status_code == 200
    assert refused.status_code == 401
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in scrape.text.splitlines()
        if line and not line.startswith("#")
    }
    assert samples['gatepass_tokens_issued_total{grant_type="client_credentials"}'] >= 1
    assert samples['gatepass_oauth_errors_total{error="invalid_client"}'] >= 1
    assert samples['gatepass_http_requests_total{endpoint="/oauth/token",method="POST",status="200"}'] >= 1
    assert 'gatepass_http_request_duration_seconds_bucket{endpoint="/oauth/token",le="0.05"}' in samples
