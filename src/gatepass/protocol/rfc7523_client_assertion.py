"""Client authentication with a signed JWT (RFC 7523 §2.2 and §3; OpenID Connect Core §9).

The client sends ``client_assertion_type`` (the jwt-bearer URN) and ``client_assertion``, a JWT it signed
with its private key (private_key_jwt) or an HMAC of its secret (client_secret_jwt). Everything wrong is
invalid_client (RFC 7521 §4.2.1), said so that the one who reads it knows what to change in the assertion.
Whether the jti was used before is the caller's to ask its store.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gatepass.protocol.errors import InvalidClient, InvalidRequest
from gatepass.protocol.jose import verified_jwt_claims
from gatepass.protocol.rfc7493_ijson import JsonTextError, parse_json_text
from gatepass.protocol.values import AUTH_CLIENT_SECRET_JWT, AUTH_PRIVATE_KEY_JWT, ClientInfo

CLIENT_ASSERTION_TYPE_JWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SECRET_ALGORITHMS = ("HS256", "HS384", "HS512")
KEY_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
ALGORITHMS_BY_METHOD = {AUTH_CLIENT_SECRET_JWT: SECRET_ALGORITHMS, AUTH_PRIVATE_KEY_JWT: KEY_ALGORITHMS}
#: An assertion is made for one request: one that lives longer is more use to whoever copies it.
MAX_LIFETIME_SECONDS = 300
#: Clocks of client and server disagree by a little.
LEEWAY_SECONDS = 30
_MAX_JTI_LENGTH = 256
_KEY_TYPES_BY_ALG_PREFIX = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


@dataclass(frozen=True)
class ClientAssertion:
    """An assertion as sent, with its header and claims read but nothing yet checked but their shape."""

    token: str
    alg: str
    kid: str | None
    client_id: str


@dataclass(frozen=True)
class VerifiedAssertion:
    client_id: str
    jti: str
    #: Until when the jti must be remembered: after that the assertion is refused as expired anyway.
    expires_at: int


class UnknownSigningKey(InvalidClient):
    """No key of the client's fits the assertion: the client may have rotated its keys since they were read."""


def parse_client_assertion(form: Mapping[str, str]) -> ClientAssertion | None:
    """The assertion in a request's form, or None when the client authenticates some other way."""
    assertion_type, token = form.get("client_assertion_type"), form.get("client_assertion")
    if assertion_type is None and token is None:
        return None
    if assertion_type != CLIENT_ASSERTION_TYPE_JWT:
        raise InvalidClient(f"client_assertion_type must be {CLIENT_ASSERTION_TYPE_JWT}")
    if not token:
        raise InvalidClient("client_assertion is missing: send the signed JWT with client_assertion_type")
    if "client_secret" in form:
        raise InvalidRequest("Send a client_assertion or a client_secret, not both (RFC 6749 §2.3)")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidClient("client_assertion is not a signed JWT: it must be three base64url parts joined by dots")
    header, claims = _json_object(parts[0], "header"), _json_object(parts[1], "payload")
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise InvalidClient("client_assertion must be signed: its header's alg must name a signing algorithm")
    if kid is not None and not isinstance(kid, str):
        raise InvalidClient("client_assertion's header kid must be a string")
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidClient("client_assertion must have a sub claim: the client_id")
    if issuer != subject:
        raise InvalidClient("client_assertion's iss and sub must both be the client_id (RFC 7523 §3)")
    form_client_id = form.get("client_id")
    if form_client_id is not None and form_client_id != subject:
        raise InvalidClient("client_id in the body differs from the sub of client_assertion")
    return ClientAssertion(token=token, alg=alg, kid=kid, client_id=subject)


def verify_client_assertion(
    assertion: ClientAssertion,
    *,
    client: ClientInfo,
    audiences: Sequence[str],
    now: int,
    secret: str | None = None,
    public_jwks: Sequence[Mapping[str, Any]] = (),
    profile_algorithms: Sequence[str] | None = None,
) -> VerifiedAssertion:
    """The assertion is signed as the client registered, for us, now, and once-usable (it has a jti).

    ``audiences``: the issuer first, then the URL of the endpoint called (RFC 7523 §3 allows either, as a string
    or in an array; FAPI 2.0 §5.3.2.1 asks the same of its authorization servers, and RFC 9126 §2 all three at
    the PAR endpoint). ``profile_algorithms``: the algs a security profile narrows the method's to.
    ``secret``: the client's secret in clear, for client_secret_jwt; ``public_jwks``: its keys, for
    private_key_jwt. Raises UnknownSigningKey when none of the keys is the one named.
    """
    method = client.token_endpoint_auth_method
    allowed = ALGORITHMS_BY_METHOD.get(method)
    if allowed is not None and profile_algorithms is not None:
        allowed = tuple(alg for alg in allowed if alg in profile_algorithms)
    if allowed is None:
        raise InvalidClient(
            f"This client is registered for {method}, not for a client_assertion: authenticate as registered, "
            "or change its token_endpoint_auth_method to private_key_jwt or client_secret_jwt"
        )
    registered_alg = client.token_endpoint_auth_signing_alg
    if registered_alg is not None and assertion.alg != registered_alg:
        raise InvalidClient(f"client_assertion must be signed with {registered_alg}, the client's registered alg")
    if assertion.alg not in allowed:
        raise InvalidClient(f"A {method} client_assertion must be signed with one of {', '.join(allowed)}")
    claims = _verified_claims(assertion, method=method, secret=secret, public_jwks=public_jwks)
    return _checked(claims, client_id=client.client_id, audiences=audiences, now=now)


