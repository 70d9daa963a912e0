"""A token acts as its own user only: owner-only documents of others stay invisible, even under load."""

from __future__ import annotations

import asyncio
import json

import httpx
from api_support import ScopedWorld, bearer, create_memo


def test_a_token_of_user_a_never_reads_user_bs_owner_only_documents(world: ScopedWorld) -> None:
    server, url = world.server, f"{world.server.url}/api/resource/{world.doctype}"
    alice, bob = world.owner.token(server, "all"), world.other.token(server, "all")
    secret = create_memo(world, bob, "bob's secret")
    not_found = f"{world.doctype} {secret} not found"
    listed = httpx.get(url, headers=bearer(alice), params={"limit_page_length": "0", "fields": '["name","owner"]'})
    assert secret not in {row["name"] for row in listed.json()["data"]}
    assert {row["owner"] for row in listed.json()["data"]} <= {world.owner.email}
    by_name = httpx.get(url, headers=bearer(alice), params={"filters": json.dumps({"name": secret})})
    assert by_name.json() == {"data": []}
    for response in (
        httpx.get(f"{url}/{secret}", headers=bearer(alice)),
        httpx.put(f"{url}/{secret}", headers=bearer(alice), json={"title": "mine now"}),
        httpx.delete(f"{url}/{secret}", headers=bearer(alice)),
    ):
        assert response.status_code == 404
        assert response.json()["exc_type"] == "DoesNotExistError"
        assert response.json()["error_description"] == not_found
    assert httpx.get(f"{url}/{secret}", headers=bearer(bob)).json()["data"]["title"] == "bob's secret"


def test_two_users_tokens_in_interleaved_parallel_requests_each_act_as_their_own_user(world: ScopedWorld) -> None:
    server, url = world.server, f"{world.server.url}/api/resource/{world.doctype}"
    users = {world.owner.email: world.owner.token(server, "all"), world.other.email: world.other.token(server, "all")}

    async def one(client: httpx.AsyncClient, email: str, round_number: int) -> None:
        headers = bearer(users[email])
        created = await client.post(url, headers=headers, json={"title": f"{email} {round_number}"})
        assert created.status_code == 200, created.text
        assert created.json()["data"]["owner"] == email
        listed = await client.get(url, headers=headers, params={"fields": '["owner"]', "limit_page_length": "0"})
        assert {row["owner"] for row in listed.json()["data"]} == {email}

    async def run() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            await asyncio.gather(*(one(client, email, n) for n in range(12) for email in users))

    asyncio.run(run())


def test_the_system_manager_reads_everyones_documents(world: ScopedWorld) -> None:
    server = world.server
    name = create_memo(world, world.other.token(server, "all"), "seen by the manager")
    response = httpx.get(
        f"{server.url}/api/resource/{world.doctype}/{name}", headers=bearer(world.manager.token(server, "all"))
    )
    assert response.status_code == 200
    assert response.json()["data"]["owner"] == world.other.email


def test_reading_all_but_writing_own_is_a_permission_error_on_others_documents(world: ScopedWorld) -> None:
    server = world.server
    server.cli("permission", "set", world.doctype, "All", "--read")
    try:
        name = create_memo(world, world.other.token(server, "all"), "readable by all")
        url = f"{server.url}/api/resource/{world.doctype}/{name}"
        alice = bearer(world.owner.token(server, "all"))
        assert httpx.get(url, headers=alice).status_code == 200
        response = httpx.put(url, headers=alice, json={"title": "changed"})
    finally:
        server.cli("permission", "set", world.doctype, "All")
    assert response.status_code == 403
    assert response.json()["exc_type"] == "PermissionError"
    assert response.json()["error_description"] == (
        f"Not permitted: your roles allow write only on your own {world.doctype} documents"
    )
