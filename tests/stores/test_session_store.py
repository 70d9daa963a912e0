"""The login-session store: a session reads back until it expires, is listed with its browser, address and
last-seen time, is deleted alone or with every (other) session of its user, and the purges remove only what
can never count again."""

from __future__ import annotations

from datetime import timedelta

from stores_support import Stores, digest

from gatepass.services.stores import SessionRecord


async def test_a_session_reads_back_until_it_expires(stores: Stores) -> None:
    user, now, session = await stores.user(), stores.now, digest()
    auth_time, expires_at = now - timedelta(minutes=5), now + timedelta(hours=1)
    await stores.sessions.add_session(session, user.id, auth_time, now, expires_at)
    found = await stores.sessions.get_session(session, now)
    assert found is not None
    assert found == SessionRecord(found.session_id, user.id, auth_time, expires_at, last_seen_at=now)
    assert await stores.sessions.get_session(session, expires_at) is None
    assert await stores.sessions.get_session(digest(), now) is None


async def test_deleting_a_session_leaves_the_others_of_its_user(stores: Stores) -> None:
    user, now = await stores.user(), stores.now
    gone, kept = digest(), digest()
    for session in (gone, kept):
        await stores.sessions.add_session(session, user.id, now, now, now + timedelta(hours=1))
    await stores.sessions.delete_session(gone)
    assert await stores.sessions.get_session(gone, now) is None
    assert await stores.sessions.get_session(kept, now) is not None


async def test_deleting_the_sessions_of_a_user_leaves_other_users_signed_in(stores: Stores) -> None:
    user, other, now = await stores.user(), await stores.user(), stores.now
    sessions = [digest(), digest()]
    for session in sessions:
        await stores.sessions.add_session(session, user.id, now, now, now + timedelta(hours=1))
    others = digest()
    await stores.sessions.add_session(others, other.id, now, now, now + timedelta(hours=1))
    await stores.sessions.delete_sessions_of(user.id)
    assert [await stores.sessions.get_session(session, now) for session in sessions] == [None, None]
    assert await stores.sessions.get_session(others, now) is not None


async def test_purge_removes_expired_sessions_only(stores: Stores) -> None:
    user, now = await stores.user(), stores.now
    expired, live = digest(), digest()
    await stores.sessions.add_session(expired, user.id, now, now - timedelta(hours=2), now - timedelta(hours=1))
    await stores.sessions.add_session(live, user.id, now, now, now + timedelta(hours=1))
    assert await stores.sessions.purge_expired(now) >= 1
    assert await stores.sessions.get_session(live, now) is not None
    # Expired and purged: even a clock set back cannot bring it back.
    assert await stores.sessions.get_session(expired, now - timedelta(days=1)) is None


async def test_purge_forgets_failure_counters_that_are_old_and_lock_nothing(stores: Stores) -> None:
    now = stores.now
    old, old_but_locked, recent = digest(), digest(), digest()
    long_ago = now - timedelta(days=2)
    await stores.users.record_login_failure(
        old, long_ago, lock_after=5, lock_seconds=10, max_lock_seconds=60, forget_before=long_ago
    )
    await stores.users.record_login_failure(
        old_but_locked, long_ago, lock_after=1, lock_seconds=10, max_lock_seconds=10**7, forget_before=long_ago
    )
    # Locked for 10 s at first: a second failure while locked doubles it, well past now.
    for _ in range(21):
        await stores.users.record_login_failure(
            old_but_locked, long_ago, lock_after=1, lock_seconds=10, max_lock_seconds=10**7, forget_before=long_ago
        )
    await stores.users.record_login_failure(
        recent, now, lock_after=5, lock_seconds=10, max_lock_seconds=60, forget_before=long_ago
    )
    assert await stores.sessions.purge_throttles(now - timedelta(days=1), now) >= 1
    assert await stores.users.get_throttle(old) is None
    locked = await stores.users.get_throttle(old_but_locked)
    assert locked is not None and locked.locked_until is not None and locked.locked_until > now
    assert await stores.users.get_throttle(recent) is not None


async def test_a_users_sessions_are_listed_with_browser_and_address_most_recently_seen_first(stores: Stores) -> None:
    user, other, now = await stores.user(), await stores.user(), stores.now
    older, newer = digest(), digest()
    await stores.sessions.add_session(
        older, user.id, now, now - timedelta(hours=2), now + timedelta(hours=1), user_agent="Firefox", ip="192.0.2.7"
    )
    await stores.sessions.add_session(newer, user.id, now, now - timedelta(hours=1), now + timedelta(hours=1))
    await stores.sessions.add_session(digest(), user.id, now, now - timedelta(hours=3), now - timedelta(seconds=1))
    await stores.sessions.add_session(digest(), other.id, now, now, now + timedelta(hours=1))
    listed = await stores.sessions.list_sessions_of(user.id, now)
    assert [(s.user_agent, s.ip, s.created_at) for s in listed] == [
        (None, None, now - timedelta(hours=1)),
        ("Firefox", "192.0.2.7", now - timedelta(hours=2)),
    ]
    found = await stores.sessions.get_session(older, now)
    assert found is not None
    await stores.sessions.touch_session(found.session_id, now)
    assert (await stores.sessions.get_session(older, now)) == SessionRecord(
        found.session_id, user.id, now, now + timedelta(hours=1), last_seen_at=now
    )
    assert [s.user_agent for s in await stores.sessions.list_sessions_of(user.id, now)] == ["Firefox", None]


async def test_a_session_is_ended_by_id_only_for_its_own_user(stores: Stores) -> None:
    user, other, now = await stores.user(), await stores.user(), stores.now
    session = digest()
    await stores.sessions.add_session(session, user.id, now, now, now + timedelta(hours=1))
    found = await stores.sessions.get_session(session, now)
    assert found is not None
    assert await stores.sessions.delete_session_of(other.id, found.session_id) is False
    assert await stores.sessions.get_session(session, now) is not None
    assert await stores.sessions.delete_session_of(user.id, found.session_id) is True
    assert await stores.sessions.get_session(session, now) is None


async def test_ending_every_other_session_keeps_the_one_named(stores: Stores) -> None:
    user, now = await stores.user(), stores.now
    kept, ended = digest(), [digest(), digest()]
    for session in (kept, *ended):
        await stores.sessions.add_session(session, user.id, now, now, now + timedelta(hours=1))
    keep = await stores.sessions.get_session(kept, now)
    assert keep is not None
    assert await stores.sessions.delete_sessions_of(user.id, keep=keep.session_id) == 2
    assert await stores.sessions.get_session(kept, now) is not None
    assert [await stores.sessions.get_session(session, now) for session in ended] == [None, None]
