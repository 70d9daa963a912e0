"""Signing-key rotation with `gatepass keys rotate`, seen only through the JWKS and the id_tokens.

Each backend gets a private server: rotating keys on a shared one would change what other tests see.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import jwt
import pytest
from oidc_support import code_flow, published_jwks, verify_id_token

from support.backends import BACKENDS
from support.browser import HttpBrowser
from support.provision import World, provision
from support.server import LiveServer, private_server


@pytest.fixture(scope="module", params=BACKENDS)
def rotation_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    backend: str = request.param
    clients: dict[str, tuple[str, ...]] = {"rs256": ("--name", "RS256 RP")}
    if backend == "sqlite":  # the grace-period test runs on SQLite only
        clients["es256"] = ("--name", "ES256 RP", "--id-token-alg", "ES256")
    with private_server(backend, tmp_path_factory.mktemp(f"gatepass-rotation-{backend}")) as live:
        yield World(live, *provision(live, {"rita": {"first_name": "Rita", "last_name": "Rotate"}}, lambda _: clients))


def _kid(id_token: str) -> str:
    kid: str = jwt.get_unverified_header(id_token)["kid"]
    return kid


def _published_kids(server: LiveServer, alg: str) -> set[str]:
    return {key["kid"] for key in published_jwks(server)["keys"] if key["alg"] == alg}


def _lifetime(id_token: str) -> timedelta:
    """exp - iat of a token, read without verifying (it was verified just before)."""
    claims = jwt.decode(id_token, options={"verify_signature": False})
    return timedelta(seconds=claims["exp"] - claims["iat"])


def _keys_list(server: LiveServer) -> dict[str, dict[str, str | None]]:
    return {key["kid"]: key for key in json.loads(server.cli("keys", "list", "--json").stdout)}


async def test_rotation_without_grace_signs_with_the_new_key_at_once_and_old_tokens_still_verify(
    rotation_world: World,
) -> None:
    server, user, client = rotation_world.server, rotation_world.user("rita"), rotation_world.client("rs256")
    async with HttpBrowser(server, user) as browser:
        before = await code_flow(browser, client)
        old_kid = _kid(before.id_token)
        old_kids = _published_kids(server, "RS256")

        server.cli("keys", "rotate", "--grace-seconds", "0", "--alg", "RS256")

        new_kids = _published_kids(server, "RS256") - old_kids
        assert len(new_kids) == 1, "the new key is published at once"
        (new_kid,) = new_kids
        after = await code_flow(browser, client)
    assert _kid(after.id_token) == new_kid
    verify_id_token(after.id_token, server, client["client_id"], "RS256")
    # Tokens signed before the rotation stay verifiable: the old key is still published.
    assert old_kid in _published_kids(server, "RS256")
    claims = verify_id_token(before.id_token, server, client["client_id"], "RS256")
    assert claims["sub"] == user["sub"]


@pytest.mark.parametrize("rotation_world", ["sqlite"], indirect=True)
async def test_rotation_with_grace_publishes_the_new_key_but_the_old_key_still_signs(
    rotation_world: World,
) -> None:
    server, user, client = rotation_world.server, rotation_world.user("rita"), rotation_world.client("es256")
    async with HttpBrowser(server, user) as browser:
        before = await code_flow(browser, client)
        old_kid = _kid(before.id_token)
        old_kids = _published_kids(server, "ES256")

        server.cli("keys", "rotate", "--grace-seconds", "3600", "--alg", "ES256")

        new_kids = _published_kids(server, "ES256") - old_kids
        assert len(new_kids) == 1, "the new key is published before it signs"
        (new_kid,) = new_kids
        listed = _keys_list(server)
        assert listed[new_kid]["state"] == "next"
        assert listed[old_kid]["state"] == "signing"
        after = await code_flow(browser, client)
    assert _kid(after.id_token) == old_kid
    verify_id_token(after.id_token, server, client["client_id"], "ES256")
    verify_id_token(before.id_token, server, client["client_id"], "ES256")
    # The old key stays published until the last token it may still sign has expired.
    unpublish_at = listed[old_kid]["unpublish_at"]
    assert unpublish_at is not None and listed[new_kid]["unpublish_at"] is None
    signs_until = datetime.fromisoformat(str(listed[new_kid]["signs_from"]))
    lifetime = _lifetime(after.id_token)
    assert datetime.fromisoformat(unpublish_at) >= signs_until + lifetime
