"""The ``sub`` a client is told for a user: the user's own (public) or one for the client's sector (pairwise),
OpenID Connect Core 1.0 §8.

https://openid.net/specs/openid-connect-core-1_0.html#SubjectIDTypes

Every place that tells a client a ``sub`` asks ``subject_for``, so the id_token, userinfo, introspection
and every other token agree. A pairwise ``sub`` is an HMAC-SHA-256 of the sector and the user's own ``sub``
under a key derived from the instance secret (§8.1 lists a keyed hash as one way): the same for a user in
one sector, unrelated across sectors, computed in a few microseconds with nothing to store or look up
(and remembered per worker for the users seen lately).
Changing the instance secret changes every pairwise ``sub``.
"""

from __future__ import annotations

import base64
import hmac

#: Pairwise subs worked out lately, per worker: the same inputs always give the same sub, so nothing
#: here can go stale; emptied when full, as the read cache is.
MAX_REMEMBERED = 10_000


class SubjectIdentifiers:
    def __init__(self, pairwise_key: bytes) -> None:
        self._key = pairwise_key
        self._remembered: dict[tuple[str, str], str] = {}

    def subject_for(self, user_sub: str, pairwise_sector: str | None) -> str:
        """What a client whose sector is ``pairwise_sector`` (None for a public client) is told as ``sub``."""
        if pairwise_sector is None:
            return user_sub
        remembered = self._remembered.get((pairwise_sector, user_sub))
        if remembered is not None:
            return remembered
        # A NUL cannot be in a host name, so no (sector, sub) pair reads as another.
        digest = hmac.digest(self._key, f"{pairwise_sector}\0{user_sub}".encode(), "sha256")
        subject = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        if len(self._remembered) >= MAX_REMEMBERED:
            self._remembered.clear()
        self._remembered[(pairwise_sector, user_sub)] = subject
        return subject
