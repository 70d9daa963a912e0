"""Used DPoP proofs (RFC 9449 §11.1) on every backend: a proof is accepted once however many workers race with
it (on PostgreSQL and MariaDB through the driver connections, on a SQLite file through the group-commit writer),
and it is remembered until it is too old to be accepted anyway, then purged."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from stores_support import Stores, digest


async def test_a_proof_is_used_by_one_of_many_callers_only(stores: Stores) -> None:
    proof_digest, expires_at = digest(), stores.now + timedelta(seconds=70)
    outcomes = await asyncio.gather(*(stores.dpop_proofs.use_proof(proof_digest, expires_at) for _ in range(4)))
    assert sorted(outcomes) == [False, False, False, True]
    assert await stores.dpop_proofs.use_proof(proof_digest, expires_at) is False
    # The store still takes new proofs after refusing the replays.
    assert await stores.dpop_proofs.use_proof(digest(), expires_at) is True
    # Replays among new proofs at the same moment (one commit on PostgreSQL): each answer is its own.
    fresh = [digest() for _ in range(6)]
    mixed = [fresh[0], proof_digest, fresh[1], fresh[0], *fresh[2:], fresh[5]]
    outcomes = await asyncio.gather(*(stores.dpop_proofs.use_proof(each, expires_at) for each in mixed))
    assert outcomes == [True, False, True, False, True, True, True, True, False]


async def test_a_used_proof_is_remembered_until_it_expires_then_purged(stores: Stores) -> None:
    proof_digest, now = digest(), stores.now
    assert await stores.dpop_proofs.use_proof(proof_digest, now + timedelta(seconds=70))
    await stores.dpop_proofs.purge_expired(now + timedelta(seconds=69))
    assert not await stores.dpop_proofs.use_proof(proof_digest, now + timedelta(seconds=70))
    assert await stores.dpop_proofs.purge_expired(now + timedelta(seconds=71)) >= 1
    assert await stores.dpop_proofs.use_proof(proof_digest, now + timedelta(seconds=140))
