"""The second-factor store on each backend: a TOTP step taken once, recovery codes used once, resets."""

from __future__ import annotations

import asyncio

from stores_support import Stores, digest

from gatepass.db.second_factors import SqlSecondFactorStore


async def test_a_totp_step_is_taken_once_and_never_an_earlier_one(stores: Stores) -> None:
    store, user = SqlSecondFactorStore(stores.database), await stores.user()
    assert await store.get_totp(user.id) is None
    await store.save_totp(user.id, "sealed-secret", stores.now)
    assert await store.use_totp_step(user.id, 1000)
    assert not await store.use_totp_step(user.id, 1000)
    assert not await store.use_totp_step(user.id, 999)
    assert await store.use_totp_step(user.id, 1001)
    record = await store.get_totp(user.id)
    assert record is not None and (record.secret_encrypted, record.last_used_step) == ("sealed-secret", 1001)


async def test_two_logins_racing_with_one_code_let_only_one_in(stores: Stores) -> None:
    store, user = SqlSecondFactorStore(stores.database), await stores.user()
    await store.save_totp(user.id, "sealed-secret", stores.now)
    outcomes = await asyncio.gather(*(store.use_totp_step(user.id, 5000) for _ in range(4)))
    assert sorted(outcomes) == [False, False, False, True]


async def test_a_new_app_replaces_the_old_one_and_starts_with_no_step_used(stores: Stores) -> None:
    store, user = SqlSecondFactorStore(stores.database), await stores.user()
    await store.save_totp(user.id, "first", stores.now)
    assert await store.use_totp_step(user.id, 7000)
    await store.save_totp(user.id, "second", stores.now)
    record = await store.get_totp(user.id)
    assert record is not None and (record.secret_encrypted, record.last_used_step) == ("second", None)


async def test_recovery_codes_are_used_once_each_and_renewing_voids_the_old_ones(stores: Stores) -> None:
    store, user, other = SqlSecondFactorStore(stores.database), await stores.user(), await stores.user()
    codes = tuple(digest() for _ in range(10))
    await store.replace_recovery_codes(user.id, codes, stores.now)
    assert await store.count_recovery_codes_left(user.id) == 10
    assert not await store.use_recovery_code(other.id, codes[0], stores.now)
    assert await store.use_recovery_code(user.id, codes[0], stores.now)
    assert not await store.use_recovery_code(user.id, codes[0], stores.now)
    assert await store.count_recovery_codes_left(user.id) == 9
    renewed = tuple(digest() for _ in range(10))
    await store.replace_recovery_codes(user.id, renewed, stores.now)
    assert not await store.use_recovery_code(user.id, codes[1], stores.now)
    assert await store.count_recovery_codes_left(user.id) == 10


async def test_a_reset_removes_the_app_and_the_codes(stores: Stores) -> None:
    store, user = SqlSecondFactorStore(stores.database), await stores.user()
    assert not await store.delete_factors(user.id)
    await store.save_totp(user.id, "secret", stores.now)
    await store.replace_recovery_codes(user.id, (digest(),), stores.now)
    assert await store.delete_factors(user.id)
    assert await store.get_totp(user.id) is None
    assert await store.count_recovery_codes_left(user.id) == 0


async def test_whether_any_holder_of_a_role_has_enrolled(stores: Stores) -> None:
    store = SqlSecondFactorStore(stores.database)
    role, other_role = f"Auditor {digest()[:8]}", f"Clerk {digest()[:8]}"
    await stores.users.add_role(role, "", stores.now)
    await stores.users.add_role(other_role, "", stores.now)
    holder = await stores.user(roles=(role,))
    other = await stores.user(roles=(other_role,))
    await store.save_totp(other.id, "secret", stores.now)
    assert not await store.has_enrolled_user_with_role(role)
    await store.save_totp(holder.id, "secret", stores.now)
    assert await store.has_enrolled_user_with_role(role)
