"""JWT profile for OAuth 2.0 access tokens (RFC 9068): the claims an access token carries, and the checks a
token presented back to this server must pass before anything is looked up.

Signing and the signature check are protocol/jose.py's; this module decides what goes into the token and
what a decoded one must hold. Pure: the clock and the jti come in as values.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gatepass.protocol.errors import InvalidToken

#: RFC 9068 §2.1: the JOSE header's ``typ``; §4 lets a resource server accept the full media type too.
TYP = "at+jwt"
_ACCEPTED_TYPS = frozenset({"at+jwt", "application/at+jwt"})
#: §2.2: every JWT access token carries these.
_REQUIRED_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")
#: Clock skew allowed on ``iat`` and ``exp`` between this server's workers and nodes.
LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class JwtAccessTokenClaims:
    """What a verified JWT access token says, in the shape the server acts on."""

    jti: str
    subject: str
    client_id: str
    audience: tuple[str, ...]
    scopes: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    auth_time: datetime | None
    #: RFC 9449 §6.1: the thumbprint of the DPoP key the token is bound to (``cnf.jkt``).
    dpop_jkt: str | None = None

    @property
    def acts_for_client_itself(self) -> bool:
        """§2.2 and §5: a token with no resource owner (client credentials) has the client's id as ``sub``."""
        return self.subject == self.client_id


def build_access_token_claims(
    *,
    issuer: str,
    subject: str,
    audience: str,
    client_id: str,
    scopes: Collection[str],
    jti: str,
    now: datetime,
    ttl_seconds: int,
    auth_time: datetime | None,
    roles: Collection[str] | None,
    act: Mapping[str, Any] | None = None,
    dpop_jkt: str | None = None,
) -> dict[str, Any]:
    """The claims of §2.2: ``aud`` is the one resource the token is for; ``scope`` as granted; ``auth_time``
    when a user logged in for it; ``roles`` (§2.2.3.1) only when the caller decided the scopes release them."""
    issued_at = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "client_id": client_id,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
        "jti": jti,
    }
    if scopes:
        claims["scope"] = " ".join(scopes)
    if auth_time is not None:
        claims["auth_time"] = int(auth_time.timestamp())
    if roles is not None:
        claims["roles"] = list(roles)
    if act:
        # RFC 8693 §4.1: a token issued by a delegation names who acts for the subject.
        claims["act"] = dict(act)
    if dpop_jkt is not None:
        # RFC 9449 §6.1: the key the token is bound to, for resource servers that check it on their own.
        claims["cnf"] = {"jkt": dpop_jkt}
    return claims


def looks_like_jwt(token: str) -> bool:
    """A compact JWS has three parts; an opaque token of this server has one (base64url, no dots)."""
    return token.count(".") == 2


def check_header(header: Mapping[str, Any]) -> None:
    """§4 step 2: the token must say it is an access token, so an id_token or any other JWT we signed is not one."""
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in _ACCEPTED_TYPS:
        raise InvalidToken(f"The access token is a JWT whose typ is not {TYP}")


def check_claims(claims: Mapping[str, Any], *, issuer: str, now: datetime) -> JwtAccessTokenClaims:
    """§4 steps 3 and 7: issued here, not expired, every required claim present and well formed."""
    missing = [name for name in _REQUIRED_CLAIMS if name not in claims]
    if missing:
        raise InvalidToken(f"The access token lacks {', '.join(missing)}")
    if claims["iss"] != issuer:
        raise InvalidToken("The access token was issued by another server")
    issued_at, expires_at = _timestamp(claims, "iat"), _timestamp(claims, "exp")
    moment = now.timestamp()
    if expires_at.timestamp() <= moment:
        raise InvalidToken("The access token has expired; use the refresh token to get a new one")
    if issued_at.timestamp() > moment + LEEWAY_SECONDS:
        raise InvalidToken("The access token was issued in the future")
    audience = claims["aud"]
    audiences = (audience,) if isinstance(audience, str) else tuple(audience) if isinstance(audience, list) else ()
    scope = claims.get("scope", "")
    text_claims = (claims["sub"], claims["client_id"], claims["jti"], scope)
    if not audiences or not all(isinstance(value, str) and value for value in audiences):
        raise InvalidToken("The access token's aud is not a resource identifier")
    if not all(isinstance(value, str) for value in text_claims) or not all(text_claims[:3]):
        raise InvalidToken("The access token's sub, client_id, jti and scope must be text")
    auth_time = _timestamp(claims, "auth_time") if "auth_time" in claims else None
    return JwtAccessTokenClaims(
        jti=claims["jti"],
        subject=claims["sub"],
        client_id=claims["client_id"],
        audience=audiences,
        scopes=tuple(scope.split()),
        issued_at=issued_at,
        expires_at=expires_at,
        auth_time=auth_time,
        dpop_jkt=_bound_key(claims.get("cnf")),
    )


def _bound_key(confirmation: Any) -> str | None:
    """RFC 9449 §6.1 ``cnf.jkt``: None without a ``cnf``; a ``cnf`` that names no thumbprint is refused."""
    if confirmation is None:
        return None
    jkt = confirmation.get("jkt") if isinstance(confirmation, dict) else None
    if not isinstance(jkt, str) or not jkt:
        raise InvalidToken("The access token's cnf must name the DPoP key's thumbprint as jkt")
    return jkt


def _timestamp(claims: Mapping[str, Any], name: str) -> datetime:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"The access token's {name} is not a NumericDate")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidToken(f"The access token's {name} is out of range") from None
