"""DPoP proofs (RFC 9449, https://www.rfc-editor.org/rfc/rfc9449): reading and checking one, the thumbprint
it binds tokens to, the server's nonces, and the challenge a resource server answers with.

A proof is a JWT the client signs with its own key for one HTTP request (§4.2). Checked here, in §4.3's
order: one header, a JWS with ``typ`` dpop+jwt, an asymmetric ``alg`` from the list, a public ``jwk`` that
verifies the signature, then ``jti``, ``htm``, ``htu``, ``iat``, ``nonce`` and, at a resource server,
``ath``. Whether the ``jti`` was seen before is the caller's to ask its store (§11.1), with the digest and
the lifetime given here.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gatepass.protocol.errors import InvalidDpopProof, InvalidGrant, InvalidRequest, InvalidToken, UseDpopNonce
from gatepass.protocol.jose import jwk_thumbprint, verified_jws_payload
from gatepass.protocol.rfc6750_bearer import challenge_parameters, token_of_scheme
from gatepass.protocol.rfc7493_ijson import JsonTextError, parse_json_text

#: §4.3 step 5: asymmetric only (never none, never a MAC), each with the key type it needs.
DPOP_ALGORITHMS = ("ES256", "PS256", "RS256", "EdDSA")
_KEY_TYPE_BY_ALG = {"ES256": "EC", "PS256": "RSA", "RS256": "RSA", "EdDSA": "OKP"}
PROOF_TYPE = "dpop+jwt"
#: §11.1: a proof is for one request, now: older than this it is refused, so its jti need be kept no longer.
MAX_PROOF_AGE_SECONDS = 60
#: A client's clock may run a little ahead of the server's.
FUTURE_LEEWAY_SECONDS = 10
#: §8: a nonce lasts one to two of these windows (the current and the previous one are accepted).
NONCE_WINDOW_SECONDS = 300
_MAX_JTI_LENGTH = 256
#: RFC 7517 §9.3 and RFC 7518 §6: members that only a private (or secret) key has.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_THUMBPRINT = re.compile(r"^[A-Za-z0-9_-]{43}$")


class BoundTokenSentAsBearer(InvalidToken):
    """§7.2: a DPoP-bound access token presented as a bearer token; answered with the DPoP challenge."""


@dataclass(frozen=True)
class ProofKey:
    """What a proof's header says about its key: read, checked and thumbprinted once per header."""

    alg: str
    jwk_json: str
    #: RFC 7638 SHA-256 thumbprint, the ``jkt`` tokens are bound to (§6.1).
    jkt: str


@dataclass(frozen=True)
class DpopProof:
    jkt: str
    jti: str
    #: Until when (seconds since the epoch) its jti must be remembered: after that it is refused as stale anyway.
    remember_until: int

    @property
    def replay_key(self) -> str:
        """What the replay check remembers: its jti, per key (one key's jti says nothing of another's)."""
        return f"{self.jkt}:{self.jti}"


def parse_dpop_authorization(authorization: str | None) -> str | None:
    """The token from ``Authorization: DPoP <token>`` (§7.1), None when the header is of another scheme."""
    try:
        return token_of_scheme(authorization.strip() if authorization else None, "dpop")
    except ValueError:
        raise InvalidToken("The Authorization header must be 'DPoP <token>'") from None


def read_dpop_header(values: Sequence[str]) -> str | None:
    """The proof in a request's DPoP headers, None when there is none; §4.3 step 1: not more than one."""
    if not values:
        return None
    if len(values) > 1:
        raise InvalidDpopProof("Send one DPoP header, not several (RFC 9449 section 4.3)")
    value = values[0].strip()
    if not value:
        raise InvalidDpopProof("The DPoP header is empty: send a DPoP proof JWT")
    return value


def check_bound_key(bound_jkt: str | None, proof_jkt: str | None, *, what: str) -> None:
    """A code whose request named ``dpop_jkt`` (§10), or a public client's bound refresh token (§5), is redeemed
    only with a proof by that key: invalid_grant otherwise, as the grant is what is refused."""
    if bound_jkt is None:
        return
    if proof_jkt is None:
        raise InvalidGrant(f"{what} is bound to a DPoP key: send a DPoP proof signed with that key")
    if not hmac.compare_digest(bound_jkt, proof_jkt):
        raise InvalidGrant(f"{what} is bound to another DPoP key than the one that signed this proof")


