"""Device authorizations (RFC 8628) on every backend: found by either code's digest, decided once, polled
with a compare-and-set that counts one of two simultaneous polls, redeemed by one of many callers, purged
once expired, and gone with their client."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from stores_support import Stores, digest

from gatepass.services.oauth.stores import (
    DEVICE_APPROVED,
    DEVICE_DENIED,
    DEVICE_PENDING,
    DEVICE_USED,
    DeviceApprovalLogin,
    DeviceAuthorizationRecord,
    NewDeviceAuthorization,
)
from gatepass.services.stores import Conflict


async def _start(stores: Stores, client_id: str, *, expires_in_seconds: int = 600) -> NewDeviceAuthorization:
    now = stores.now
    started = NewDeviceAuthorization(
        device_code_digest=digest(),
        user_code_digest=digest(),
        client_id=client_id,
        scopes=("openid", "profile"),
        resource="https://api.example/",
        interval_seconds=5,
        created_at=now,
        expires_at=now + timedelta(seconds=expires_in_seconds),
    )
    await stores.device_authorizations.add_device_authorization(started)
    return started


#: When the browser session a decision comes from logged in, with a password.
LOGGED_IN_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _login(*, approve: bool) -> DeviceApprovalLogin:
    return DeviceApprovalLogin(auth_time=LOGGED_IN_AT, amr=("pwd",), sid="sid-of-the-session" if approve else None)


async def _by_device_code(stores: Stores, started: NewDeviceAuthorization) -> DeviceAuthorizationRecord:
    found = await stores.device_authorizations.get_by_device_code(started.device_code_digest)
    assert found is not None
    return found


async def test_a_device_authorization_reads_back_by_either_code(stores: Stores) -> None:
    client = await stores.client()
    started = await _start(stores, client.info.client_id)
    found = await _by_device_code(stores, started)
    assert found == DeviceAuthorizationRecord(
        id=found.id,
        client_id=client.info.client_id,
        scopes=("openid", "profile"),
        resource="https://api.example/",
        status=DEVICE_PENDING,
        user_id=None,
        auth_time=None,
        interval_seconds=5,
        last_polled_at=None,
        expires_at=started.expires_at,
    )
    assert await stores.device_authorizations.get_by_user_code(started.user_code_digest) == found
    assert await stores.device_authorizations.get_by_device_code(digest()) is None
    assert await stores.device_authorizations.get_by_user_code(started.device_code_digest) is None


async def test_a_user_code_taken_already_is_a_conflict(stores: Stores) -> None:
    client = await stores.client()
    started = await _start(stores, client.info.client_id)
    now = stores.now
    with pytest.raises(Conflict):
        await stores.device_authorizations.add_device_authorization(
            NewDeviceAuthorization(
                device_code_digest=digest(),
                user_code_digest=started.user_code_digest,
                client_id=client.info.client_id,
                scopes=(),
                resource=None,
                interval_seconds=5,
                created_at=now,
                expires_at=now + timedelta(seconds=60),
            )
        )


async def test_one_of_many_decisions_wins_and_expired_ones_cannot_be_decided(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    started = await _start(stores, client.info.client_id)
    found = await _by_device_code(stores, started)
    now = stores.now
    outcomes = await asyncio.gather(
        *(
            stores.device_authorizations.decide(
                found.id, user_id=user.id, approve=index % 2 == 0, now=now, login=_login(approve=index % 2 == 0)
            )
            for index in range(4)
        )
    )
    assert sorted(outcomes) == [False, False, False, True]
    decided = await _by_device_code(stores, started)
    assert decided.status in (DEVICE_APPROVED, DEVICE_DENIED)
    assert (decided.user_id, decided.auth_time) == (user.id, LOGGED_IN_AT)

    late = await _start(stores, client.info.client_id, expires_in_seconds=1)
    late_found = await _by_device_code(stores, late)
    after_expiry = stores.now + timedelta(seconds=2)
    assert not await stores.device_authorizations.decide(
        late_found.id, user_id=user.id, approve=True, now=after_expiry, login=_login(approve=True)
    )
    assert (await _by_device_code(stores, late)).status == DEVICE_PENDING


async def test_of_two_polls_that_saw_the_same_last_poll_one_is_counted(stores: Stores) -> None:
    client = await stores.client()
    started = await _start(stores, client.info.client_id)
    found = await _by_device_code(stores, started)
    first = stores.now
    outcomes = await asyncio.gather(
        *(
            stores.device_authorizations.note_poll(found.id, seen_polled_at=None, now=first, interval_seconds=5)
            for _ in range(3)
        )
    )
    assert sorted(outcomes) == [False, False, True]
    polled = await _by_device_code(stores, started)
    assert polled.last_polled_at == first
    later = first + timedelta(seconds=2)
    assert await stores.device_authorizations.note_poll(found.id, seen_polled_at=first, now=later, interval_seconds=10)
    assert not await stores.device_authorizations.note_poll(
        found.id, seen_polled_at=first, now=later + timedelta(seconds=1), interval_seconds=15
    )
    again = await _by_device_code(stores, started)
    assert (again.last_polled_at, again.interval_seconds) == (later, 10)


async def test_an_approved_authorization_is_redeemed_by_one_caller_only(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    started = await _start(stores, client.info.client_id)
    found = await _by_device_code(stores, started)
    assert not await stores.device_authorizations.redeem(found.id, stores.now)
    assert await stores.device_authorizations.decide(
        found.id, user_id=user.id, approve=True, now=stores.now, login=_login(approve=True)
    )
    # The tokens will carry the login the device was approved from, not the moment of approval.
    approved = await _by_device_code(stores, started)
    assert (approved.auth_time, approved.amr, approved.sid) == (LOGGED_IN_AT, ("pwd",), "sid-of-the-session")
    outcomes = await asyncio.gather(*(stores.device_authorizations.redeem(found.id, stores.now) for _ in range(4)))
    assert sorted(outcomes) == [False, False, False, True]
    assert (await _by_device_code(stores, started)).status == DEVICE_USED


async def test_a_denied_authorization_is_never_redeemed(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    started = await _start(stores, client.info.client_id)
    found = await _by_device_code(stores, started)
    assert await stores.device_authorizations.decide(
        found.id, user_id=user.id, approve=False, now=stores.now, login=_login(approve=False)
    )
    assert not await stores.device_authorizations.redeem(found.id, stores.now)
    assert (await _by_device_code(stores, started)).status == DEVICE_DENIED


async def test_purge_removes_expired_authorizations_and_keeps_live_ones(stores: Stores) -> None:
    client = await stores.client()
    expired = await _start(stores, client.info.client_id, expires_in_seconds=1)
    live = await _start(stores, client.info.client_id)
    assert await stores.device_authorizations.purge_expired(stores.now + timedelta(seconds=2)) >= 1
    assert await stores.device_authorizations.get_by_device_code(expired.device_code_digest) is None
    assert await stores.device_authorizations.get_by_device_code(live.device_code_digest) is not None


async def test_a_clients_device_authorizations_go_with_it(stores: Stores) -> None:
    client = await stores.client()
    started = await _start(stores, client.info.client_id)
    assert await stores.clients.delete_client(client.info.client_id) is True
    assert await stores.device_authorizations.get_by_device_code(started.device_code_digest) is None
