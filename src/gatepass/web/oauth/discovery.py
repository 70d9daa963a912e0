"""Discovery documents and the JWKS: public, cacheable, the same issuer everywhere."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatepass.protocol.jose import ASYMMETRIC_ALGORITHMS
from gatepass.protocol.oidc.discovery import build_openid_configuration
from gatepass.protocol.rfc8414_metadata import build_authorization_server_metadata
from gatepass.services.scopes import BUILTIN_SCOPES
from gatepass.web.context import web

# Short enough that a rotated key is picked up well within the rotation grace period.
_CACHEABLE = {"Cache-Control": "public, max-age=300"}
_ALGORITHMS = (*ASYMMETRIC_ALGORITHMS, "HS256")


async def openid_configuration(request: Request) -> Response:
    document = build_openid_configuration(web(request).issuer, scopes=tuple(BUILTIN_SCOPES),
                                          id_token_algorithms=_ALGORITHMS)
    return JSONResponse(document, headers=_CACHEABLE)


async def authorization_server_metadata(request: Request) -> Response:
    document = build_authorization_server_metadata(web(request).issuer, scopes=tuple(BUILTIN_SCOPES),
                                                   id_token_algorithms=_ALGORITHMS)
    return JSONResponse(document, headers=_CACHEABLE)


async def jwks(request: Request) -> Response:
    return JSONResponse(await web(request).signing_keys.jwks(), headers=_CACHEABLE,
                        media_type="application/jwk-set+json")
