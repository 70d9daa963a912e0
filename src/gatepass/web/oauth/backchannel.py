"""Token, pushed authorization request, revocation and introspection endpoints: form in, JSON out, never cached."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatepass.protocol.errors import InvalidRequest, OAuthError
from gatepass.protocol.params import parse_params
from gatepass.protocol.rfc6749.token_response import NO_STORE_HEADERS, build_token_response
from gatepass.web.context import client_ip, web
from gatepass.web.errors import oauth_json_error
from gatepass.web.ratelimit import check_backchannel_rate

_MAX_FIELDS = 1000


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    # RFC 6749 §3.2: the token endpoint takes application/x-www-form-urlencoded (multipart tolerated).
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise InvalidRequest("Send the parameters as application/x-www-form-urlencoded in the request body")
    if content_type == "application/x-www-form-urlencoded":
        # The standard library's parser: a tenth of the cost of the multipart package's on these small bodies.
        try:
            pairs = parse_qsl(
                (await request.body()).decode("utf-8"),
                keep_blank_values=True,
                max_num_fields=_MAX_FIELDS,
                errors="strict",
            )
        except HTTPException as exc:
            raise InvalidRequest(f"The request body cannot be read: {exc.detail}") from None
        except UnicodeDecodeError:
            raise InvalidRequest("The request body is not UTF-8: encode the parameters as UTF-8") from None
        except ValueError:
            raise InvalidRequest(f"The request body has more than {_MAX_FIELDS} parameters") from None
        return parse_params(pairs)
    try:
        form = await request.form()
    except HTTPException as exc:
        # Starlette's framing errors (bad multipart, too large, too many fields) answered in OAuth's shape.
        raise InvalidRequest(f"The request body cannot be read: {exc.detail}") from None
    return parse_params((k, v) for k, v in form.multi_items() if isinstance(v, str))


async def token(request: Request) -> Response:
    context = web(request)
    try:
        form = await _form(request)
        await check_backchannel_rate(request, form, endpoint="token")
        issued = await context.token_endpoint.token(
            form,
            request.headers.get("authorization"),
            ip=client_ip(request),
            dpop_headers=request.headers.getlist("dpop"),
            uri=f"{context.issuer}{request.url.path}",
        )
    except OAuthError as error:
        return oauth_json_error(request, error)
    nonce = context.dpop.nonce()
    # RFC 9449 §8.2: the nonce for the client's next proof, before the current one ages out.
    headers = NO_STORE_HEADERS if nonce is None else {**NO_STORE_HEADERS, "DPoP-Nonce": nonce}
    return JSONResponse(build_token_response(issued), headers=headers)


async def pushed_authorization_request(request: Request) -> Response:
    """RFC 9126 §2: the request stored, its request_uri answered with 201 Created."""
    try:
        form = await _form(request)
        await check_backchannel_rate(request, form, endpoint="par")
        pushed = await web(request).pushed_authorization.push(
            form,
            request.headers.get("authorization"),
            dpop_headers=request.headers.getlist("dpop"),
            uri=f"{web(request).issuer}{request.url.path}",
        )
    except OAuthError as error:
        return oauth_json_error(request, error)
    body = {"request_uri": pushed.request_uri, "expires_in": pushed.expires_in}
    return JSONResponse(body, status_code=201, headers=NO_STORE_HEADERS)


async def device_authorization(request: Request) -> Response:
    """RFC 8628 §3.1-3.2: a device's codes, and where its user goes with them."""
    try:
        form = await _form(request)
        await check_backchannel_rate(request, form, endpoint="device")
        started = await web(request).device_authorization.start(
            form, request.headers.get("authorization"), ip=client_ip(request)
        )
    except OAuthError as error:
        return oauth_json_error(request, error)
    return JSONResponse(started.to_dict(), headers=NO_STORE_HEADERS)


async def revoke(request: Request) -> Response:
    try:
        form = await _form(request)
        await check_backchannel_rate(request, form, endpoint="revoke")
        await web(request).revocation.revoke(form, request.headers.get("authorization"), ip=client_ip(request))
    except OAuthError as error:
        return oauth_json_error(request, error)
    # RFC 7009 §2.2: 200 whether or not the token was valid; Frappe answers {} as well.
    return JSONResponse({}, headers=NO_STORE_HEADERS)


async def introspect(request: Request) -> Response:
    try:
        form = await _form(request)
        await check_backchannel_rate(request, form, endpoint="introspect")
        body = await web(request).introspection.introspect(form, request.headers.get("authorization"))
    except OAuthError as error:
        return oauth_json_error(request, error)
    return JSONResponse(body, headers=NO_STORE_HEADERS)


async def method_not_allowed(request: Request) -> Response:
    return JSONResponse(
        {"error": "invalid_request", "error_description": "Use POST for this endpoint"},
        status_code=405,
        headers={"Allow": "POST", **NO_STORE_HEADERS},
    )
