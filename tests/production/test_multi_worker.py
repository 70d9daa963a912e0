"""Several workers share nothing but the database: what one changes, every other sees at once."""

from __future__ import annotations

import httpx

from support.browser import HttpBrowser
from support.server import LiveServer


async def test_token_revoked_through_one_worker_is_refused_by_every_worker(start_server) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = start_server("postgresql", GATEPASS_SERVER_WORKERS="2")
    bot = server.create_user()
    client = server.create_client(
        "--grant-type", "client_credentials", "--service-user", bot["email"], "--scope", "openid", "--scope", "all"
    )
    auth = (client["client_id"], client["client_secret"])
    async with httpx.AsyncClient(base_url=server.url) as http:
        token = (
            await http.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "all"}, auth=auth)
        ).json()["access_token"]
        revoked = await http.post("/oauth/revoke", data={"token": token}, auth=auth)
    assert revoked.status_code == 200
    answers = []
    for _ in range(20):
        # New connections, spread by the kernel over both workers.
        async with httpx.AsyncClient(base_url=server.url) as http:
            answers.append(await http.post("/oauth/introspect", data={"token": token}, auth=auth))
    assert [answer.json() for answer in answers] == [{"active": False}] * 20


async def test_runtime_setting_changed_by_cli_is_seen_by_every_worker(start_server) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = start_server("sqlite", GATEPASS_SERVER_WORKERS="2")
    user = server.create_user()
    client = server.create_client(name="Setting watcher")
    params = {
        "client_id": client["client_id"],
        "response_type": "code",
        "scope": "openid",
        "prompt": "none",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGEFjjMKvM",
        "code_challenge_method": "S256",
    }
    from flow import authorization_code_flow

    await authorization_code_flow(server, client, user, scope="openid")
    server.cli("settings", "set", "consent_mode", "force")
    errors = []
    for _ in range(10):
        async with HttpBrowser(server, user) as browser:
            await browser.login()
            answer = await browser.http.get("/oauth/authorize", params=params)
            errors.append(dict(httpx.URL(answer.headers["location"]).params).get("error"))
    assert errors == ["consent_required"] * 10
