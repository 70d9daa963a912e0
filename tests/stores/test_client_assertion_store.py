"""Used client assertions (RFC 7523 §3) on every backend: a jti is accepted once per client however many
callers race with it, another client may use the same jti, and it may be used again once purged."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from stores_support import Stores, digest


async def test_a_jti_is_used_by_one_of_many_callers_only(stores: Stores) -> None:
    client = await stores.client()
    jti_digest, expires_at = digest(), stores.now + timedelta(minutes=5)
    outcomes = await asyncio.gather(
        *(stores.client_assertions.use_assertion(client.info.client_id, jti_digest, expires_at) for _ in range(4))
    )
    assert sorted(outcomes) == [False, False, False, True]
    assert await stores.client_assertions.use_assertion(client.info.client_id, jti_digest, expires_at) is False


async def test_the_same_jti_from_another_client_is_its_own(stores: Stores) -> None:
    first, second = await stores.client(), await stores.client()
    jti_digest, expires_at = digest(), stores.now + timedelta(minutes=5)
    assert await stores.client_assertions.use_assertion(first.info.client_id, jti_digest, expires_at)
    assert await stores.client_assertions.use_assertion(second.info.client_id, jti_digest, expires_at)


async def test_a_used_jti_is_remembered_until_it_expires_then_purged(stores: Stores) -> None:
    client = await stores.client()
    jti_digest, now = digest(), stores.now
    assert await stores.client_assertions.use_assertion(client.info.client_id, jti_digest, now + timedelta(seconds=60))
    assert await stores.client_assertions.purge_expired(now + timedelta(seconds=59)) == 0
    assert not await stores.client_assertions.use_assertion(client.info.client_id, jti_digest, now)
    assert await stores.client_assertions.purge_expired(now + timedelta(seconds=61)) >= 1
    assert await stores.client_assertions.use_assertion(client.info.client_id, jti_digest, now + timedelta(seconds=90))
