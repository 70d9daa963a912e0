"""Pushed authorization requests (RFC 9126) on every backend: stored by digest, read back as pushed,
used once however many callers race for them, kept for the login and consent after their use, purged
once expired, and gone with their client."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from stores_support import Stores, digest

from gatepass.services.stores import NewPushedRequest, PushedRequestRecord

PARAMETERS = {
    "client_id": "filled in per test",
    "response_type": "code",
    "redirect_uri": "https://app.example/callback",
    "scope": "openid profile",
    "state": "état ünïcode ✓",
    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "code_challenge_method": "S256",
}


async def _push(stores: Stores, client_id: str, *, expires_in_seconds: int = 60) -> tuple[str, NewPushedRequest]:
    now = stores.now
    pushed = NewPushedRequest(
        reference_digest=digest(),
        client_id=client_id,
        parameters={**PARAMETERS, "client_id": client_id},
        created_at=now,
        expires_at=now + timedelta(seconds=expires_in_seconds),
    )
    await stores.pushed_requests.add_pushed_request(pushed)
    return pushed.reference_digest, pushed


async def test_a_pushed_request_reads_back_by_its_digest_exactly_as_pushed(stores: Stores) -> None:
    client = await stores.client()
    reference_digest, pushed = await _push(stores, client.info.client_id)
    found = await stores.pushed_requests.get_pushed_request(reference_digest)
    assert found is not None
    assert found == PushedRequestRecord(
        id=found.id,
        client_id=client.info.client_id,
        parameters={**PARAMETERS, "client_id": client.info.client_id},
        expires_at=pushed.expires_at,
        consumed_at=None,
    )
    assert await stores.pushed_requests.get_pushed_request(digest()) is None


async def test_a_pushed_request_is_consumed_by_one_of_many_callers_only(stores: Stores) -> None:
    client = await stores.client()
    reference_digest, _ = await _push(stores, client.info.client_id)
    found = await stores.pushed_requests.get_pushed_request(reference_digest)
    assert found is not None
    now = stores.now
    kept_until = now + timedelta(minutes=30)
    outcomes = await asyncio.gather(
        *(stores.pushed_requests.consume_pushed_request(found.id, now, kept_until) for _ in range(4))
    )
    assert sorted(outcomes) == [False, False, False, True]
    again = await stores.pushed_requests.get_pushed_request(reference_digest)
    assert again is not None
    assert (again.consumed_at, again.expires_at, again.parameters) == (now, kept_until, found.parameters)
    assert await stores.pushed_requests.consume_pushed_request(found.id, stores.now, kept_until) is False


async def test_a_used_pushed_request_is_kept_until_its_login_and_consent_time_is_over(stores: Stores) -> None:
    client = await stores.client()
    reference_digest, _ = await _push(stores, client.info.client_id, expires_in_seconds=1)
    found = await stores.pushed_requests.get_pushed_request(reference_digest)
    assert found is not None
    now = stores.now
    assert await stores.pushed_requests.consume_pushed_request(found.id, now, now + timedelta(seconds=600))
    await stores.pushed_requests.purge_expired(now + timedelta(seconds=2))
    assert await stores.pushed_requests.get_pushed_request(reference_digest) is not None
    await stores.pushed_requests.purge_expired(now + timedelta(seconds=601))
    assert await stores.pushed_requests.get_pushed_request(reference_digest) is None


async def test_purge_removes_expired_pushed_requests_used_or_not_and_keeps_live_ones(stores: Stores) -> None:
    client = await stores.client()
    expired, _ = await _push(stores, client.info.client_id, expires_in_seconds=1)
    live, _ = await _push(stores, client.info.client_id, expires_in_seconds=600)
    purged = await stores.pushed_requests.purge_expired(stores.now + timedelta(seconds=2))
    assert purged >= 1
    assert await stores.pushed_requests.get_pushed_request(expired) is None
    assert await stores.pushed_requests.get_pushed_request(live) is not None


async def test_a_clients_pushed_requests_go_with_it(stores: Stores) -> None:
    client = await stores.client()
    reference_digest, _ = await _push(stores, client.info.client_id)
    assert await stores.clients.delete_client(client.info.client_id) is True
    assert await stores.pushed_requests.get_pushed_request(reference_digest) is None


async def test_a_client_reads_back_whether_it_must_push_its_requests(stores: Stores) -> None:
    client = await stores.client(require_pushed_authorization_requests=True)
    again = await stores.clients.get_client(client.info.client_id)
    assert again is not None and again.info.require_pushed_authorization_requests is True
