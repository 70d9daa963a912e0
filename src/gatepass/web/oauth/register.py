"""RFC 7591 registration and RFC 7592 client configuration endpoints: JSON in, JSON out."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatepass.protocol.errors import InvalidClientMetadata, InvalidToken, OAuthError
from gatepass.protocol.rfc6749.token_response import NO_STORE_HEADERS
from gatepass.protocol.rfc6750_bearer import parse_bearer
from gatepass.services.registration import RegistrationDisabled
from gatepass.web.context import client_ip, web
from gatepass.web.errors import bearer_error, oauth_json_error
from gatepass.web.ratelimit import check_rate

_DISABLED = {"error": "not_found", "error_description": "Dynamic client registration is switched off on this server"}


async def _json_body(request: Request) -> Any:
    if request.headers.get("content-type", "").split(";", 1)[0].strip().lower() != "application/json":
        raise InvalidClientMetadata("Send the client metadata as a JSON object with Content-Type: application/json")
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise InvalidClientMetadata("The request body is not valid JSON") from None


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
