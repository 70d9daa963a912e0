"""The user store: accounts, roles, API credentials and login-failure counters, with the cached lookup by id
seeing every change."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

import pytest
from stores_support import Stores, digest, unique

from gatepass.services.stores import Conflict, NewUser, NotFound, ThrottleRecord


async def test_a_new_user_reads_back_with_every_field(stores: Stores) -> None:
    role = await stores.role()
    email = f"{unique('Mixed.Case')}@Example.test"
    user = await stores.users.add_user(
        NewUser(
            email=f"  {email} ",
            sub=secrets.token_hex(8),
            first_name="Ada",
            last_name="Lovelace",
            picture_url="https://pictures.example/ada.png",
            password_hash="argon2-hash",
            roles=(role,),
            is_email_verified=True,
        ),
        stores.now,
    )
    assert user.email == email.lower()
    assert (user.first_name, user.last_name, user.full_name) == ("Ada", "Lovelace", "Ada Lovelace")
    assert (user.picture_url, user.password_hash, user.roles) == (
        "https://pictures.example/ada.png",
        "argon2-hash",
        (role,),
    )
    assert (user.is_enabled, user.is_email_verified, user.api_key) == (True, True, None)
    assert await stores.users.get_user_by_email(email) == user


async def test_an_email_is_taken_once_whatever_its_case(stores: Stores) -> None:
    user = await stores.user()
    with pytest.raises(Conflict):
        await stores.users.add_user(NewUser(email=user.email.upper(), sub=secrets.token_hex(8)), stores.now)


async def test_a_user_with_a_role_that_does_not_exist_is_not_added(stores: Stores) -> None:
    email = f"{unique('user')}@example.test"
    with pytest.raises(NotFound):
        await stores.users.add_user(
            NewUser(email=email, sub=secrets.token_hex(8), roles=(unique("no-role"),)), stores.now
        )
    assert await stores.users.get_user_by_email(email) is None


async def test_users_are_counted_and_listed_by_email_with_their_roles(stores: Stores) -> None:
    before = await stores.users.count_users()
    role = await stores.role()
    first, second = await stores.user(roles=(role,)), await stores.user()
    assert await stores.users.count_users() == before + 2
    listed = {user.id: user for user in await stores.users.list_users()}
    assert (listed[first.id], listed[second.id]) == (first, second)
    emails = [user.email for user in await stores.users.list_users()]
    assert emails == sorted(emails)


async def test_changes_to_a_user_are_seen_by_the_cached_lookup_at_once(stores: Stores) -> None:
    role, other_role = await stores.role(), await stores.role()
    user = await stores.user(roles=(role,))
    assert await stores.users.get_user(user.id) == user  # now cached
    await stores.users.set_enabled(user.id, False, stores.now)
    await stores.users.set_password_hash(user.id, "new-hash", stores.now)
    await stores.users.set_roles(user.id, (other_role, role))
    found = await stores.users.get_user(user.id)
    assert found is not None
    assert (found.is_enabled, found.password_hash, found.roles) == (
        False,
        "new-hash",
        tuple(sorted((role, other_role))),
    )
    await stores.users.set_roles(user.id, ())
    emptied = await stores.users.get_user(user.id)
    assert emptied is not None and emptied.roles == ()


async def test_setting_roles_that_do_not_exist_changes_nothing(stores: Stores) -> None:
    role = await stores.role()
    user = await stores.user(roles=(role,))
    with pytest.raises(NotFound):
        await stores.users.set_roles(user.id, (role, unique("no-role")))
    found = await stores.users.get_user(user.id)
    assert found is not None and found.roles == (role,)


async def test_changing_a_user_that_does_not_exist_is_not_found(stores: Stores) -> None:
    with pytest.raises(NotFound):
        await stores.users.set_enabled(10**9, False, stores.now)
    with pytest.raises(NotFound):
        await stores.users.set_password_hash(10**9, "hash", stores.now)
    with pytest.raises(NotFound):
        await stores.users.set_api_credentials(10**9, unique("key"), digest(), stores.now)


async def test_a_password_hash_is_replaced_only_from_the_hash_it_was_read_as(stores: Stores) -> None:
    user = await stores.users.add_user(
        NewUser(email=f"{unique('user')}@example.test", sub=secrets.token_hex(8), password_hash="old"), stores.now
    )
    # Two logins rehashing the same old hash at once: one wins, the other changes nothing.
    outcomes = await asyncio.gather(
        stores.users.replace_password_hash(user.id, "old", "first", stores.now),
        stores.users.replace_password_hash(user.id, "old", "second", stores.now),
    )
    assert sorted(outcomes) == [False, True]
    found = await stores.users.get_user(user.id)
    assert found is not None and found.password_hash == ("first" if outcomes[0] else "second")


async def test_a_user_is_found_by_api_key_with_the_secret_digest(stores: Stores) -> None:
    user = await stores.user()
    api_key, secret_digest = unique("key"), digest()
    assert await stores.users.get_user_by_api_key(api_key) is None
    await stores.users.set_api_credentials(user.id, api_key, secret_digest, stores.now)
    found = await stores.users.get_user_by_api_key(api_key)
    assert found is not None
    record, stored_digest = found
    assert (record.id, record.api_key, stored_digest) == (user.id, api_key, secret_digest)


async def test_roles_are_listed_by_name_and_a_name_is_taken_once(stores: Stores) -> None:
    name = unique("Listed Role")
    await stores.users.add_role(name, "Can do things", stores.now, is_builtin=True)
    assert (name, True, "Can do things") in await stores.users.list_roles()
    names = [role[0] for role in await stores.users.list_roles()]
    assert names == sorted(names)
    with pytest.raises(Conflict):
        await stores.users.add_role(name, "Again", stores.now)
    assert (name, False, "Again") not in await stores.users.list_roles()


async def test_login_failures_lock_from_the_limit_on_and_double_the_wait(stores: Stores) -> None:
    key, now = digest(), stores.now
    assert await stores.users.get_throttle(key) is None

    async def fail(at: timedelta) -> ThrottleRecord:
        return await stores.users.record_login_failure(
            key,
            now + at,
            lock_after=3,
            lock_seconds=10,
            max_lock_seconds=25,
            forget_before=now - timedelta(hours=1),
        )

    assert await fail(timedelta(0)) == ThrottleRecord(1, None)
    assert await fail(timedelta(seconds=1)) == ThrottleRecord(2, None)
    assert await fail(timedelta(seconds=2)) == ThrottleRecord(3, now + timedelta(seconds=12))
    assert await fail(timedelta(seconds=3)) == ThrottleRecord(4, now + timedelta(seconds=23))
    # 40 s would pass the cap.
    assert await fail(timedelta(seconds=4)) == ThrottleRecord(5, now + timedelta(seconds=29))
    assert await stores.users.get_throttle(key) == ThrottleRecord(5, now + timedelta(seconds=29))
    await stores.users.clear_login_failures(key)
    assert await stores.users.get_throttle(key) is None


async def test_old_login_failures_are_forgotten_before_counting_a_new_one(stores: Stores) -> None:
    key, now = digest(), stores.now
    for _ in range(2):
        await stores.users.record_login_failure(
            key, now, lock_after=2, lock_seconds=10, max_lock_seconds=60, forget_before=now - timedelta(hours=1)
        )
    later = now + timedelta(hours=2)
    counted = await stores.users.record_login_failure(
        key, later, lock_after=2, lock_seconds=10, max_lock_seconds=60, forget_before=later - timedelta(hours=1)
    )
    assert counted == ThrottleRecord(1, None)


async def test_users_added_at_once_with_the_same_role_all_land(stores: Stores) -> None:
    """Many admins' scripts at once (or the CLI in parallel): none deadlocks on another's role rows."""
    role = await stores.role()
    users = await asyncio.gather(*(stores.user(roles=(role,)) for _ in range(24)))
    assert len({user.id for user in users}) == 24
    for user in users:
        found = await stores.users.get_user(user.id)
        assert found is not None and found.roles == (role,)
