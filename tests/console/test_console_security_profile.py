"""The client form's signed-requests and security-profile settings: set on create, shown again, kept through
a save, and a client that cannot hold the profile refused on its field."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from console_support import console_client
from joserfc.jwk import ECKey

from support.console import ConsoleSession, client_form
from support.html import page_text
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer


@pytest.fixture
async def admin(sqlite_server: LiveServer) -> Any:
    async with ConsoleSession(sqlite_server) as session:
        yield await session.login(ADMIN_EMAIL, ADMIN_PASSWORD)


def _jwks() -> str:
    return json.dumps({"keys": [ECKey.generate_key("P-256", parameters={"kid": "console-1"}).as_dict(private=False)]})


async def test_the_fapi2_profile_and_signed_requests_are_set_from_the_form(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    client_id, _ = await console_client(
        admin,
        f"FAPI Console {secrets.token_hex(3)}",
        token_endpoint_auth_method="private_key_jwt",
        jwks=_jwks(),
        require_signed_request_object="1",
        request_object_signing_alg="ES256",
        security_profile="fapi2",
    )
    shown = json.loads(sqlite_server.cli("client", "show", client_id, "--json").stdout)
    assert {
        key: shown[key] for key in ("security_profile", "require_signed_request_object", "request_object_signing_alg")
    } == {
        "security_profile": "fapi2",
        "require_signed_request_object": True,
        "request_object_signing_alg": "ES256",
    }
    # The profile switched on what it needs, though the form's boxes for them were left unticked.
    assert (shown["dpop_bound_access_tokens"], shown["require_pushed_authorization_requests"]) == (True, True)
    page = await admin.get(f"/admin/clients/{client_id}")
    assert 'value="fapi2" selected' in page.text
    assert '<option value="ES256" selected>' in page.text.split('id="request_object_signing_alg"', 1)[1]


async def test_a_client_that_cannot_hold_the_profile_is_refused_on_its_field(admin: ConsoleSession) -> None:
    response = await admin.post(
        "/admin/clients/new", client_form(f"Not FAPI {secrets.token_hex(3)}", security_profile="fapi2")
    )
    assert response.status_code == 400
    assert "A FAPI 2.0 client must authenticate with private_key_jwt" in page_text(response.text)
