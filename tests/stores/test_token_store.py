"""The token store: codes, grants and their tokens, on every backend and by every path it writes them."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import aiomysql
import pytest
from sqlalchemy.exc import DBAPIError
from stores_support import Stores, digest, unique

from gatepass.services.stores import AuditRecord, GrantRefresh, NewCode, NewGrant


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


def _refresh(
    grant_id: int,
    refresh_id: int,
    client_id: str,
    user_id: int,
    now: datetime,
    *,
    access_digest: str | None = None,
    access_dpop_jkt: str | None = None,
    audited: bool = False,
) -> GrantRefresh:
    """A refresh of the grant with a new access token (good for an hour), and its audit event when ``audited``."""
    event = AuditRecord(now, "token_refreshed", user_id, client_id, None, {"scope": "openid"}) if audited else None
    return GrantRefresh(
        grant_id=grant_id,
        refresh_id=refresh_id,
        client_id=client_id,
        user_id=user_id,
        scopes=("openid",),
        resource=None,
        access_digest=access_digest or digest(),
        access_expires_at=now + timedelta(hours=1),
        now=now,
        access_dpop_jkt=access_dpop_jkt,
        audit_event=event,
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
        refresh_of_grant = _refresh(
            grant_id, family.refresh_id, client.info.client_id, user.id, now, access_digest=new_access, audited=True
        )
        return await stores.tokens.rotate_refresh(refresh_of_grant, new_refresh)

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
    # The winner's audit event only: the losers wrote nothing.
    events = await stores.audit.list_events(client_id=client.info.client_id)
    assert [(event.event, event.user_id) for event in events] == [("token_refreshed", user.id)]
    for loser_access, loser_refresh in winners:
        if loser_access != access:
            assert await stores.tokens.get_access_token(loser_access) is None
            assert await stores.tokens.get_refresh_token(loser_refresh) is None


ROTATION_ROUNDS = 30


async def test_refreshes_of_different_grants_at_once_all_rotate(stores: Stores) -> None:
    # Each rotation revokes its grant's access tokens and inserts new ones: on MariaDB's default isolation the
    # index gaps those writes lock made rotations of neighbouring grants deadlock, and one of them failed.
    client, user = await stores.client(), await stores.user()
    now = stores.now
    grants = []
    for _ in range(12):
        refresh = digest()
        grant_id = await stores.tokens.add_grant_with_tokens(
            _grant(client.info.client_id, user.id, now), digest(), now + timedelta(hours=1), refresh
        )
        assert grant_id is not None
        grants.append((grant_id, refresh))
    for _ in range(ROTATION_ROUNDS):
        families = [await stores.tokens.get_refresh_token(refresh) for _, refresh in grants]
        successors = [digest() for _ in grants]
        outcomes = await asyncio.gather(
            *(
                stores.tokens.rotate_refresh(
                    _refresh(grant_id, family.refresh_id, client.info.client_id, user.id, now, audited=True), successor
                )
                for (grant_id, _), family, successor in zip(grants, families, successors, strict=True)
                if family is not None
            )
        )
        assert outcomes == [True] * len(grants)
        grants = [(grant_id, successor) for (grant_id, _), successor in zip(grants, successors, strict=True)]
    events = await stores.audit.list_events(client_id=client.info.client_id, limit=1000)
    assert len(events) == ROTATION_ROUNDS * len(grants)


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


async def test_an_issuance_that_fails_among_many_at_once_fails_alone(stores: Stores) -> None:
    """On PostgreSQL the issuances that arrive together share one transaction (group commit): one that the
    database refuses (its client is gone) must not take the others with it, nor be reported as written."""
    client, now = await stores.client(), stores.now
    digests = [digest() for _ in range(21)]
    client_ids = [client.info.client_id] * 21
    client_ids[10] = unique("deleted-client")
    outcomes = await asyncio.gather(
        *(
            stores.tokens.add_grant_with_tokens(_grant(client_id, None, now), access, now + timedelta(hours=1), None)
            for client_id, access in zip(client_ids, digests, strict=True)
        ),
        return_exceptions=True,
    )
    assert isinstance(outcomes[10], DBAPIError), outcomes[10]
    written = outcomes[:10] + outcomes[11:]
    assert all(isinstance(grant_id, int) for grant_id in written) and len(set(written)) == 20, written
    found = await asyncio.gather(*(stores.tokens.get_access_token(access) for access in digests))
    assert found[10] is None
    assert [token.grant_id if token else None for token in found[:10] + found[11:]] == written


async def test_a_code_reads_back_and_is_consumed_once(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    now = stores.now
    code = NewCode(
        code_digest=digest(),
        client_id=client.info.client_id,
        user_id=user.id,
        redirect_uri="https://app.example/callback",
        redirect_uri_was_sent=False,
        scopes=("openid", "profile"),
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method="S256",
        nonce="n-0S6",
        resource="https://api.example/",
        auth_time=now - timedelta(minutes=1),
        created_at=now,
        expires_at=now + timedelta(minutes=1),
    )
    code_id = await stores.codes.add_code(code)
    found = await stores.codes.get_code(code.code_digest)
    assert found is not None
    assert (found.code_id, found.client_id, found.user_id, found.scopes) == (
        code_id,
        client.info.client_id,
        user.id,
        ("openid", "profile"),
    )
    assert (found.redirect_uri, found.redirect_uri_was_sent, found.code_challenge, found.code_challenge_method) == (
        code.redirect_uri,
        False,
        code.code_challenge,
        "S256",
    )
    assert (found.nonce, found.resource, found.auth_time, found.expires_at, found.consumed_at) == (
        "n-0S6",
        "https://api.example/",
        code.auth_time,
        code.expires_at,
        None,
    )
    outcomes = await asyncio.gather(*(stores.codes.consume_code(code_id, now) for _ in range(3)))
    assert sorted(outcomes) == [False, False, True]
    consumed = await stores.codes.get_code(code.code_digest)
    assert consumed is not None and consumed.consumed_at == now
    assert await stores.codes.get_code(digest()) is None


async def test_a_consumed_code_issues_no_grant(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    code_id = await _code(stores, client.info.client_id, user.id)
    now = stores.now
    assert await stores.codes.consume_code(code_id, now) is True
    access = digest()
    grant = _grant(client.info.client_id, user.id, now, code_id=code_id)
    assert await stores.tokens.add_grant_with_tokens(grant, access, now + timedelta(hours=1), digest()) is None
    assert await stores.tokens.get_access_token(access) is None


async def test_a_revoked_refresh_token_reads_back_revoked_and_does_not_rotate(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    now = stores.now
    refresh = digest()
    grant_id = await stores.tokens.add_grant_with_tokens(
        _grant(client.info.client_id, user.id, now), digest(), now + timedelta(hours=1), refresh
    )
    assert grant_id is not None
    family = await stores.tokens.get_refresh_token(refresh)
    assert family is not None
    await stores.tokens.revoke_grant(grant_id, now)
    revoked = await stores.tokens.get_refresh_token(refresh)
    assert revoked is not None and revoked.revoked_at == now
    new_access = digest()
    refresh_of_grant = _refresh(
        grant_id, family.refresh_id, client.info.client_id, user.id, now, access_digest=new_access, audited=True
    )
    assert await stores.tokens.rotate_refresh(refresh_of_grant, digest()) is False
    assert await stores.tokens.get_access_token(new_access) is None
    assert await stores.audit.list_events(client_id=client.info.client_id) == []


async def test_revoking_the_grants_of_a_code_revokes_only_those(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    code_id = await _code(stores, client.info.client_id, user.id)
    now = stores.now
    from_code, other = digest(), digest()
    await stores.tokens.add_grant_with_tokens(
        _grant(client.info.client_id, user.id, now, code_id=code_id), from_code, now + timedelta(hours=1), None
    )
    await stores.tokens.add_grant_with_tokens(
        _grant(client.info.client_id, user.id, now), other, now + timedelta(hours=1), None
    )
    assert await stores.tokens.get_access_token(from_code) is not None  # now cached
    assert await stores.tokens.revoke_grants_from_code(code_id, now) == 1
    revoked = await stores.tokens.get_access_token(from_code)
    assert revoked is not None and revoked.revoked_at == now
    kept = await stores.tokens.get_access_token(other)
    assert kept is not None and kept.revoked_at is None


async def _issued(stores: Stores, client_id: str, user_id: int | None) -> tuple[int, str, str | None]:
    now = stores.now
    access, refresh = digest(), digest() if user_id is not None else None
    grant_id = await stores.tokens.add_grant_with_tokens(
        _grant(client_id, user_id, now), access, now + timedelta(hours=1), refresh
    )
    assert grant_id is not None
    return grant_id, access, refresh


async def _is_revoked(stores: Stores, access: str, refresh: str | None) -> bool:
    token = await stores.tokens.get_access_token(access)
    assert token is not None
    if refresh is not None:
        family = await stores.tokens.get_refresh_token(refresh)
        assert family is not None
        assert (family.revoked_at is None) == (token.revoked_at is None), "a grant's tokens are revoked together"
    return token.revoked_at is not None


async def test_revoking_a_user_at_one_client_leaves_their_other_clients_and_other_users(stores: Stores) -> None:
    client, other_client = await stores.client(), await stores.client()
    user, other_user = await stores.user(), await stores.user()
    targets = [await _issued(stores, client.info.client_id, user.id) for _ in range(2)]
    kept = [
        await _issued(stores, other_client.info.client_id, user.id),
        await _issued(stores, client.info.client_id, other_user.id),
    ]
    for _, access, refresh in [*targets, *kept]:
        assert await _is_revoked(stores, access, refresh) is False  # now cached
    assert await stores.tokens.revoke_grants_of(user.id, client.info.client_id, stores.now) == 2
    assert [await _is_revoked(stores, access, refresh) for _, access, refresh in targets] == [True, True]
    assert [await _is_revoked(stores, access, refresh) for _, access, refresh in kept] == [False, False]
    # Already revoked grants are not counted again.
    assert await stores.tokens.revoke_grants_of(user.id, client.info.client_id, stores.now) == 0


async def test_revoking_everything_of_a_user_spans_their_clients_only(stores: Stores) -> None:
    client, other_client = await stores.client(), await stores.client()
    user, other_user = await stores.user(), await stores.user()
    targets = [
        await _issued(stores, client.info.client_id, user.id),
        await _issued(stores, other_client.info.client_id, user.id),
    ]
    kept = await _issued(stores, client.info.client_id, other_user.id)
    assert await stores.tokens.revoke_all_of_user(user.id, stores.now) == 2
    assert [await _is_revoked(stores, access, refresh) for _, access, refresh in targets] == [True, True]
    assert await _is_revoked(stores, kept[1], kept[2]) is False
    assert await stores.tokens.list_active_grants(stores.now, user_id=user.id) == []


async def test_revoking_everything_of_a_client_spans_its_users_and_service_grants_only(stores: Stores) -> None:
    client, other_client = await stores.client(), await stores.client()
    user, other_user = await stores.user(), await stores.user()
    targets = [
        await _issued(stores, client.info.client_id, user.id),
        await _issued(stores, client.info.client_id, other_user.id),
        await _issued(stores, client.info.client_id, None),
    ]
    kept = await _issued(stores, other_client.info.client_id, user.id)
    for _, access, refresh in [*targets, kept]:
        assert await _is_revoked(stores, access, refresh) is False  # now cached
    assert await stores.tokens.revoke_all_of_client(client.info.client_id, stores.now) == 3
    assert [await _is_revoked(stores, access, refresh) for _, access, refresh in targets] == [True, True, True]
    assert await _is_revoked(stores, kept[1], kept[2]) is False
    assert await stores.tokens.revoke_all_of_client(client.info.client_id, stores.now) == 0


async def test_active_grants_are_listed_newest_first_with_their_last_use(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    now = stores.now
    ids = []
    for offset in range(3):
        at = now + timedelta(seconds=offset)
        grant_id = await stores.tokens.add_grant_with_tokens(
            _grant(client.info.client_id, user.id, at), digest(), at + timedelta(hours=1), digest()
        )
        assert grant_id is not None
        ids.append(grant_id)
    expired = _grant(client.info.client_id, user.id, now - timedelta(days=2))
    await stores.tokens.add_grant_with_tokens(
        NewGrant(**{**expired.__dict__, "expires_at": now - timedelta(days=1)}), digest(), now, None
    )
    used_at = now + timedelta(minutes=5)
    await stores.tokens.touch_grants([ids[0], ids[2]], used_at)
    listed = await stores.tokens.list_active_grants(now + timedelta(seconds=3), client_id=client.info.client_id)
    assert [summary.grant_id for summary in listed] == ids[::-1]
    assert [summary.last_used_at for summary in listed] == [used_at, None, used_at]
    first = listed[-1]
    assert (first.client_id, first.app_name, first.user_id, first.user_email, first.scopes) == (
        client.info.client_id,
        "Contract App",
        user.id,
        user.email,
        ("openid", "all"),
    )
    assert (first.created_at, first.expires_at) == (now, now + timedelta(days=30))
    only = await stores.tokens.list_active_grants(now, user_id=user.id, grant_id=ids[1])
    assert [summary.grant_id for summary in only] == [ids[1]]
    assert await stores.tokens.list_active_grants(now, grant_id=ids[1], user_id=10**9) == []


async def test_purge_removes_revoked_grants_and_expired_codes_and_keeps_live_ones(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    now = stores.now
    revoked_id, revoked_access, revoked_refresh = await _issued(stores, client.info.client_id, user.id)
    await stores.tokens.revoke_grant(revoked_id, now)
    _, live_access, live_refresh = await _issued(stores, client.info.client_id, user.id)
    old = NewCode(
        code_digest=digest(),
        client_id=client.info.client_id,
        user_id=user.id,
        redirect_uri="https://app.example/callback",
        redirect_uri_was_sent=True,
        scopes=("openid",),
        code_challenge=None,
        code_challenge_method=None,
        nonce=None,
        resource=None,
        auth_time=now - timedelta(hours=1),
        created_at=now - timedelta(hours=1),
        expires_at=now - timedelta(minutes=59),
    )
    await stores.codes.add_code(old)
    live_code_id = await _code(stores, client.info.client_id, user.id)
    # At least this test's revoked grant (its tokens go with it) and expired code; other tests' rows may go too.
    assert await stores.tokens.purge_expired(now) >= 2
    assert await stores.tokens.get_access_token(revoked_access) is None
    assert revoked_refresh is not None and await stores.tokens.get_refresh_token(revoked_refresh) is None
    assert await stores.codes.get_code(old.code_digest) is None
    assert await stores.tokens.get_access_token(live_access) is not None
    assert live_refresh is not None and await stores.tokens.get_refresh_token(live_refresh) is not None
    assert await stores.codes.consume_code(live_code_id, now) is True


async def test_an_access_token_reads_whether_its_client_is_enabled_and_trusted_now(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    now = stores.now
    access = digest()
    await stores.tokens.add_grant_with_tokens(
        _grant(client.info.client_id, user.id, now), access, now + timedelta(hours=1), None
    )
    token = await stores.tokens.get_access_token(access)
    assert token is not None and token.is_client_enabled and not token.is_client_trusted
    trusted = dataclasses.replace(client.info, skip_authorization=True)
    await stores.clients.update_client(trusted, client.secret_encrypted, now)
    token = await stores.tokens.get_access_token(access)
    assert token is not None and token.is_client_trusted
    await stores.clients.update_client(dataclasses.replace(trusted, is_enabled=False), client.secret_encrypted, now)
    token = await stores.tokens.get_access_token(access)
    assert token is not None and not token.is_client_enabled, "a cached token must not outlive its client's disabling"


async def test_an_issuance_writes_its_audit_event_with_its_grant_and_a_reused_code_writes_neither(
    stores: Stores,
) -> None:
    client, user = await stores.client(), await stores.user()
    now = stores.now
    client_id = client.info.client_id
    code_id = await _code(stores, client_id, user.id)

    def issued(grant_type: str) -> AuditRecord:
        return AuditRecord(now, "token_issued", user.id, client_id, None, {"grant_type": grant_type, "scope": "all"})

    for with_refresh in (False, True):
        grant_id = await stores.tokens.add_grant_with_tokens(
            _grant(client_id, user.id, now),
            digest(),
            now + timedelta(hours=1),
            digest() if with_refresh else None,
            issued("client_credentials"),
        )
        assert grant_id is not None
    access = digest()
    grant = _grant(client_id, user.id, now, code_id=code_id)
    assert await stores.tokens.add_grant_with_tokens(grant, access, now, digest(), issued("authorization_code"))
    # The same code again: no grant, no token, and no event claiming one was issued.
    assert (
        await stores.tokens.add_grant_with_tokens(grant, digest(), now, digest(), issued("authorization_code")) is None
    )
    events = await stores.audit.list_events(client_id=client_id)
    assert sorted(event.detail["grant_type"] for event in events) == [
        "authorization_code",
        "client_credentials",
        "client_credentials",
    ]
    assert all((event.event, event.user_id, event.at) == ("token_issued", user.id, now) for event in events)


async def _add_access(
    stores: Stores, grant_id: int, refresh_id: int, client_id: str, user_id: int, at: datetime
) -> str:
    """A new access token on the grant, its refresh token kept; its digest when written, '' when refused."""
    access = digest()
    events_before = len(await stores.audit.list_events(client_id=client_id))
    refresh = _refresh(
        grant_id,
        refresh_id,
        client_id,
        user_id,
        at,
        access_digest=access,
        access_dpop_jkt="jkt-of-the-key",
        audited=True,
    )
    added = await stores.tokens.add_access_token_to_grant(refresh)
    events_after = len(await stores.audit.list_events(client_id=client_id))
    if not added:
        assert await stores.tokens.get_access_token(access) is None, "a refused addition writes nothing"
        assert events_after == events_before, "a refused addition writes no audit event"
        return ""
    return access


async def test_access_tokens_added_to_a_live_grant_keep_its_refresh_token_and_die_with_it(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    client_id, now = client.info.client_id, stores.now
    first_access, refresh = digest(), digest()
    grant_id = await stores.tokens.add_grant_with_tokens(
        _grant(client_id, user.id, now), first_access, now + timedelta(hours=1), refresh
    )
    assert grant_id is not None
    family = await stores.tokens.get_refresh_token(refresh)
    assert family is not None
    later = now + timedelta(minutes=5)
    # Several at once, as retries after lost answers would come: each gets its own token, none is refused.
    added = await asyncio.gather(
        *(_add_access(stores, grant_id, family.refresh_id, client_id, user.id, later) for _ in range(3))
    )
    assert all(added) and len(set(added)) == 3
    refreshed = await stores.audit.list_events(client_id=client_id)
    assert [event.event for event in refreshed] == ["token_refreshed"] * 3, "each token with its audit event"
    for access in added:
        token = await stores.tokens.get_access_token(access)
        assert token is not None
        assert (token.grant_id, token.scopes, token.dpop_jkt, token.revoked_at) == (
            grant_id,
            ("openid",),
            "jkt-of-the-key",
            None,
        )
        assert (token.created_at, token.expires_at) == (later, later + timedelta(hours=1))
    earlier = await stores.tokens.get_access_token(first_access)
    assert earlier is not None and earlier.revoked_at is None, "the grant's earlier access token stays valid"
    kept = await stores.tokens.get_refresh_token(refresh)
    assert kept is not None and (kept.refresh_id, kept.rotated_at, kept.revoked_at) == (family.refresh_id, None, None)
    [summary] = await stores.tokens.list_active_grants(now, grant_id=grant_id)
    assert summary.last_used_at == later
    revoked_at = later + timedelta(seconds=1)
    await stores.tokens.revoke_grant(grant_id, revoked_at)
    for access in (first_access, *added):
        token = await stores.tokens.get_access_token(access)
        assert token is not None and token.revoked_at == revoked_at
    assert await _add_access(stores, grant_id, family.refresh_id, client_id, user.id, revoked_at) == ""


async def test_no_access_token_is_added_to_an_expired_grant_or_beside_a_rotated_refresh_token(stores: Stores) -> None:
    client, user = await stores.client(), await stores.user()
    client_id, now = client.info.client_id, stores.now
    refresh = digest()
    grant_id = await stores.tokens.add_grant_with_tokens(
        _grant(client_id, user.id, now), digest(), now + timedelta(hours=1), refresh
    )
    assert grant_id is not None
    family = await stores.tokens.get_refresh_token(refresh)
    assert family is not None
    expired_at = now + timedelta(days=30)
    assert await _add_access(stores, grant_id, family.refresh_id, client_id, user.id, expired_at) == ""
    assert await stores.tokens.rotate_refresh(_refresh(grant_id, family.refresh_id, client_id, user.id, now), digest())
    assert await _add_access(stores, grant_id, family.refresh_id, client_id, user.id, now) == ""


async def test_an_access_token_reads_with_its_user_and_their_roles_as_they_are_now(stores: Stores) -> None:
    first_role, second_role = unique("Token Role"), unique("Token Role")
    for role in (first_role, second_role):
        await stores.users.add_role(role, "", stores.now)
    client, user = await stores.client(), await stores.user(roles=(first_role, second_role))
    now = stores.now
    access, other_access, service_access = digest(), digest(), digest()
    for each_access in (access, other_access):
        await stores.tokens.add_grant_with_tokens(
            _grant(client.info.client_id, user.id, now), each_access, now + timedelta(hours=1), None
        )
    await stores.tokens.add_grant_with_tokens(
        _grant(client.info.client_id, None, now), service_access, now + timedelta(hours=1), None
    )

    token = await stores.tokens.get_access_token(access)
    assert token is not None and token.user == await stores.users.get_user(user.id)
    assert token.user is not None and token.user.roles == tuple(sorted((first_role, second_role)))
    other = await stores.tokens.get_access_token(other_access)
    assert other is not None and other.user == token.user
    service = await stores.tokens.get_access_token(service_access)
    assert service is not None and (service.user_id, service.user) == (None, None)

    # A role taken away, then the user disabled: the token, cached or not, reads its user as they are now.
    await stores.users.set_roles(user.id, (second_role,))
    token = await stores.tokens.get_access_token(access)
    assert token is not None and token.user is not None and token.user.roles == (second_role,)
    await stores.users.set_enabled(user.id, False, stores.now)
    token = await stores.tokens.get_access_token(access)
    assert token is not None and token.user is not None and token.user.is_enabled is False
    await stores.users.set_roles(user.id, ())
    token = await stores.tokens.get_access_token(other_access)
    assert token is not None and token.user is not None and token.user.roles == ()


@pytest.mark.parametrize("stores", [pytest.param("mariadb", marks=pytest.mark.backend("mariadb"))], indirect=True)
async def test_a_refresh_that_loses_a_deadlock_on_mariadb_is_run_again_and_rotates(stores: Stores) -> None:
    # A real deadlock, made on purpose: another transaction holds the grant's row and then asks for the refresh
    # token's row, which the rotation holds while it waits for the grant. InnoDB rolls back the one that changed
    # fewer rows, so the other one first changes forty: the rotation is rolled back, and must be run again.
    client, user = await stores.client(), await stores.user()
    grant_id, _, refresh = await _issued(stores, client.info.client_id, user.id)
    ballast = [(await _issued(stores, client.info.client_id, user.id))[0] for _ in range(40)]
    assert refresh is not None
    family = await stores.tokens.get_refresh_token(refresh)
    assert family is not None
    url = stores.database.engine.url
    other = await aiomysql.connect(
        host=url.host, port=url.port or 3306, user=url.username, password=url.password or "", db=url.database
    )
    try:
        async with other.cursor() as cursor:
            await cursor.execute("START TRANSACTION")
            placeholders = ", ".join(["%s"] * len(ballast))
            await cursor.execute(
                f"UPDATE access_tokens SET resource = 'https://ballast.example/' WHERE grant_id IN ({placeholders})",
                ballast,
            )
            await cursor.execute("UPDATE token_grants SET last_used_at = last_used_at WHERE id = %s", (grant_id,))
            rotation = asyncio.create_task(
                stores.tokens.rotate_refresh(
                    _refresh(grant_id, family.refresh_id, client.info.client_id, user.id, stores.now), digest()
                )
            )
            await asyncio.sleep(0.5)
            assert not rotation.done(), "the rotation should be waiting for the grant's row"
            # Closes the cycle: InnoDB picks the rotation (fewer rows) and rolls it back; its second run waits for
            # this transaction's commit.
            await cursor.execute("UPDATE refresh_tokens SET dpop_jkt = dpop_jkt WHERE id = %s", (family.refresh_id,))
            await cursor.execute("COMMIT")
        assert await asyncio.wait_for(rotation, timeout=30) is True
    finally:
        other.close()
    rotated = await stores.tokens.get_refresh_token(refresh)
    assert rotated is not None and rotated.rotated_at is not None
