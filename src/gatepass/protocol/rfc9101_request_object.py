"""Request objects (RFC 9101, JWT-Secured Authorization Request): an authorization request sent as a JWT
the client signed, in the ``request`` parameter at the authorization endpoint or in a push (RFC 9126 §3).

https://www.rfc-editor.org/rfc/rfc9101

Only the object's parameters count: the ones beside it, client_id excepted, are ignored (§6.3). It must be
signed with the client's registered keys (or an HMAC of its secret), never ``none`` (§6.1, RFC 8725 §3.1);
it names this server as its audience and the client as its issuer (§4, §10.3); it expires soon. A
``request_uri`` by reference is only this server's own, from a push: fetching another is not supported.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gatepass.protocol.errors import InvalidRequest, InvalidRequestObject, OAuthError
from gatepass.protocol.jose import decode_json_object_part, verified_jwt_claims
from gatepass.protocol.params import parse_params
from gatepass.protocol.rfc7523_client_assertion import KEY_ALGORITHMS, SECRET_ALGORITHMS, signing_keys_for
from gatepass.protocol.values import ClientInfo

#: RFC 9101 §4 and §10.8: the explicit type that keeps a request object from passing for another JWT.
REQUEST_OBJECT_TYPE = "oauth-authz-req+jwt"
_ACCEPTED_TYPES = frozenset({REQUEST_OBJECT_TYPE, "jwt"})
ALGORITHMS = (*KEY_ALGORITHMS, *SECRET_ALGORITHMS)
#: An object is made for one authorization request: one that lives longer is more use to whoever copies it.
MAX_LIFETIME_SECONDS = 600
#: Clocks of client and server disagree by a little.
LEEWAY_SECONDS = 30
#: JWT claims about the object itself (RFC 7519 §4.1), not parameters of the request it carries.
_JWT_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti", "sub"})


@dataclass(frozen=True)
class RequestObject:
    """An object as sent, its header read and its claims parsed, nothing checked but their shape."""

    token: str
    alg: str
    kid: str | None
    claims: Mapping[str, Any]


class UnknownRequestObjectKey(InvalidRequestObject):
    """No key of the client's fits the object: the client may have rotated its keys since they were read."""


def check_request_parameters(params: Mapping[str, str]) -> None:
    """RFC 9101 §5: a request carries its object by value or by reference, never both."""
    if "request" in params and "request_uri" in params:
        raise InvalidRequest("Send request or request_uri, not both (RFC 9101 section 5)")


def parse_request_object(token: str) -> RequestObject:
    parts = token.split(".")
    if len(parts) == 5:
        raise InvalidRequestObject("Encrypted request objects are not supported: send a signed JWT")
    if len(parts) != 3:
        raise InvalidRequestObject("The request object is not a signed JWT: it must be three base64url parts")
    header, claims = _json_object(parts[0], "header"), _json_object(parts[1], "payload")
    alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
    # RFC 9101 §6.1 and RFC 8725 §3.1: an unsigned object proves nothing about who made it.
    if not isinstance(alg, str) or alg.lower() == "none" or not parts[2]:
        raise InvalidRequestObject("The request object must be signed: alg none is not accepted")
    if kid is not None and not isinstance(kid, str):
        raise InvalidRequestObject("The request object's header kid must be a string")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in _ACCEPTED_TYPES):
        # RFC 9101 §10.8: a JWT typed as something else (a DPoP proof, an access token) is not a request.
        raise InvalidRequestObject(f"The request object's typ must be {REQUEST_OBJECT_TYPE}")
    return RequestObject(token=token, alg=alg, kid=kid, claims=claims)


def allowed_algorithms(client: ClientInfo, *, profile_algorithms: Sequence[str] | None = None) -> tuple[str, ...]:
    """The algs this client's objects may use: its registered one, else any this server verifies, within
    what its security profile allows."""
    allowed = tuple(profile_algorithms) if profile_algorithms is not None else ALGORITHMS
    registered = client.request_object_signing_alg
    return tuple(alg for alg in allowed if registered is None or alg == registered)


def verify_request_object(
    request_object: RequestObject,
    *,
    client: ClientInfo,
    issuer: str,
    now: int,
    algorithms: Sequence[str],
    secret: str | None = None,
    public_jwks: Sequence[Mapping[str, Any]] = (),
) -> dict[str, str]:
    """The authorization request the object carries, once it is signed as the client registered, for this
    server, by this client, now. Raises InvalidRequestObject (UnknownRequestObjectKey when no key fits)."""
    if request_object.alg not in algorithms:
        raise InvalidRequestObject(f"The request object must be signed with one of {', '.join(algorithms)}")
    claims = _verified_claims(request_object, secret=secret, public_jwks=public_jwks)
    _check_claims(claims, client_id=client.client_id, issuer=issuer, now=now)
    return _authorization_parameters(claims, client.client_id)


