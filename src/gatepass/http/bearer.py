"""Error responses of endpoints that take a bearer token: the RFC 6750 §3 challenge and a JSON body.

The document API, UserInfo and the client configuration endpoint all answer a bad token this way.
https://www.rfc-editor.org/rfc/rfc6750#section-3
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from gatepass import metrics
from gatepass.protocol.errors import InvalidDpopProof, OAuthError, UseDpopNonce
from gatepass.protocol.rfc6750_bearer import build_bearer_challenge, parse_bearer
from gatepass.protocol.rfc9449_dpop import BoundTokenSentAsBearer, build_dpop_challenge, parse_dpop_authorization
from gatepass.services.oauth.dpop import BEARER, TokenPresentation


def bearer_error(
    request: Request, error: OAuthError, *, realm: str, resource_metadata: str | None = None
) -> JSONResponse:
    """The challenge in WWW-Authenticate and the same words in the body; resource_metadata only on a 401.

    A request that sent a DPoP token, or a bound token as Bearer, is answered with the DPoP challenge.
    """
    metrics.OAUTH_ERRORS.labels(error.error).inc()
    scope = getattr(error, "scope", None)
    if _is_dpop_refusal(request, error):
        return _dpop_error(error, realm=realm, scope=scope)
    challenge = build_bearer_challenge(
        realm,
        error=error.error,
        description=error.description,
        scope=scope,
        resource_metadata=resource_metadata if error.status_code == 401 else None,
    )
    body: dict[str, Any] = error.to_dict()
    if scope:
        body["scope"] = scope
    return JSONResponse(body, status_code=error.status_code, headers={"WWW-Authenticate": challenge})


def presented_token(request: Request, issuer: str) -> tuple[str | None, TokenPresentation]:
    """The access token of the Authorization header, as ``Bearer`` or ``DPoP`` (RFC 9449 §7.1), and how it came:
    for DPoP, the proof headers and the request's method and URI as the client addressed them."""
    authorization = request.headers.get("authorization")
    token = parse_dpop_authorization(authorization)
    if token is None:
        return parse_bearer(authorization), BEARER
    presented = TokenPresentation(
        is_dpop=True,
        dpop_headers=tuple(request.headers.getlist("dpop")),
        method=request.method,
        uri=f"{issuer}{request.url.path}",
    )
    return token, presented


def fresh_dpop_nonce(request: Request, nonce: str | None) -> dict[str, str]:
    """The header for a success answer to a request that presented a DPoP token, when this server requires
    nonces (``nonce`` is then the one to use now): RFC 9449 §8.2 and §9 let a server hand the next nonce out
    with a 200, so a client that keeps using it never meets the use_dpop_nonce refusal when a nonce ages."""
    if nonce is None or not _is_dpop_scheme(request):
        return {}
    return {"DPoP-Nonce": nonce}


def _is_dpop_scheme(request: Request) -> bool:
    return request.headers.get("authorization", "").lstrip()[:5].lower() == "dpop "


def _is_dpop_refusal(request: Request, error: OAuthError) -> bool:
    if isinstance(error, InvalidDpopProof | UseDpopNonce | BoundTokenSentAsBearer):
        return True
    return _is_dpop_scheme(request)


def _dpop_error(error: OAuthError, *, realm: str, scope: str | None) -> JSONResponse:
    """RFC 9449 §7.1 and §9: the DPoP challenge with the algs accepted; a bad proof is a 401 here, and a nonce
    to use comes in DPoP-Nonce."""
    is_proof_error = isinstance(error, InvalidDpopProof | UseDpopNonce)
    headers = {
        "WWW-Authenticate": build_dpop_challenge(
            realm=realm, error=error.error, description=error.description, scope=scope
        )
    }
    if isinstance(error, UseDpopNonce):
        headers["DPoP-Nonce"] = error.nonce
    body: dict[str, Any] = error.to_dict()
    if scope:
        body["scope"] = scope
    return JSONResponse(body, status_code=401 if is_proof_error else error.status_code, headers=headers)
