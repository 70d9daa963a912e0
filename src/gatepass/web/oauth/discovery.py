"""Discovery documents and the JWKS: public, cacheable, the same issuer everywhere."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatepass.protocol.jose import ASYMMETRIC_ALGORITHMS
from gatepass.protocol.oidc.discovery import build_openid_configuration
from gatepass.protocol.rfc8414_metadata import build_authorization_server_metadata
from gatepass.protocol.rfc9728_resource_metadata import build_resource_metadata
from gatepass.services.scopes import BUILTIN_SCOPES
from gatepass.web.context import web

# Short enough that a rotated key is picked up well within the rotation grace period.
_CACHEABLE = {"Cache-Control": "public, max-age=300"}
_ALGORITHMS = (*ASYMMETRIC_ALGORITHMS, "HS256")


async def _registration_endpoint(request: Request) -> str | None:
    context = web(request)
    return None if await context.registration.mode() == "off" else f"{context.issuer}/oauth/register"


async def openid_configuration(request: Request) -> Response:
    """Also served on Frappe's v13/v14 path (``frappe.integrations.oauth2.openid_configuration``)."""
    context = web(request)
    document = build_openid_configuration(
        context.issuer,
        scopes=tuple(BUILTIN_SCOPES),
        id_token_algorithms=_ALGORITHMS,
        is_par_required=context.settings.security.require_pushed_authorization_requests,
        registration_endpoint=await _registration_endpoint(request),
    )
    return JSONResponse(document, headers=_CACHEABLE)


async def authorization_server_metadata(request: Request) -> Response:
    context = web(request)
    document = build_authorization_server_metadata(
        context.issuer,
        scopes=tuple(BUILTIN_SCOPES),
        id_token_algorithms=_ALGORITHMS,
        is_par_required=context.settings.security.require_pushed_authorization_requests,
        registration_endpoint=await _registration_endpoint(request),
    )
    return JSONResponse(document, headers=_CACHEABLE)


async def protected_resource_metadata(request: Request) -> Response:
    """RFC 9728 §3: the document API's metadata at the root and at its path-specific location."""
    context = web(request)
    path = request.path_params.get("path", "").strip("/")
    resource = context.document_api_resource
    if path and f"{context.issuer}/{path}" != resource:
        return JSONResponse(
            {"error": "not_found", "error_description": f"No protected resource at /{path}"}, status_code=404
        )
    document = build_resource_metadata(
        resource,
        issuer=context.issuer,
        scopes=tuple(BUILTIN_SCOPES),
        resource_name="Gatepass document API",
        documentation=f"{context.issuer}/api/docs",
    )
    return JSONResponse(document, headers=_CACHEABLE)


async def jwks(request: Request) -> Response:
    return JSONResponse(
        await web(request).signing_keys.jwks(), headers=_CACHEABLE, media_type="application/jwk-set+json"
    )