def _verified_claims(
    request_object: RequestObject, *, secret: str | None, public_jwks: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    alg = request_object.alg
    if alg in SECRET_ALGORITHMS:
        if secret is None:
            raise InvalidRequestObject(
                f"This client's secret is not kept in a form that can check an {alg} request object: sign it with "
                "a key registered in the client's JWKS"
            )
        try:
            return verified_jwt_claims(request_object.token, alg=alg, secret=secret)
        except ValueError as exc:
            raise InvalidRequestObject(
                "The request object's signature does not match the client's secret", detail=str(exc)
            ) from None
    candidates = signing_keys_for(alg, request_object.kid, public_jwks)
    if not candidates:
        named = f"kid {request_object.kid!r}" if request_object.kid else f"alg {alg}"
        raise UnknownRequestObjectKey(f"None of the client's registered keys fits the request object's {named}")
    failures = []
    for jwk in candidates:
        try:
            return verified_jwt_claims(request_object.token, alg=alg, public_jwk=jwk)
        except ValueError as exc:
            failures.append(str(exc))
    raise InvalidRequestObject(
        "The request object's signature does not match the client's registered keys", detail="; ".join(failures)
    )


def _check_claims(claims: Mapping[str, Any], *, client_id: str, issuer: str, now: int) -> None:
    # RFC 9101 §10.3 and §4: a signed object names its maker and the server it is for.
    if claims.get("iss") != client_id:
        raise InvalidRequestObject("The request object's iss must be the client_id")
    audience = claims.get("aud")
    named = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if issuer not in named:
        raise InvalidRequestObject(f"The request object's aud must be this server's issuer, {issuer}")
    # RFC 9101 §6.3: the client_id inside and beside the object must be the same.
    if claims.get("client_id", client_id) != client_id:
        raise InvalidRequestObject("The request object's client_id differs from the client_id of the request")
    expires_at, not_before, issued_at = (_time_claim(claims, name) for name in ("exp", "nbf", "iat"))
    if expires_at is None:
        raise InvalidRequestObject("The request object must have an exp claim: a few minutes from now")
    if expires_at <= now - LEEWAY_SECONDS:
        raise InvalidRequestObject("The request object has expired: make a new one for each authorization request")
    if not_before is not None and not_before > now + LEEWAY_SECONDS:
        raise InvalidRequestObject("The request object's nbf is in the future: it is not valid yet")
    if issued_at is not None and issued_at > now + LEEWAY_SECONDS:
        raise InvalidRequestObject("The request object's iat is in the future: check the client's clock")
    starts = not_before if not_before is not None else max(now, issued_at or now)
    if expires_at - starts > MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
        raise InvalidRequestObject(
            f"The request object lives too long: its exp may be at most {MAX_LIFETIME_SECONDS} seconds after "
            "its nbf (or from now)"
        )


def _authorization_parameters(claims: Mapping[str, Any], client_id: str) -> dict[str, str]:
    """The request's parameters, as the authorization endpoint reads them from a query."""
    # RFC 9101 §10.7: an object that points at another object would let one request say two things.
    for name in ("request", "request_uri"):
        if name in claims:
            raise InvalidRequestObject(f"A request object must not contain {name}")
    pairs = [(name, _parameter_value(name, value)) for name, value in claims.items() if name not in _JWT_CLAIMS]
    try:
        params = parse_params(pairs)
    except OAuthError as exc:
        raise InvalidRequestObject(f"The request object's claims are unusable: {exc.description}") from None
    params["client_id"] = client_id
    return params


def _parameter_value(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        # A JSON-valued parameter (OIDC Core §5.5 claims) travels in a query as its JSON text.
        return json.dumps(value, separators=(",", ":"))
    raise InvalidRequestObject(f"The request object's {name} claim must be a string")


def _time_claim(claims: Mapping[str, Any], name: str) -> int | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestObject(f"The request object's {name} must be a number of seconds since the epoch")
    return int(value)


def _json_object(part: str, name: str) -> dict[str, Any]:
    try:
        return decode_json_object_part(part)
    except ValueError as exc:
        raise InvalidRequestObject(f"The request object is not a JWT: its {name} {exc}") from None
