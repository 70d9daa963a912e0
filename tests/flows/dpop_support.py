"""DPoP proofs (RFC 9449 §4.2) as a client makes them, with joserfc: a key of the client's own, and a proof of
it for each request, any part of which a test may get wrong on purpose."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from support.backchannel import FORM_HEADERS, client_auth
from support.server import LiveServer

TOKEN = "/oauth/token"
USERINFO = "/oauth/userinfo"
ALGS = "ES256 PS256 RS256 EdDSA"


def ath(access_token: str) -> str:
    """RFC 9449 §4.2: base64url(SHA-256(access token))."""
    return base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()


@dataclass(frozen=True)
class DpopKey:
    key: ECKey | RSAKey | OKPKey
    alg: str = "ES256"

    @classmethod
    def new(cls, alg: str = "ES256") -> DpopKey:
        if alg == "EdDSA":
            return cls(OKPKey.generate_key("Ed25519"), alg)
        if alg in ("RS256", "PS256"):
            return cls(RSAKey.generate_key(2048), alg)
        return cls(ECKey.generate_key("P-256"), alg)

    @property
    def jkt(self) -> str:
        """RFC 7638 thumbprint, as dpop_jkt and cnf.jkt carry it."""
        return str(self.key.thumbprint())

    def proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        iat: int | None = None,
        jti: str | None = None,
        header: Mapping[str, Any] | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A proof for one request; ``header`` and ``claims`` replace or add members (None values drop them)."""
        jwk = self.key.as_dict(private=False)
        protected: dict[str, Any] = {"typ": "dpop+jwt", "alg": self.alg, "jwk": jwk, **(header or {})}
        payload: dict[str, Any] = {
            "jti": jti or secrets.token_urlsafe(16),
            "htm": method,
            "htu": url,
            "iat": int(time.time()) if iat is None else iat,
        }
        if access_token is not None:
            payload["ath"] = ath(access_token)
        if nonce is not None:
            payload["nonce"] = nonce
        payload.update(claims or {})
        protected = {k: v for k, v in protected.items() if v is not None}
        payload = {k: v for k, v in payload.items() if v is not None}
        with warnings.catch_warnings():
            # joserfc prefers RFC 9864's "Ed25519"; DPoP clients send "EdDSA", which the server lists.
            warnings.filterwarnings("ignore", message=".*EdDSA.*")
            return jwt.encode(protected, payload, self.key, algorithms=[self.alg])


def hs256_proof(method: str, url: str) -> str:
    """A proof MACed with a shared secret: never accepted (RFC 9449 §4.3 step 5)."""
    secret = OctKey.generate_key(256)
    header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": secret.as_dict(private=False)}
    claims = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url, "iat": int(time.time())}
    return jwt.encode(header, claims, secret, algorithms=["HS256"])


async def token_request(
    http: httpx.AsyncClient,
    server: LiveServer,
    client: Mapping[str, Any],
    data: Mapping[str, str],
    *,
    proof: str | None,
) -> httpx.Response:
    """POST to the token endpoint as ``client`` registered, with ``proof`` in the DPoP header."""
    fields, auth = client_auth(client)
    headers = dict(FORM_HEADERS)
    if proof is not None:
        headers["DPoP"] = proof
    return await http.post(
        server.url + TOKEN,
        data={**fields, **data},
        headers=headers,
        auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
    )


async def userinfo(
    http: httpx.AsyncClient, server: LiveServer, access_token: str, *, scheme: str = "DPoP", proof: str | None
) -> httpx.Response:
    headers = {"Authorization": f"{scheme} {access_token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return await http.get(server.url + USERINFO, headers=headers)
