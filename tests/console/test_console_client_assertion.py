"""The console's client form for clients that authenticate with a signed JWT (RFC 7523): the keys and alg
are set, shown again on the edit page, kept when the form is saved, and a pasted JWKS that is not one is
refused on its field."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from console_support import console_client, shown_client

from support.console import ConsoleSession, client_form
from support.html import page_text, values_by_id
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

JWKS = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "k1"}]}


@pytest.fixture
async def admin(sqlite_server: LiveServer) -> Any:
    async with ConsoleSession(sqlite_server) as session:
        yield await session.login(ADMIN_EMAIL, ADMIN_PASSWORD)


async def test_a_private_key_jwt_client_keeps_its_keys_and_alg_through_an_edit(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    app_name = f"Signed {secrets.token_hex(3)}"
    settings = {
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": json.dumps(JWKS),
        "token_endpoint_auth_signing_alg": "EdDSA",
    }
    client_id, _ = await console_client(admin, app_name, **settings)
    shown = shown_client(sqlite_server, client_id)
    assert (shown["token_endpoint_auth_method"], shown["jwks"], shown["token_endpoint_auth_signing_alg"]) == (
        "private_key_jwt",
        JWKS,
        "EdDSA",
    )
    page = await admin.get(f"/admin/clients/{client_id}")
    assert json.loads(values_by_id(page.text)["jwks"]) == JWKS
    saved = await admin.post(
        f"/admin/clients/{client_id}",
        client_form(f"{app_name} v2", token_endpoint_auth_method="private_key_jwt", jwks=""),
    )
    assert saved.status_code == 303, page_text(saved.text)[:300]
    again = shown_client(sqlite_server, client_id)
    assert (again["app_name"], again["token_endpoint_auth_method"], again["jwks"]) == (
        f"{app_name} v2",
        "private_key_jwt",
        JWKS,
    )


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"jwks": "{not json"}, "The JWKS is not JSON"),
        ({"jwks": "[]"}, "The JWKS must be a JWK Set"),
        ({"jwks": ""}, "needs its public keys"),
        ({"jwks": json.dumps(JWKS), "token_endpoint_auth_signing_alg": "HS256"}, "must be one of RS256"),
    ],
)
async def test_keys_that_cannot_be_used_are_refused_on_the_form(
    admin: ConsoleSession, overrides: dict[str, str], says: str
) -> None:
    response = await admin.post(
        "/admin/clients/new",
        client_form(f"Unsigned {secrets.token_hex(3)}", token_endpoint_auth_method="private_key_jwt", **overrides),
    )
    assert response.status_code == 400, response.status_code
    assert says in page_text(response.text)
