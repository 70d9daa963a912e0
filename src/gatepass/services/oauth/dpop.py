"""DPoP proofs as this server checks them (RFC 9449): the pure checks of protocol/rfc9449_dpop.py, the
server's nonces when it requires them, and the replay check shared by every worker and node (§11.1).

The token endpoint, userinfo, introspection and the document API all check proofs here.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from gatepass.protocol.errors import InvalidDpopProof, InvalidToken
from gatepass.protocol.rfc9449_dpop import (
    BoundTokenSentAsBearer,
    DpopProof,
    check_dpop_proof,
    current_nonces,
    read_dpop_header,
)
from gatepass.protocol.tokens import token_digest
from gatepass.services.crypto import InstanceKeys


class DpopProofStore(Protocol):
    async def use_proof(self, proof_digest: str, expires_at: datetime) -> bool:
        """Whether this is the first time the proof is presented (one insert decides, on any worker)."""
        ...


class DpopVerifier:
    def __init__(
        self,
        *,
        proofs: DpopProofStore,
        keys: InstanceKeys,
        clock: Callable[[], datetime],
        is_nonce_required: bool,
    ) -> None:
        self._proofs = proofs
        self._keys = keys
        self._clock = clock
        self.is_nonce_required = is_nonce_required

    def nonce(self) -> str | None:
        """The nonce to hand out now in a ``DPoP-Nonce`` header (§8.1), None when nonces are not required."""
        if not self.is_nonce_required:
            return None
        return current_nonces(self._keys.digest_key, int(self._clock().timestamp()))[0]

    async def check(
        self, headers: Sequence[str], *, method: str, uri: str, access_token: str | None = None
    ) -> DpopProof | None:
        """The request's proof, checked and used up; None when the request has none.

        Raises InvalidDpopProof (bad, stale or replayed) or UseDpopNonce (a nonce is required and missing or old).
        """
        proof = read_dpop_header(headers)
        if proof is None:
            return None
        now = int(self._clock().timestamp())
        nonces = current_nonces(self._keys.digest_key, now) if self.is_nonce_required else None
        checked = check_dpop_proof(
            proof,
            method=method,
            uri=uri,
            now=now,
            access_token=access_token,
            nonces=nonces,
            current_nonce=nonces[0] if nonces else None,
        )
        # Last: only proofs accepted otherwise take a row.
        remember_until = datetime.fromtimestamp(checked.remember_until, UTC)
        if not await self._proofs.use_proof(token_digest(self._keys.digest_key, checked.replay_key), remember_until):
            raise InvalidDpopProof(
                "This DPoP proof was used before: make a new proof, with a new jti, for each request"
            )
        return checked

    async def check_presentation(self, bound_jkt: str | None, token: str, presented: TokenPresentation) -> None:
        """RFC 9449 §7: a DPoP-bound token only as ``DPoP`` with a fresh proof by its key for this request and this
        token (``ath``); a bearer token only as ``Bearer``."""
        if not presented.is_dpop:
            if bound_jkt is not None:
                # §7.2: a bound token sent as a bearer token is refused, or DPoP would protect nothing.
                raise BoundTokenSentAsBearer(
                    "This access token is bound to a DPoP key: send it as Authorization: DPoP <token> with a DPoP proof"
                )
            return
        if bound_jkt is None:
            raise InvalidToken("This access token is not bound to a DPoP key: send it as Authorization: Bearer <token>")
        proof = await self.check(presented.dpop_headers, method=presented.method, uri=presented.uri, access_token=token)
        if proof is None:
            raise InvalidDpopProof("Send a DPoP proof in the DPoP header with a DPoP-bound access token")
        if not hmac.compare_digest(proof.jkt, bound_jkt):
            raise InvalidDpopProof("The DPoP proof is signed by another key than the one the access token is bound to")


@dataclass(frozen=True)
class TokenPresentation:
    """How a resource request presented its access token: the scheme, and for DPoP the request's proof
    headers and the method and URI the proof must name (RFC 9449 §7.1)."""

    is_dpop: bool = False
    dpop_headers: tuple[str, ...] = ()
    method: str = "GET"
    uri: str = ""


#: ``Authorization: Bearer <token>``.
BEARER = TokenPresentation()
