"""RFC 7591 registration and RFC 7592 client configuration endpoints: JSON in, JSON out."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatepass.http.bearer import bearer_error
from gatepass.protocol.errors import InvalidClientMetadata, InvalidRequest, InvalidToken, OAuthError
from gatepass.protocol.rfc6749.token_response import NO_STORE_HEADERS
from gatepass.protocol.rfc6750_bearer import parse_bearer
from gatepass.protocol.rfc7493_ijson import MalformedJson, RefusedJsonValue
from gatepass.services.registration import RegistrationDisabled
from gatepass.web.context import client_ip, web
from gatepass.web.errors import oauth_json_error
from gatepass.web.ratelimit import check_rate
from gatepass.web.requests import read_json_body

_DISABLED = {"error": "not_found", "error_description": "Dynamic client registration is switched off on this server"}


async def _json_body(request: Request) -> dict[str, Any]:
    """RFC 7591 §3.1: the metadata as a JSON object; a body that is not one is invalid_request."""
    if request.headers.get("content-type", "").split(";", 1)[0].strip().lower() != "application/json":
        raise InvalidClientMetadata("Send the client metadata as a JSON object with Content-Type: application/json")
    try:
        body = await read_json_body(request)
    except MalformedJson as exc:
        raise InvalidRequest(exc.describe("The request body")) from None
    except RefusedJsonValue as exc:
        # JSON with an unusable member: RFC 7591 §3.2.2 names that invalid_client_metadata.
        raise InvalidClientMetadata(exc.describe("The request body")) from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object of client metadata")
    return body


async def register(request: Request) -> Response:
    context = web(request)
    try:
        if await context.registration.mode() == "open":
            limit = context.rate_limits.registration_per_ip_per_hour
            if limit > 0:
                await check_rate(request, "register-ip", client_ip(request) or "unknown", limit, window_seconds=3600)
        initial_token = parse_bearer(request.headers.get("authorization"))
        body = await _json_body(request)
        registered = await context.registration.register(body, initial_token=initial_token, ip=client_ip(request))
    except RegistrationDisabled:
        return JSONResponse(_DISABLED, status_code=404, headers=NO_STORE_HEADERS)
    except InvalidToken as error:
        return bearer_error(request, error, realm=context.issuer)
    except OAuthError as error:
        return oauth_json_error(request, error)
    return JSONResponse(registered, status_code=201, headers=NO_STORE_HEADERS)


async def configuration(request: Request) -> Response:
    """RFC 7592: GET reads, PUT replaces, DELETE removes the caller's own registration."""
    context = web(request)
    client_id = request.path_params["client_id"]
    try:
        token = parse_bearer(request.headers.get("authorization"))
        if request.method == "GET":
            return JSONResponse(await context.registration.read(client_id, token), headers=NO_STORE_HEADERS)
        if request.method == "PUT":
            body = await _json_body(request)
            return JSONResponse(await context.registration.update(client_id, token, body), headers=NO_STORE_HEADERS)
        await context.registration.delete(client_id, token)
        return Response(status_code=204, headers=NO_STORE_HEADERS)
    except InvalidToken as error:
        return bearer_error(request, error, realm=context.issuer)
    except OAuthError as error:
        return oauth_json_error(request, error)
