"""The back-channel logout store on every backend: of workers racing to claim a logout token to deliver, one
wins; a claim lapses; a delivery put off is not due before its time; who took part in which session."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from stores_support import Stores, unique

from gatepass.db.backchannel_logout import SqlBackchannelLogoutStore

CLAIMS = {"iss": "https://id.example", "jti": "j1", "sub": "u1", "events": {}}


async def _queued(stores: Stores, logouts: SqlBackchannelLogoutStore) -> tuple[int, str]:
    client = await stores.client(backchannel_logout_uri="https://app.example/logout")
    user = await stores.user()
    await logouts.queue_deliveries([(client.info.client_id, CLAIMS)], user.id, None, stores.now)
    due = await logouts.list_due(stores.now + timedelta(seconds=1), 1000)
    assert due
    return max(due), client.info.client_id


async def test_one_of_many_workers_claims_a_delivery_and_a_claim_lapses(stores: Stores) -> None:
    logouts = SqlBackchannelLogoutStore(stores.database)
    delivery_id, client_id = await _queued(stores, logouts)
    now = stores.now + timedelta(seconds=1)
    claims = await asyncio.gather(*(logouts.claim(delivery_id, now, now + timedelta(seconds=40)) for _ in range(4)))
    won = [claim for claim in claims if claim is not None]
    assert len(won) == 1
    assert (won[0].client_id, won[0].claims, won[0].attempts) == (client_id, CLAIMS, 1)
    assert delivery_id not in await logouts.list_due(now + timedelta(seconds=39), 1000)
    # A worker that died holding the claim holds it no longer once it lapses.
    later = now + timedelta(seconds=41)
    assert delivery_id in await logouts.list_due(later, 1000)
    again = await logouts.claim(delivery_id, later, later + timedelta(seconds=40))
    assert again is not None and again.attempts == 2
    await logouts.delete_delivery(delivery_id)
    assert delivery_id not in await logouts.list_due(later + timedelta(hours=1), 1000)


async def test_a_delivery_put_off_is_due_only_from_its_next_attempt(stores: Stores) -> None:
    logouts = SqlBackchannelLogoutStore(stores.database)
    delivery_id, _ = await _queued(stores, logouts)
    now = stores.now + timedelta(seconds=1)
    assert await logouts.claim(delivery_id, now, now + timedelta(seconds=40)) is not None
    await logouts.retry_later(delivery_id, now + timedelta(seconds=30), "HTTP 500 from the logout URI")
    assert delivery_id not in await logouts.list_due(now + timedelta(seconds=29), 1000)
    assert await logouts.claim(delivery_id, now + timedelta(seconds=29), now + timedelta(seconds=70)) is None
    assert delivery_id in await logouts.list_due(now + timedelta(seconds=30), 1000)
    await logouts.delete_delivery(delivery_id)


async def test_the_clients_of_a_session_are_remembered_once_and_forgotten_with_it(stores: Stores) -> None:
    logouts = SqlBackchannelLogoutStore(stores.database)
    told = await stores.client(backchannel_logout_uri="https://app.example/logout")
    strict = await stores.client(
        backchannel_logout_uri="https://strict.example/logout", backchannel_logout_session_required=True
    )
    user, sid, other_sid = await stores.user(), unique("sid"), unique("sid")
    expires_at = stores.now + timedelta(hours=1)
    for _ in range(2):
        await logouts.add_participant(sid, user.id, told.info.client_id, expires_at)
    await logouts.add_participant(other_sid, user.id, strict.info.client_id, expires_at)
    one = await logouts.list_participants(user.id, sid, stores.now)
    assert [(p.client_id, p.sids) for p in one] == [(told.info.client_id, (sid,))]
    every = {p.client_id: p for p in await logouts.list_participants(user.id, None, stores.now)}
    assert every[strict.info.client_id].is_session_required is True
    assert every[strict.info.client_id].sids == (other_sid,)
    await logouts.queue_deliveries([], user.id, sid, stores.now)
    assert await logouts.list_participants(user.id, sid, stores.now) == []
    assert [p.client_id for p in await logouts.list_participants(user.id, other_sid, stores.now)] == [
        strict.info.client_id
    ]
    assert await logouts.purge_expired(expires_at + timedelta(seconds=1)) >= 1
    assert await logouts.list_participants(user.id, None, stores.now) == []