def parse_dpop_jkt(value: str | None) -> str | None:
    """§10: an authorization request's ``dpop_jkt``, the SHA-256 thumbprint of the key its code is bound to."""
    if value is None:
        return None
    if not _THUMBPRINT.match(value):
        raise InvalidRequest(
            "dpop_jkt must be the base64url SHA-256 JWK thumbprint (RFC 7638) of the DPoP key: 43 characters"
        )
    return value


def bind_pushed_params(params: Mapping[str, str], proof_jkt: str) -> dict[str, str]:
    """§10.1: a proof sent with a pushed authorization request binds its code as ``dpop_jkt`` would; both sent,
    they must name the same key."""
    sent = params.get("dpop_jkt")
    if sent is not None and not hmac.compare_digest(sent, proof_jkt):
        raise InvalidDpopProof("dpop_jkt must be the thumbprint of the key that signed the DPoP proof sent with it")
    return {**params, "dpop_jkt": proof_jkt}


def access_token_hash(access_token: str) -> str:
    """§4.2 ``ath``: base64url of the SHA-256 of the access token's ASCII text."""
    digest = hashlib.sha256(access_token.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@functools.lru_cache(maxsize=1024)
def normalized_htu(uri: str) -> str:
    """The URI as §4.3 step 9 compares it: without query and fragment, after RFC 3986 §6.2.2-6.2.3 normalization
    (lower-case scheme and host, no default port, "/" for an empty path)."""
    parts = urlsplit(uri)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def check_dpop_proof(
    proof: str,
    *,
    method: str,
    uri: str,
    now: int,
    access_token: str | None = None,
    nonces: Collection[str] | None = None,
    current_nonce: str | None = None,
) -> DpopProof:
    """The proof, checked for this request (§4.3); raises InvalidDpopProof or UseDpopNonce saying what to fix.

    ``uri`` is the request's URI as the client addressed it; ``access_token`` is given at resource servers,
    where ``ath`` must match it; ``nonces`` are those accepted now when the server requires one, and
    ``current_nonce`` the one to tell the client to use.
    """
    parts = proof.split(".")
    if len(parts) != 3:
        raise InvalidDpopProof("The DPoP proof is not a JWT: it must be three base64url parts joined by dots")
    key = _proof_key(parts[0])
    try:
        payload = verified_jws_payload(proof, alg=key.alg, public_jwk_json=key.jwk_json)
    except ValueError as exc:
        raise InvalidDpopProof(
            "The DPoP proof's signature does not verify with the jwk in its header", detail=str(exc)
        ) from None
    claims = _json_object(payload, "payload")
    jti, iat = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not 0 < len(jti) <= _MAX_JTI_LENGTH:
        raise InvalidDpopProof(f"The DPoP proof needs a jti: a unique string of at most {_MAX_JTI_LENGTH} characters")
    if claims.get("htm") != method:
        raise InvalidDpopProof(f"The DPoP proof's htm must be the request's method, {method}")
    htu = claims.get("htu")
    expected = normalized_htu(uri)
    if not isinstance(htu, str) or normalized_htu(htu) != expected:
        raise InvalidDpopProof(f"The DPoP proof's htu must be the URL it is sent to, {expected}")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise InvalidDpopProof("The DPoP proof needs an iat: the time it was made, in seconds since the epoch")
    if iat > now + FUTURE_LEEWAY_SECONDS or iat < now - MAX_PROOF_AGE_SECONDS:
        raise InvalidDpopProof(
            f"The DPoP proof's iat is not within {MAX_PROOF_AGE_SECONDS} seconds of the server's time: make a new "
            "proof for each request"
        )
    if nonces is not None:
        _check_nonce(claims.get("nonce"), nonces, current_nonce)
    if access_token is not None:
        _check_access_token_hash(claims.get("ath"), access_token)
    return DpopProof(jkt=key.jkt, jti=jti, remember_until=int(iat) + MAX_PROOF_AGE_SECONDS + FUTURE_LEEWAY_SECONDS)


@functools.lru_cache(maxsize=1024)
def _proof_key(header_part: str) -> ProofKey:
    """§4.3 steps 2-7 on the header, cached by its text: a client sends the same header with every proof."""
    header = _json_object(_base64url(header_part, "header"), "header")
    if header.get("typ") != PROOF_TYPE:
        raise InvalidDpopProof(f"The DPoP proof's header must have typ {PROOF_TYPE}")
    if "crit" in header:
        # RFC 7515 §4.1.11: an extension the recipient does not understand makes the JWS invalid.
        raise InvalidDpopProof("The DPoP proof's header names crit extensions, which this server does not support")
    alg = header.get("alg")
    if alg not in DPOP_ALGORITHMS:
        raise InvalidDpopProof(f"The DPoP proof must be signed with one of {', '.join(DPOP_ALGORITHMS)}")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise InvalidDpopProof("The DPoP proof's header must carry the public key as jwk")
    if _PRIVATE_MEMBERS.intersection(jwk):
        raise InvalidDpopProof("The DPoP proof's jwk must be a public key: it holds a private key's members")
    if jwk.get("kty") != _KEY_TYPE_BY_ALG[alg]:
        raise InvalidDpopProof(f"The DPoP proof's jwk must be an {_KEY_TYPE_BY_ALG[alg]} key for {alg}")
    jwk_json = json.dumps(jwk, sort_keys=True)
    try:
        jkt = jwk_thumbprint(jwk_json)
    except ValueError as exc:
        raise InvalidDpopProof("The DPoP proof's jwk is not a usable public key", detail=str(exc)) from None
    return ProofKey(alg=alg, jwk_json=jwk_json, jkt=jkt)


def _base64url(part: str, name: str) -> bytes:
    try:
        return base64.b64decode(part + "=" * (-len(part) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidDpopProof(f"The DPoP proof is not a JWT: its {name} is not base64url") from None


def _json_object(text: bytes, name: str) -> dict[str, Any]:
    try:
        decoded = parse_json_text(text)
    except JsonTextError as exc:
        raise InvalidDpopProof(f"The DPoP proof is not a JWT: its {name} {exc.problem}") from None
    if not isinstance(decoded, dict):
        raise InvalidDpopProof(f"The DPoP proof is not a JWT: its {name} is not a JSON object")
    return decoded


def _check_nonce(nonce: Any, nonces: Collection[str], current_nonce: str | None) -> None:
    # §8: the server's nonce, and a fresh one to retry with when it is missing or too old.
    if not isinstance(nonce, str) or not any(hmac.compare_digest(nonce, accepted) for accepted in nonces):
        description = (
            "Use the nonce in the DPoP-Nonce header of this answer in a new DPoP proof"
            if nonce is None
            else "The DPoP proof's nonce is not current: use the one in the DPoP-Nonce header of this answer"
        )
        raise UseDpopNonce(description, nonce=current_nonce or "")


def _check_access_token_hash(ath: Any, access_token: str) -> None:
    # §4.3 step 11 and §7.1: the proof is bound to the access token it is sent with.
    if not isinstance(ath, str):
        raise InvalidDpopProof("The DPoP proof needs ath: base64url of the SHA-256 of the access token")
    if not hmac.compare_digest(ath.encode(), access_token_hash(access_token).encode()):
        raise InvalidDpopProof("The DPoP proof's ath is not the hash of the access token sent with it")


def dpop_nonce(key: bytes, window: int) -> str:
    """The server's nonce for one time window: an HMAC under the instance's key, so every worker and node
    makes and accepts the same ones without storing any, and nobody else can make tomorrow's."""
    mac = hmac.new(key, f"dpop-nonce:{window}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode("ascii")


def current_nonces(key: bytes, now: int) -> tuple[str, str]:
    """This window's nonce, to hand out, and the previous window's, still accepted: a nonce lasts one to two windows."""
    window = now // NONCE_WINDOW_SECONDS
    return dpop_nonce(key, window), dpop_nonce(key, window - 1)


def build_dpop_challenge(
    *, realm: str | None = None, error: str | None = None, description: str | None = None, scope: str | None = None
) -> str:
    """§7.1: the WWW-Authenticate value of a resource server that takes DPoP tokens, with the algs it accepts."""
    parts = challenge_parameters(realm, error=error, description=description, scope=scope)
    return "DPoP " + ", ".join([*parts, f'algs="{" ".join(DPOP_ALGORITHMS)}"'])
