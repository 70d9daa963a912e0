"""Request objects (RFC 9101) as clients make them: oauth4webapi in Node (request_objects/jar_client.mjs),
and joserfc for the objects a library would never sign (expired, for another server, unsigned)."""

from __future__ import annotations

import json
import time
import uuid
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeyParameters, OctKey, OKPKey, RSAKey
from par_support import run_oauth4webapi

from support.server import REDIRECT_URI, LiveServer

JAR_CLIENT = Path(__file__).parent / "request_objects" / "jar_client.mjs"
REQUEST_OBJECT_TYPE = "oauth-authz-req+jwt"
SigningKey = RSAKey | ECKey | OKPKey


def new_key(alg: str, kid: str) -> SigningKey:
    parameters: KeyParameters = {"kid": kid, "use": "sig"}
    if alg in ("RS256", "PS256"):
        return RSAKey.generate_key(2048, parameters=parameters)
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters)
    return OKPKey.generate_key("Ed25519", parameters=parameters)


def register_with_keys(server: LiveServer, tmp_path: Path, key: SigningKey, *args: str, name: str) -> dict[str, Any]:
    """A client whose public key is registered inline, so its request objects (and assertions) can be checked."""
    jwks_file = tmp_path / f"{uuid.uuid4().hex}.json"
    jwks_file.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    return server.create_client("--jwks-file", str(jwks_file), *args, name=name)


def request_object(
    client_id: str,
    issuer: str,
    key: SigningKey | OctKey,
    params: Mapping[str, Any],
    /,
    *,
    alg: str = "PS256",
    **claims: Any,
) -> str:
    """A request object signed with ``key``, as RFC 9101 §4 describes one; ``claims`` change or (None) drop
    the usual ones."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": client_id,
        "aud": issuer,
        "client_id": client_id,
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        **params,
        **claims,
    }
    header = {"alg": alg, "typ": REQUEST_OBJECT_TYPE, **({"kid": key.kid} if key.kid else {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc's note that EdDSA is superseded by Ed25519
        return jwt.encode(header, {k: v for k, v in body.items() if v is not None}, key, algorithms=[alg])


def library_client(
    server: LiveServer, client: Mapping[str, Any], key: SigningKey, alg: str, *, signed: bool = True
) -> dict[str, Any]:
    """What jar_client.mjs needs to know of a registered client."""
    return {
        "issuer": server.url,
        "client_id": client["client_id"],
        "client_secret": client.get("client_secret"),
        "auth_method": client["token_endpoint_auth_method"],
        "private_jwk": key.as_dict(private=True),
        "alg": alg,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email",
        "signed": signed,
    }


async def run_jar_client(command: str, arguments: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    return await run_oauth4webapi(command, arguments, script=JAR_CLIENT)


def client_assertion(
    client_id: str, audience: Any, key: SigningKey, *, alg: str = "ES256", now: int | None = None
) -> dict[str, str]:
    """The form fields of a private_key_jwt client authentication (RFC 7523 §2.2) addressed to ``audience``;
    ``now``: the server's time, where the test moves its clock."""
    now = int(time.time()) if now is None else now
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 120,
        "jti": uuid.uuid4().hex,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        token = jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])
    return {
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": token,
    }
