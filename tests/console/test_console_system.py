"""Runtime settings, signing keys and the audit log in the console."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from console_support import console_client, console_user, query_of

from support.console import ConsoleSession
from support.html import page_text
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, REDIRECT_URI, LiveServer

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


async def _authorize(admin: ConsoleSession, client_id: str) -> httpx.Response:
    return await admin.get(
        "/oauth/authorize?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": REDIRECT_URI,
                "scope": "openid",
                "state": "s",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
            }
        )
    )


async def _allow(admin: ConsoleSession, consent_page: httpx.Response) -> str:
    """Press Allow on the consent page; returns the code sent to the client."""
    form = consent_page.text.split('action="/oauth/consent"', 1)[1].split("</form>", 1)[0]
    pairs = [(name, html.unescape(value)) for name, value in _HIDDEN.findall(form) if name != "csrf_token"]
    response = await admin.post("/oauth/consent", [*pairs, ("decision", "allow")])
    assert response.status_code == 303 and response.headers["location"].startswith(REDIRECT_URI)
    return query_of(response.headers["location"])["code"]


async def test_consent_mode_and_key_rotation_are_set_in_the_console(
    start_server: Callable[..., LiveServer],
) -> None:
    server = start_server("sqlite")
    async with ConsoleSession(server) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        client_id, secret = await console_client(admin, "Consent Mode App")
        code = await _allow(admin, await _authorize(admin, client_id))
        exchanged = httpx.post(
            f"{server.url}/oauth/token",
            auth=(client_id, secret or ""),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",  # RFC 7636 Appendix B
            },
        )
        assert exchanged.status_code == 200, exchanged.text
        assert (await _authorize(admin, client_id)).status_code == 303  # auto: remembered, not asked again

        refused = await admin.post("/admin/settings", {"consent_mode": "sometimes"})
        assert refused.status_code == 400
        assert "consent_mode must be one of auto, force" in page_text(refused.text)
        saved = await admin.post("/admin/settings", {"consent_mode": "force"})
        assert saved.headers["location"] == "/admin/settings?notice=saved"
        assert 'value="force" checked' in (await admin.get("/admin/settings")).text
        assert "consent_mode = force" in server.cli("settings", "show").stdout
        assert (await _authorize(admin, client_id)).status_code == 200  # force: the consent page every time

        before = {(k["kid"], k["alg"]) for k in httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"]}
        rotated = await admin.post("/admin/keys/rotate", [("algorithms", "RS256"), ("grace_seconds", "0")])
        assert rotated.headers["location"] == "/admin/keys?notice=rotated"
        keys = page_text((await admin.get("/admin/keys")).text)
        assert len(re.findall(r"rs256-\S+ RS256 signing", keys)) == 1
        assert len(re.findall(r"rs256-\S+ RS256 retired", keys)) == 1
        assert len(re.findall(r"es256-\S+ ES256 signing", keys)) == 1
        after = {(k["kid"], k["alg"]) for k in httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"]}
        assert before < after  # the old key stays published beside the new one
        assert [alg for _, alg in after - before] == ["RS256"]

        purged = await admin.post("/admin/tokens/purge")
        assert purged.headers["location"] == "/admin/tokens?notice=purged"
        assert "Consent Mode App" in page_text((await admin.get("/admin/tokens")).text)  # live grants stay


@pytest.fixture
async def admin(sqlite_server: LiveServer) -> Any:
    async with ConsoleSession(sqlite_server) as session:
        yield await session.login(ADMIN_EMAIL, ADMIN_PASSWORD)


async def _events(admin: ConsoleSession, **filters: str) -> list[str]:
    """The event names in the audit table, newest first."""
    return re.findall(
        r'class="event"><code class="event">([^<]+)</code>', (await admin.get("/admin/audit", **filters)).text
    )


def _minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


async def test_audit_log_filters_by_user_client_event_and_time(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    started = datetime.now(UTC)
    user = await console_user(admin)
    app_name = f"Audited {secrets.token_hex(3)}"
    client_id, _ = await console_client(admin, app_name)
    async with ConsoleSession(sqlite_server) as stranger:
        page = await stranger.http.get("/login")
        await stranger.http.post(
            "/login",
            data={
                "csrf_token": stranger.csrf_in(page.text),
                "email": user["email"],
                "password": "not-the-password",
                "next": "/",
            },
        )

    assert await _events(admin, user=user["email"]) == ["login.failed", "user.created"]
    assert await _events(admin, client=client_id) == ["client.created"]
    # Each change says who made it: the admin in the console, the system account on the command line.
    assert "admin:admin@example.com" in page_text((await admin.get("/admin/audit", client=client_id)).text)
    made_by_cli = sqlite_server.create_client(name=f"From the shell {secrets.token_hex(3)}")
    by_cli = page_text((await admin.get("/admin/audit", client=made_by_cli["client_id"])).text)
    assert "client.created cli:" in by_cli
    # Rows name the app and link to it; the bare client_id is only for a deleted client.
    listed = (await admin.get("/admin/audit", client=client_id)).text
    assert f'<a href="/admin/clients/{client_id}">{app_name}</a>' in listed
    assert f"<code>{client_id}</code>" not in listed
    assert await _events(admin, event="login.failed", since=_minute(started), user=user["email"]) == ["login.failed"]
    later = await admin.get("/admin/audit", since=_minute(started + timedelta(minutes=5)))
    assert "No event matches." in page_text(later.text)
    earlier = await admin.get("/admin/audit", user=user["email"], until=_minute(started - timedelta(minutes=5)))
    assert "No event matches." in page_text(earlier.text)

    wrong = await admin.get("/admin/audit", since="yesterday", user="nobody@example.com")
    assert "Times look like 2026-05-01T09:30 (UTC). No user has the email nobody@example.com." in page_text(wrong.text)
