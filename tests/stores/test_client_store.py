"""The client store: every column an admin or the client may change round-trips, a client_id is taken once,
and the cached lookup sees every change."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from stores_support import Stores, digest, unique

from gatepass.db.clients import SqlClientStore
from gatepass.db.users import SqlUserStore
from gatepass.services.stores import Conflict, NotFound


async def test_a_taken_client_id_is_a_conflict_and_keeps_the_first_client(stores: Stores) -> None:
    client = await stores.client()
    with pytest.raises(Conflict):
        await stores.clients.add_client(replace(client.info, app_name="Impostor"), None, stores.now)
    again = await stores.clients.get_client(client.info.client_id)
    assert again is not None and again.info.app_name == "Contract App"


async def test_an_update_is_seen_by_the_cached_lookup_at_once(stores: Stores) -> None:
    client = await stores.client()
    assert await stores.clients.get_client(client.info.client_id) == client  # now cached
    changed = replace(
        client.info,
        app_name="Renamed",
        redirect_uris=("https://app.example/one", "https://app.example/two"),
        scopes=("openid",),
        is_enabled=False,
        contacts=("ops@example.test",),
        allowed_origins=("https://app.example",),
        refresh_token_ttl_seconds=600,
        jwks={"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]},
        jwks_uri="https://app.example/jwks.json",
        token_endpoint_auth_signing_alg="EdDSA",
    )
    await stores.clients.update_client(changed, "encrypted", stores.now)
    found = await stores.clients.get_client(client.info.client_id)
    assert found is not None
    assert found.info == changed
    assert (found.secret_encrypted, found.created_at) == ("encrypted", client.created_at)


async def test_without_the_cache_every_read_sees_the_row_as_it_is_now(stores: Stores) -> None:
    """Uncached lookups keep what identical rows converted to (DriverStatement.fetch_all_as): a changed row is
    converted anew, never answered with what it was."""
    clients, users = SqlClientStore(stores.database), SqlUserStore(stores.database)
    client, role = await stores.client(), await stores.role()
    user = await stores.user()
    assert await clients.get_client(client.info.client_id) == await clients.get_client(client.info.client_id) == client
    assert await users.get_user(user.id) == user
    renamed = replace(client.info, app_name="Renamed once", is_enabled=False)
    await stores.clients.update_client(renamed, client.secret_encrypted, stores.now)
    found = await clients.get_client(client.info.client_id)
    assert found is not None and found.info == renamed
    await stores.users.set_roles(user.id, (role,))
    found_user = await users.get_user(user.id)
    assert found_user is not None and found_user.roles == (role,)
    await stores.users.set_roles(user.id, ())
    found_user = await users.get_user(user.id)
    assert found_user is not None and found_user.roles == ()
    assert await stores.clients.delete_client(client.info.client_id) is True
    assert await clients.get_client(client.info.client_id) is None


async def test_updating_a_missing_client_is_not_found(stores: Stores) -> None:
    client = await stores.client()
    with pytest.raises(NotFound):
        await stores.clients.update_client(replace(client.info, client_id=unique("missing")), None, stores.now)


async def test_a_deleted_client_is_gone_from_lookup_and_list(stores: Stores) -> None:
    client = await stores.client()
    assert await stores.clients.get_client(client.info.client_id) is not None
    assert await stores.clients.delete_client(client.info.client_id) is True
    assert await stores.clients.get_client(client.info.client_id) is None
    assert client.info.client_id not in [found.info.client_id for found in await stores.clients.list_clients()]
    assert await stores.clients.delete_client(client.info.client_id) is False


async def test_clients_are_listed_by_name(stores: Stores) -> None:
    later = await stores.client(app_name=f"zz {unique('app')}", secret_digest=digest())
    earlier = await stores.client(app_name=f"aa {unique('app')}")
    listed = [found.info.client_id for found in await stores.clients.list_clients()]
    assert listed.index(earlier.info.client_id) < listed.index(later.info.client_id)
    assert next(found for found in await stores.clients.list_clients() if found.info == later.info) == later


async def test_completed_authorization_is_marked_once_until_forgotten(stores: Stores) -> None:
    client = await stores.client()
    client_id = client.info.client_id
    assert client.info.has_completed_authorization is False
    outcomes = await asyncio.gather(*(stores.clients.mark_completed_authorization(client_id) for _ in range(3)))
    assert sorted(outcomes) == [False, False, True]
    marked = await stores.clients.get_client(client_id)
    assert marked is not None and marked.info.has_completed_authorization is True
    await stores.clients.forget_completed_authorization(client_id)
    forgotten = await stores.clients.get_client(client_id)
    assert forgotten is not None and forgotten.info.has_completed_authorization is False
    assert await stores.clients.mark_completed_authorization(client_id) is True
    assert await stores.clients.mark_completed_authorization(unique("missing")) is False
