"""The one door to joserfc: key generation, JWT signing and verification.

Verification always names the allowed algorithms and then checks claims with an explicit
registry, because decoding checks only the signature (RFC 8725 §3.1, §3.8).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeyParameters, KeySet, OctKey, OKPKey, RSAKey, import_key
from joserfc.jwt import JWTClaimsRegistry
from joserfc.util import urlsafe_b64decode

from gatepass.protocol.errors import InvalidRequest
from gatepass.protocol.rfc7493_ijson import JsonTextError, parse_json_text

ASYMMETRIC_ALGORITHMS = ("RS256", "ES256", "EdDSA")
JWK = RSAKey | ECKey | OKPKey | OctKey


@contextlib.contextmanager
def _silencing_eddsa_notice() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*EdDSA.*")
        yield


def _quietly_for_eddsa(alg: str | None = None) -> contextlib.AbstractContextManager[None]:
    """joserfc flags "EdDSA" as superseded by RFC 9864's "Ed25519"; relying parties still expect "EdDSA"
    (PyJWT and most certified clients), so keep it without the noise. Only where the alg may be EdDSA:
    saving and restoring the warning filters costs each id_token signature ~10 µs under load."""
    if alg is not None and alg != "EdDSA":
        return contextlib.nullcontext()
    return _silencing_eddsa_notice()


def generate_signing_key(alg: str, kid: str) -> dict[str, Any]:
    """A new private JWK (as a dict) for an asymmetric id_token algorithm."""
    parameters: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
    key: JWK
    if alg == "RS256":
        key = RSAKey.generate_key(2048, parameters=parameters)
    elif alg == "ES256":
        key = ECKey.generate_key("P-256", parameters=parameters)
    elif alg == "EdDSA":
        key = OKPKey.generate_key("Ed25519", parameters=parameters)
    else:
        raise ValueError(f"not an asymmetric signing algorithm: {alg}")
    return dict(key.as_dict(private=True))


def public_jwk(private: Mapping[str, Any]) -> dict[str, Any]:
    key = import_key(dict(private))
    public = dict(key.as_dict(private=False))
    public.update({"kid": private["kid"], "alg": private["alg"], "use": "sig"})
    return public


#: Imported private keys by (kid, private member): importing a private RSA key validates it (~36 ms), so
#: sign often and import once per key. A rotated key is a new entry, so nothing goes stale.
_imported_private_keys: dict[tuple[str, str], JWK] = {}
_MAX_IMPORTED_PRIVATE_KEYS = 64


def _private_key(private_jwk: Mapping[str, Any]) -> JWK:
    # Keyed by the private member itself (RSA's d, an EC or OKP scalar) rather than the JWK's JSON text, which
    # would be serialised again for every signature.
    identity = (str(private_jwk.get("kid")), str(private_jwk.get("d")))
    key = _imported_private_keys.get(identity)
    if key is None:
        if len(_imported_private_keys) >= _MAX_IMPORTED_PRIVATE_KEYS:
            _imported_private_keys.clear()
        key = _imported_private_keys[identity] = import_key(dict(private_jwk))
    return key


def sign_jwt(
    claims: Mapping[str, Any],
    *,
    alg: str,
    private_jwk: Mapping[str, Any] | None = None,
    secret: str | None = None,
    typ: str = "JWT",
) -> str:
    """Sign claims with a private JWK (asymmetric, with its kid) or a shared secret (HS256).

    The compact serialisation (RFC 7515 §7.1) is put together here and signed with joserfc's algorithm: its
    generic encoder checks and copies a header this function writes itself, ~20 µs of every id_token.
    """
    header: dict[str, Any] = {"alg": alg, "typ": typ}
    key: JWK
    if alg == "HS256":
        if not secret:
            raise ValueError("HS256 needs the client secret")
        key = OctKey.import_key(secret.encode())
    else:
        if private_jwk is None:
            raise ValueError(f"{alg} needs a private key")
        key = _private_key(private_jwk)
        header["kid"] = private_jwk["kid"]
    algorithm = _signature_algorithm(alg)
    algorithm.check_key(key)  # the key's type, curve, use and alg fit the algorithm
    signing_input = f"{_base64url_json(header)}.{_base64url_json(claims)}"
    signature = algorithm.sign(signing_input.encode("ascii"), key)
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode('ascii')}"


def _base64url_json(value: Mapping[str, Any]) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).rstrip(b"=").decode("ascii")


def verify_jwt(
    token: str,
    *,
    public_jwks: Iterable[Mapping[str, Any]],
    issuer: str,
    audience: str | None = None,
    now: int,
    check_expiry: bool = True,
    secret: str | None = None,
) -> dict[str, Any]:
    """Verify signature and claims; returns the claims or raises InvalidRequest."""
    try:
        with _quietly_for_eddsa():
            token_obj = _decode(token, public_jwks, secret)
        options: dict[str, Any] = {"iss": {"essential": True, "value": issuer}}
        if audience is not None:
            options["aud"] = {"essential": True, "value": audience}
        registry = JWTClaimsRegistry(now=now, leeway=30, **options)
        claims = dict(token_obj.claims)
        if not check_expiry:
            claims.pop("exp", None)
            claims.pop("nbf", None)
        registry.validate(claims)
        return dict(token_obj.claims)
    except (JoseError, ValueError) as exc:
        raise InvalidRequest("The token is not a valid JWT issued by this server", detail=str(exc)) from None


def _decode(token: str, public_jwks: Iterable[Mapping[str, Any]], secret: str | None) -> jwt.Token:
    if secret is not None:
        return jwt.decode(token, OctKey.import_key(secret.encode()), algorithms=["HS256"])
    keys = KeySet([import_key(dict(jwk)) for jwk in public_jwks])
    return jwt.decode(token, keys, algorithms=list(ASYMMETRIC_ALGORITHMS))


@functools.lru_cache(maxsize=16)
def _published_key_set(public_jwks_json: str) -> KeySet:
    """Importing a public key parses it; a server checking JWTs it signed imports its published set once."""
    return KeySet([import_key(jwk) for jwk in json.loads(public_jwks_json)])


def decode_signed_jwt(token: str, *, public_jwks: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a JWT signed by one of these keys with an asymmetric alg (never none, never
    HS256); ValueError otherwise. Checks no claim: the caller's profile says what each must be."""
    key_set = _published_key_set(json.dumps([dict(jwk) for jwk in public_jwks], sort_keys=True))
    try:
        with _quietly_for_eddsa():
            decoded = jwt.decode(token, key_set, algorithms=list(ASYMMETRIC_ALGORITHMS))
    except (JoseError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None
    return dict(decoded.header), dict(decoded.claims)


def unverified_claims(token: str) -> dict[str, Any]:
    """Claims read without checking anything: only to choose which key to verify with.

    The header is read here too, with the same I-JSON parser, because joserfc's parser would recurse
    into a deeply nested one before checking anything (RFC 7515 §5.2 step 3 needs a JSON object).
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidRequest("id_token_hint is not a JWT: it must be three base64url parts separated by dots")
    _json_object_part(parts[0], "header")
    return _json_object_part(parts[1], "payload")


def _json_object_part(part: str, name: str) -> dict[str, Any]:
    try:
        decoded = parse_json_text(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except binascii.Error:
        raise InvalidRequest(f"id_token_hint is not a JWT: its {name} is not base64url") from None
    except JsonTextError as exc:
        raise InvalidRequest(f"id_token_hint is not a JWT: its {name} {exc.problem}") from None
    if not isinstance(decoded, dict):
        raise InvalidRequest(f"id_token_hint is not a JWT: its {name} is not a JSON object")
    return decoded


def decode_json_object_part(part: str) -> dict[str, Any]:
    """A JWS header or payload (base64url of a JSON object), read with the I-JSON parser; ValueError naming
    what is wrong ("is not base64url", ...) otherwise."""
    try:
        decoded = parse_json_text(base64.b64decode(part + "=" * (-len(part) % 4), altchars=b"-_", validate=True))
    except JsonTextError as exc:
        raise ValueError(exc.problem) from None
    except (binascii.Error, ValueError):
        raise ValueError("is not base64url") from None
    if not isinstance(decoded, dict):
        raise ValueError("is not a JSON object")
    return decoded


def verified_jwt_claims(
    token: str, *, alg: str, public_jwk: Mapping[str, Any] | None = None, secret: str | None = None
) -> dict[str, Any]:
    """The claims of a JWT signed with ``alg`` under this one key (or shared secret); ValueError otherwise.

    Checks no claim: the caller names what each must be. Used for keys a client registered, so a JWK that
    does not import is the same failure as a wrong signature.
    """
    try:
        key: JWK = OctKey.import_key(secret.encode()) if secret is not None else import_key(dict(public_jwk or {}))
        with _quietly_for_eddsa(alg):
            return dict(jwt.decode(token, key, algorithms=[alg]).claims)
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None


@functools.lru_cache(maxsize=1024)
def _proof_key(public_jwk_json: str) -> JWK:
    """A client's public key as its proofs carry it: imported once per key per worker, not once per request."""
    return import_key(json.loads(public_jwk_json))


def jwk_thumbprint(public_jwk_json: str) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK (its required members only), base64url; ValueError
    when the JWK is not a usable public key."""
    try:
        return str(_proof_key(public_jwk_json).thumbprint())
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None


class _SignatureAlgorithm(Protocol):
    def check_key(self, key: Any) -> None: ...

    def sign(self, msg: bytes, key: Any) -> bytes: ...

    def verify(self, msg: bytes, sig: bytes, key: Any) -> bool: ...


@functools.lru_cache(maxsize=8)
def _signature_algorithm(alg: str) -> _SignatureAlgorithm:
    with _quietly_for_eddsa(alg):
        return jws.JWSRegistry(algorithms=[alg]).get_alg(alg)


def verified_jws_payload(token: str, *, alg: str, public_jwk_json: str) -> bytes:
    """The payload of a compact JWS signed with ``alg`` by the key of this JWK (as JSON text), which its header
    may carry; ValueError otherwise. The payload is the caller's to parse and check.

    The caller read the header (and chose ``alg`` and the key from it): only the signature over the parts as
    received is checked here, with joserfc's algorithm, so the header is not parsed a second time.
    """
    try:
        header, payload, signature = token.split(".")
        key, algorithm = _proof_key(public_jwk_json), _signature_algorithm(alg)
        if not algorithm.verify(f"{header}.{payload}".encode("ascii"), urlsafe_b64decode(signature.encode()), key):
            raise ValueError("the signature does not verify")
        return urlsafe_b64decode(payload.encode())
    except (JoseError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None
