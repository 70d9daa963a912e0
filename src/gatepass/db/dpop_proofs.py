"""The DPoP proofs already accepted (RFC 9449 §11.1), by a digest of their key's thumbprint and jti, kept
until they are too old to be accepted anyway."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table

from gatepass.db.base import InsertOnce, StoreBase
from gatepass.db.tables import UsedDpopProof

_used: Table = UsedDpopProof.__table__  # type: ignore[assignment]
_USE_PROOF = InsertOnce(_used, ("proof_digest", "expires_at"), "used DPoP proof")


class SqlDpopProofStore(StoreBase):
    async def use_proof(self, proof_digest: str, expires_at: datetime) -> bool:
        """Whether this caller is the first to present the proof, on any worker or node (one insert decides)."""
        return await self._insert_once(_USE_PROOF, {"proof_digest": proof_digest, "expires_at": expires_at})

    async def purge_expired(self, now: datetime) -> int:
        return await self._delete_expired(_used, now)
