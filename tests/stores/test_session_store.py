"""The login-session store: a session reads back until it expires, is deleted alone or with every session
of its user, and the purges remove only what can never count again."""

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
    assert found == SessionRecord(found.session_id, user.id, auth_time, expires_at)
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
