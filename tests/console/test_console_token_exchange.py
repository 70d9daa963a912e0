"""The console shows a client's token exchange policies (RFC 8693) on its page, and says so when it has none;
policies themselves are managed with `gatepass exchange-policy`."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from support.console import ConsoleSession
from support.html import page_text
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer


async def test_a_clients_page_lists_its_exchange_policies(sqlite_server: LiveServer) -> None:
    front = sqlite_server.create_client(name=f"Front {secrets.token_hex(3)}")
    actor = sqlite_server.create_client("--grant-type", "client_credentials", name=f"Worker {secrets.token_hex(3)}")
    alone = sqlite_server.create_client(name=f"Alone {secrets.token_hex(3)}")
    audience = f"https://reports-{secrets.token_hex(3)}.example.com"
    sqlite_server.cli(
        *("exchange-policy", "add", front["client_id"], "--audience", audience, "--actor", actor["client_id"]),
        *("--subject-token-type", "access_token", "--subject-token-type", "id_token", "--scope", "all"),
    )
    async with ConsoleSession(sqlite_server) as session:
        admin = await session.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        shown = page_text((await admin.get(f"/admin/clients/{quote(front['client_id'], safe='')}")).text)
        none = page_text((await admin.get(f"/admin/clients/{quote(alone['client_id'], safe='')}")).text)
    row = f"{audience} access_token id_token {front['client_id']} {actor['client_id']} refused all"
    assert row in " ".join(shown.split()), shown
    assert "This client may not exchange tokens (RFC 8693): no policy names it." in none
    assert audience not in none