def _verified_claims(
    assertion: ClientAssertion, *, method: str, secret: str | None, public_jwks: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    if method == AUTH_CLIENT_SECRET_JWT:
        if secret is None:
            raise InvalidClient(
                "This client's secret is not kept in a form that can check a client_secret_jwt assertion: "
                "an admin must issue it a new secret (gatepass client rotate-secret <client_id>)"
            )
        try:
            return verified_jwt_claims(assertion.token, alg=assertion.alg, secret=secret)
        except ValueError as exc:
            raise InvalidClient(
                "client_assertion's signature does not match the client's secret", detail=str(exc)
            ) from None
    candidates = _candidate_keys(assertion, public_jwks)
    if not candidates:
        named = f"kid {assertion.kid!r}" if assertion.kid else f"alg {assertion.alg}"
        raise UnknownSigningKey(f"None of the client's registered keys fits the client_assertion's {named}")
    failures = []
    for jwk in candidates:
        try:
            return verified_jwt_claims(assertion.token, alg=assertion.alg, public_jwk=jwk)
        except ValueError as exc:
            failures.append(str(exc))
    raise InvalidClient(
        "client_assertion's signature does not match the client's registered keys", detail="; ".join(failures)
    )


def _candidate_keys(assertion: ClientAssertion, public_jwks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return signing_keys_for(assertion.alg, assertion.kid, public_jwks)


def signing_keys_for(alg: str, kid: str | None, public_jwks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The client's keys that may have signed a JWT with this header: by kid when it names one, else by
    type; never an encryption key."""
    key_type = _KEY_TYPES_BY_ALG_PREFIX.get(alg[:2])
    return [
        jwk
        for jwk in public_jwks
        if jwk.get("kty") == key_type
        and jwk.get("use", "sig") == "sig"
        and jwk.get("alg", alg) == alg
        and (kid is None or jwk.get("kid") == kid)
    ]


def _checked(claims: Mapping[str, Any], *, client_id: str, audiences: Sequence[str], now: int) -> VerifiedAssertion:
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise InvalidClient("client_assertion's iss and sub must both be the client_id (RFC 7523 §3)")
    audience = claims.get("aud")
    named = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if not any(value in audiences for value in named):
        raise InvalidClient(f"client_assertion's aud must be this server's issuer, {audiences[0]}")
    expires_at = _time_claim(claims, "exp")
    if expires_at is None:
        raise InvalidClient("client_assertion must have an exp claim (RFC 7523 §3): a few minutes from now")
    if expires_at <= now - LEEWAY_SECONDS:
        raise InvalidClient("client_assertion has expired: make a new one for each request")
    issued_at, not_before = _time_claim(claims, "iat"), _time_claim(claims, "nbf")
    if issued_at is not None and issued_at > now + LEEWAY_SECONDS:
        raise InvalidClient("client_assertion's iat is in the future: check the client's clock")
    if not_before is not None and not_before > now + LEEWAY_SECONDS:
        raise InvalidClient("client_assertion's nbf is in the future: it is not valid yet")
    starts = max(now, issued_at or now)
    if expires_at - starts > MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
        raise InvalidClient(
            f"client_assertion lives too long: its exp may be at most {MAX_LIFETIME_SECONDS} seconds after its iat"
        )
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI_LENGTH:
        raise InvalidClient(
            f"client_assertion must have a jti claim: a unique string of at most {_MAX_JTI_LENGTH} characters"
        )
    return VerifiedAssertion(client_id=client_id, jti=jti, expires_at=expires_at)


def _time_claim(claims: Mapping[str, Any], name: str) -> int | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidClient(f"client_assertion's {name} must be a number of seconds since the epoch")
    return int(value)


def _json_object(part: str, name: str) -> dict[str, Any]:
    try:
        decoded = parse_json_text(base64.b64decode(part + "=" * (-len(part) % 4), altchars=b"-_", validate=True))
    except JsonTextError as exc:
        raise InvalidClient(f"client_assertion is not a JWT: its {name} {exc.problem}") from None
    except (binascii.Error, ValueError):
        raise InvalidClient(f"client_assertion is not a JWT: its {name} is not base64url") from None
    if not isinstance(decoded, dict):
        raise InvalidClient(f"client_assertion is not a JWT: its {name} is not a JSON object")
    return decoded
