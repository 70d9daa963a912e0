"""Logout tokens and who receives them (OpenID Connect Back-Channel Logout 1.0).

https://openid.net/specs/openid-connect-backchannel-1_0.html
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from gatepass.protocol.errors import InvalidClientMetadata
from gatepass.protocol.tokens import token_digest

#: §2.4: the one event a logout token carries.
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: §2.4: the JWT type of a logout token (explicit typing, RFC 8725 §3.11).
LOGOUT_TOKEN_TYPE = "logout+jwt"
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
#: A delay between attempts never grows past an hour, so a receiver back up is told within the hour.
MAX_RETRY_DELAY_SECONDS = 3600


def build_session_id(key: bytes, login_session_id: int) -> str:
    """The ``sid`` of a login session (§2.1): stable while the session lasts, the same in every token
    issued in it, and telling nothing of the session cookie (a keyed digest of the session's row id)."""
    return token_digest(key, f"sid:{login_session_id}")[:32]


def check_backchannel_logout_uri(uri: str) -> None:
    """§2.2: an absolute URI without a fragment; https, or http only on this machine (as redirect URIs)."""
    if len(uri) > 2048 or any(ch.isspace() or not ch.isprintable() for ch in uri):
        raise InvalidClientMetadata("backchannel_logout_uri must be a URL of at most 2048 characters, without spaces")
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise InvalidClientMetadata(f"backchannel_logout_uri '{uri}' is not a valid URI") from None
    if "#" in uri:
        raise InvalidClientMetadata("backchannel_logout_uri must not have a fragment (Back-Channel Logout 2.2)")
    is_loopback_http = parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS
    if not parts.hostname or not (parts.scheme == "https" or is_loopback_http):
        raise InvalidClientMetadata("backchannel_logout_uri must be an absolute https URL (http only for localhost)")


def build_logout_claims(*, issuer: str, client_id: str, subject: str, sid: str | None, jti: str) -> dict[str, Any]:
    """A logout token's claims except iat and exp, which each delivery attempt sets (§2.4).

    Always ``sub``, and ``sid`` when one session ended; never a ``nonce`` (§2.4: it MUST NOT be there).
    """
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": client_id,
        "jti": jti,
        "sub": subject,
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    if sid is not None:
        claims["sid"] = sid
    return claims


def with_lifetime(claims: dict[str, Any], now: datetime, ttl_seconds: int) -> dict[str, Any]:
    """The claims of one delivery attempt: issued now, valid for a short while (§2.4 recommends 2 minutes)."""
    issued_at = int(now.timestamp())
    return {**claims, "iat": issued_at, "exp": issued_at + ttl_seconds}


def sessions_to_name(
    sids: tuple[str, ...], *, is_session_required: bool, is_every_session: bool
) -> tuple[str | None, ...]:
    """The ``sid`` of each logout token to send a client that took part in sessions ``sids``; None: a
    token naming only the user.

    One ended session is named. When every session of the user ends, one token with ``sub`` alone says
    so (§2.4: the RP logs out every session of that user), unless the client requires ``sid`` (§2.2
    ``backchannel_logout_session_required``): then one token per session it took part in.
    """
    if not is_every_session or is_session_required:
        return sids
    return (None,)


def retry_delay_seconds(attempts: int, first_delay_seconds: int) -> int:
    """Seconds before the next attempt after ``attempts`` failed ones: doubling, at most an hour."""
    return int(min(first_delay_seconds * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY_SECONDS))
