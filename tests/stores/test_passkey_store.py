"""The passkey store on each backend: credentials looked up by digest, removed ones kept as removed, the
signature counter moved only forward by one conditional update, and each ceremony's challenge used once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from stores_support import Stores, digest

from gatepass.db.passkeys import SqlPasskeyStore
from gatepass.db.second_factors import SqlSecondFactorStore
from gatepass.services.stores import NewPasskey

LONG_CREDENTIAL_ID = "A" * 1366  # WebAuthn allows ids of up to 1,023 bytes: 1,364 base64url characters


def _passkey(user_id: int, credential_digest: str, *, name: str = "Laptop", sign_count: int = 0) -> NewPasskey:
    return NewPasskey(
        user_id=user_id, credential_digest=credential_digest, credential_id=LONG_CREDENTIAL_ID[:1364],
        public_key="pQECAyYgASFYIA", sign_count=sign_count, transports=("internal", "hybrid"),
        aaguid="00000000-0000-0000-0000-000000000000", is_backup_eligible=True, is_backed_up=False, name=name,
    )  # fmt: skip


async def test_a_passkey_is_stored_whole_and_a_credential_registers_once(stores: Stores) -> None:
    now = stores.now
    store, user, other = SqlPasskeyStore(stores.database), await stores.user(), await stores.user()
    credential = digest()
    assert await store.add_passkey(_passkey(user.id, credential), now)
    assert not await store.add_passkey(_passkey(other.id, credential), now)
    found = await store.get_passkey(credential)
    assert found is not None
    assert (found.user_id, found.credential_id, found.transports, found.is_backup_eligible, found.name) == (
        user.id, LONG_CREDENTIAL_ID[:1364], ("internal", "hybrid"), True, "Laptop"
    )  # fmt: skip
    assert (found.sign_count, found.last_used_at, found.removed_at) == (0, None, None)
    assert [passkey.id for passkey in await store.list_passkeys(user.id)] == [found.id]
    assert await store.list_passkeys(other.id) == []


async def test_the_counter_only_moves_forward_and_zero_stays_zero_for_authenticators_without_one(
    stores: Stores,
) -> None:
    now = stores.now
    store, user = SqlPasskeyStore(stores.database), await stores.user()
    without_counter, with_counter = digest(), digest()
    await store.add_passkey(_passkey(user.id, without_counter), now)
    await store.add_passkey(_passkey(user.id, with_counter, sign_count=5), now)
    found = await store.get_passkey(without_counter)
    counted = await store.get_passkey(with_counter)
    assert found is not None and counted is not None
    assert await store.use_passkey(found.id, 0, True, now)
    assert await store.use_passkey(found.id, 0, True, now)
    assert not await store.use_passkey(counted.id, 5, False, now)
    assert not await store.use_passkey(counted.id, 4, False, now)
    assert not await store.use_passkey(counted.id, 0, False, now)
    assert await store.use_passkey(counted.id, 6, False, now)
    used = await store.get_passkey(without_counter)
    assert used is not None and (used.last_used_at, used.is_backed_up) == (now, True)
    moved = await store.get_passkey(with_counter)
    assert moved is not None and moved.sign_count == 6


async def test_two_uses_of_one_signature_counter_at_once_let_one_in(stores: Stores) -> None:
    now = stores.now
    store, user = SqlPasskeyStore(stores.database), await stores.user()
    credential = digest()
    await store.add_passkey(_passkey(user.id, credential, sign_count=1), now)
    found = await store.get_passkey(credential)
    assert found is not None
    outcomes = await asyncio.gather(*(store.use_passkey(found.id, 2, False, now) for _ in range(4)))
    assert sorted(outcomes) == [False, False, False, True]


async def test_a_removed_passkey_is_kept_as_removed_and_counts_no_more(stores: Stores) -> None:
    now = stores.now
    store, user, other = SqlPasskeyStore(stores.database), await stores.user(), await stores.user()
    credential = digest()
    await store.add_passkey(_passkey(user.id, credential), now)
    await store.add_passkey(_passkey(user.id, digest(), name="Phone"), now)
    found = await store.get_passkey(credential)
    assert found is not None
    assert not await store.remove_passkey(other.id, found.id, now)
    assert await store.rename_passkey(user.id, found.id, "Old laptop")
    assert await store.remove_passkey(user.id, found.id, now)
    assert not await store.remove_passkey(user.id, found.id, now)
    assert not await store.rename_passkey(user.id, found.id, "Again")
    removed = await store.get_passkey(credential)
    assert removed is not None and (removed.name, removed.removed_at) == ("Old laptop", now)
    assert not await store.use_passkey(found.id, 0, False, now)
    assert await store.count_passkeys(user.id) == 1
    assert await store.remove_passkeys(user.id, now) == 1
    assert await store.count_passkeys(user.id) == 0


async def test_a_holder_of_a_role_with_a_passkey_counts_as_enrolled(stores: Stores) -> None:
    now = stores.now
    passkeys, factors = SqlPasskeyStore(stores.database), SqlSecondFactorStore(stores.database)
    role = await stores.role()
    holder = await stores.user(roles=(role,))
    assert not await factors.has_enrolled_user_with_role(role)
    await passkeys.add_passkey(_passkey(holder.id, digest()), now)
    assert await factors.has_enrolled_user_with_role(role)
    await passkeys.remove_passkeys(holder.id, now)
    assert not await factors.has_enrolled_user_with_role(role)


async def test_a_challenge_is_used_once_and_says_so_after(stores: Stores) -> None:
    now = stores.now
    store, user = SqlPasskeyStore(stores.database), await stores.user()
    challenge, binding = digest(), digest()
    expires_at = now + timedelta(minutes=5)
    await store.add_challenge(challenge, binding, "second-factor", user.id, expires_at)
    assert await store.consume_challenge(digest(), now) is None
    first = await store.consume_challenge(challenge, now)
    assert first is not None
    assert (first.purpose, first.user_id, first.binding_digest, first.used_at) == (
        "second-factor", user.id, binding, None
    )  # fmt: skip
    assert first.expires_at == expires_at
    again = await store.consume_challenge(challenge, now)
    assert again is not None and again.used_at == now


async def test_racing_answers_to_one_challenge_let_one_through(stores: Stores) -> None:
    now = stores.now
    store = SqlPasskeyStore(stores.database)
    challenge = digest()
    await store.add_challenge(challenge, digest(), "passwordless", None, now + timedelta(minutes=5))
    outcomes = await asyncio.gather(*(store.consume_challenge(challenge, now) for _ in range(4)))
    assert sorted(outcome is not None and outcome.used_at is None for outcome in outcomes) == [
        False, False, False, True
    ]  # fmt: skip
    assert await store.purge_expired(now + timedelta(minutes=6)) >= 1  # others of this database too
    assert await store.consume_challenge(challenge, now) is None
