"""The token store: codes, grants and their tokens, on every backend and by every path it writes them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from conftest import Stores, digest
from gatepass.services.stores import NewCode, NewGrant


def _grant(client_id: str, user_id: int | None, now: datetime, *, code_id: int | None = None) -> NewGrant:
    return NewGrant(
        client_id=client_id,
        user_id=user_id,
        grant_type="authorization_code" if code_id is not None else "client_credentials",
        scopes=("openid", "all"),
        code_id=code_id,
        nonce="n-0S6" if code_id is not None else None,
        resource="https://api.example/",
        auth_time=now if user_id is not None else None,
        created_at=now,
        expires_at=now + timedelta(days=30),
    )


async def _code(stores: Stores, client_id: str, user_id: int) -> int:
    now = stores.now
    return await stores.codes.add_code(
        NewCode(
            code_digest=digest(),
            client_id=client_id,
            user_id=user_id,
            redirect_uri="https://app.example/callback",
            redirect_uri_was_sent=True,
            scopes=("openid",),
            code_challenge="c" * 43,
            code_challenge_method="S256",
            nonce=None,
            resource=None,
            auth_time=now,
            created_at=now,
            expires_at=now + timedelta(minutes=1),
        )
    )


async def test_an_issued_grant_reads_back_exactly_as_written(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    now = stores.now
    access, refresh = digest(), digest()
    grant_id = await stores.tokens.add_grant_with_tokens(
        _grant(client.info.client_id, user.id, now), access, now + timedelta(hours=1), refresh
    )
    assert grant_id is not None
    token = await stores.tokens.get_access_token(access)
    assert token is not None
    assert (token.grant_id, token.client_id, token.user_id) == (grant_id, client.info.client_id, user.id)
    assert (token.scopes, token.resource, token.revoked_at) == (("openid", "all"), "https://api.example/", None)
    # Times come back in UTC, to the microsecond, whichever path wrote them.
    assert token.created_at == now and token.created_at.tzinfo == UTC
    assert token.expires_at == now + timedelta(hours=1)
    family = await stores.tokens.get_refresh_token(refresh)
    assert family is not None
    assert (family.family_id, family.client_id, family.user_id) == (grant_id, client.info.client_id, user.id)
    assert (family.scopes, family.rotated_at, family.revoked_at, family.auth_time) == (
        ("openid", "all"),
        None,
        None,
        now,
    )
    assert await stores.tokens.get_access_token(digest()) is None
    assert await stores.tokens.get_refresh_token(digest()) is None


async def test_a_service_grant_has_no_user_and_no_refresh_token(stores: Stores) -> None:
    client, now, access = await stores.client(), stores.now, digest()
    grant_id = await stores.tokens.add_grant_with_tokens(
        _grant(client.info.client_id, None, now), access, now + timedelta(hours=1), None
    )
    token = await stores.tokens.get_access_token(access)
    assert token is not None and (token.grant_id, token.user_id) == (grant_id, None)


async def test_a_code_is_consumed_by_one_issuance_only(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    code_id = await _code(stores, client.info.client_id, user.id)
    now = stores.now
    first, second = await asyncio.gather(
        *(
            stores.tokens.add_grant_with_tokens(
                _grant(client.info.client_id, user.id, now, code_id=code_id), digest(), now + timedelta(hours=1), None
            )
            for _ in range(2)
        )
    )
    assert sorted([first is None, second is None]) == [False, True], (first, second)
    assert await stores.codes.consume_code(code_id, now) is False
    assert await stores.tokens.revoke_grants_from_code(code_id, now) == 1


async def test_a_refresh_token_rotates_once_and_supersedes_the_access_tokens_before_it(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    now = stores.now
    old_access, refresh = digest(), digest()
    grant_id = await stores.tokens.add_grant_with_tokens(
        _grant(client.info.client_id, user.id, now), old_access, now + timedelta(hours=1), refresh
    )
    assert grant_id is not None
    family = await stores.tokens.get_refresh_token(refresh)
    assert family is not None

    async def rotate(new_access: str, new_refresh: str) -> bool:
        return await stores.tokens.rotate_refresh(
            grant_id=grant_id,
            refresh_id=family.refresh_id,
            client_id=client.info.client_id,
            user_id=user.id,
            scopes=("openid",),
            resource=None,
            access_digest=new_access,
            access_expires_at=now + timedelta(hours=2),
            new_refresh_digest=new_refresh,
            now=now,
        )

    winners = [(digest(), digest()) for _ in range(3)]
    outcomes = await asyncio.gather(*(rotate(access, new_refresh) for access, new_refresh in winners))
    assert outcomes.count(True) == 1, outcomes
    access, new_refresh = winners[outcomes.index(True)]
    rotated = await stores.tokens.get_refresh_token(refresh)
    assert rotated is not None and rotated.rotated_at == now
    successor = await stores.tokens.get_refresh_token(new_refresh)
    assert successor is not None and (successor.family_id, successor.rotated_at) == (grant_id, None)
    fresh = await stores.tokens.get_access_token(access)
    assert fresh is not None and (fresh.scopes, fresh.revoked_at) == (("openid",), None)
    superseded = await stores.tokens.get_access_token(old_access)
    assert superseded is not None and superseded.revoked_at == now
    for loser_access, loser_refresh in winners:
        if loser_access != access:
            assert await stores.tokens.get_access_token(loser_access) is None
            assert await stores.tokens.get_refresh_token(loser_refresh) is None


async def test_revoking_a_grant_revokes_every_token_of_it_and_no_other(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    now = stores.now
    kept_access, gone_access, gone_refresh = digest(), digest(), digest()
    kept = await stores.tokens.add_grant_with_tokens(
        _grant(client.info.client_id, user.id, now), kept_access, now + timedelta(hours=1), None
    )
    gone = await stores.tokens.add_grant_with_tokens(
        _grant(client.info.client_id, user.id, now), gone_access, now + timedelta(hours=1), gone_refresh
    )
    assert kept is not None and gone is not None
    later = now + timedelta(seconds=5)
    await stores.tokens.revoke_grant(gone, later)
    revoked = await stores.tokens.get_access_token(gone_access)
    assert revoked is not None and revoked.revoked_at == later
    family = await stores.tokens.get_refresh_token(gone_refresh)
    assert family is not None and family.revoked_at is not None
    untouched = await stores.tokens.get_access_token(kept_access)
    assert untouched is not None and untouched.revoked_at is None
    active = await stores.tokens.list_active_grants(later, client_id=client.info.client_id)
    assert [summary.grant_id for summary in active] == [kept]


async def test_purge_removes_what_expired_and_keeps_the_rest(stores: Stores) -> None:
    client = await stores.client()
    long_ago = datetime.now(UTC) - timedelta(days=400)
    expired, live = digest(), digest()
    old = _grant(client.info.client_id, None, long_ago)
    await stores.tokens.add_grant_with_tokens(
        NewGrant(**{**old.__dict__, "expires_at": long_ago + timedelta(hours=1)}), expired, long_ago, None
    )
    now = stores.now
    await stores.tokens.add_grant_with_tokens(
        _grant(client.info.client_id, None, now), live, now + timedelta(hours=1), None
    )
    assert await stores.tokens.purge_expired(now) >= 1
    assert await stores.tokens.get_access_token(expired) is None
    assert await stores.tokens.get_access_token(live) is not None


async def test_issuance_from_many_requests_at_once_loses_none(stores: Stores) -> None:
    client, now = await stores.client(), stores.now
    digests = [digest() for _ in range(60)]
    grant_ids = await asyncio.gather(
        *(
            stores.tokens.add_grant_with_tokens(
                _grant(client.info.client_id, None, now), access, now + timedelta(hours=1), None
            )
            for access in digests
        )
    )
    assert len(set(grant_ids)) == 60 and None not in grant_ids
    found = await asyncio.gather(*(stores.tokens.get_access_token(access) for access in digests))
    assert [token.grant_id if token else None for token in found] == grant_ids
