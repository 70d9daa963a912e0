"""Frappe's RPC API: ``/api/method/<name>`` and the older ``cmd=<name>`` form sent to ``/``.

Each call takes the same steps: find the method (an unknown name is Frappe's JSON 404), refuse a
write sent by GET, read the arguments (query, then form or JSON body, as Frappe's ``form_dict``),
find who is asking (resource.auth, as ``/api/resource``), run the call, and answer ``{"message": …}``
or Frappe's error body (``exc_type``, ``exception``, ``_server_messages``) under Frappe's status.
The OAuth methods under ``frappe.integrations.oauth2.`` belong to the authorization server and are left to it.
https://frappeframework.com/docs/user/en/api/rest#remote-method-calls
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from gatepass import __version__
from gatepass.compat.frappe import FRAPPE_OAUTH_METHODS
from gatepass.http.bearer import bearer_error, fresh_dpop_nonce
from gatepass.http.csrf import CsrfTokenError
from gatepass.protocol.errors import OAuthError
from gatepass.protocol.rfc6750_bearer import build_bearer_challenge
from gatepass.protocol.rfc7493_ijson import MalformedJson, RefusedJsonValue, parse_json_text
from gatepass.protocol.rfc9728_resource_metadata import metadata_url
from gatepass.resource import frappe_session
from gatepass.resource.auth import NoCredentials, authenticate
from gatepass.resource.context import dpop_nonce, issuer_of
from gatepass.resource.errors import frappe_error
from gatepass.resource.frappe_client import CLIENT_METHODS, ClientMethod
from gatepass.services.document_errors import DocumentError

Arguments = Mapping[str, Any]
PublicCall = Callable[[Request, Arguments], Awaitable[Response]]

_NO_STORE = {"Cache-Control": "no-store"}
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
#: Frappe serves methods under /api/method and /api/v1/method.
_PREFIXES = ("/api/method", "/api/v1/method")
_EXC_TYPES = {401: "AuthenticationError", 403: "PermissionError", 404: "DoesNotExistError", 429: "TooManyRequestsError"}


class MalformedBody(Exception):
    """A request body that is no JSON object: nothing in it can be read."""


def _error(
    exc_type: str,
    message: str,
    status_code: int,
    *,
    error: str,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
    field: str | None = None,
) -> JSONResponse:
    extra = {"exception": f"frappe.exceptions.{exc_type}: {message}", **(extra or {})}
    return frappe_error(
        exc_type=exc_type,
        error=error,
        message=message,
        status_code=status_code,
        field=field,
        extra=extra,
        headers=headers,
    )


def _unknown_method(name: str) -> JSONResponse:
    message = f"No method {name[:140]!r}: see /api/docs for what this server serves"
    return _error("DoesNotExistError", message, 404, error="not_found")


def _credentials_required(request: Request) -> JSONResponse:
    issuer = issuer_of(request)
    message = (
        "Not logged in: log in with /api/method/login, or send Authorization: Bearer <access token> "
        "or Authorization: token <api_key>:<api_secret>"
    )
    # RFC 9728 §5.1: point a client that sent nothing at the resource's metadata, as /api/resource does.
    challenge = build_bearer_challenge(issuer, resource_metadata=metadata_url(f"{issuer}/api/resource"))
    return _error("AuthenticationError", message, 401, error="login_required", headers={"WWW-Authenticate": challenge})


def _oauth_refusal(request: Request, error: OAuthError) -> JSONResponse:
    """A token failure in Frappe's shape, with the RFC 6750 §3 challenge an OAuth client reads."""
    issuer = issuer_of(request)
    challenge = bearer_error(request, error, realm=issuer, resource_metadata=metadata_url(f"{issuer}/api/resource"))
    scope = getattr(error, "scope", None)
    return _error(
        _EXC_TYPES.get(error.status_code, "ValidationError"),
        error.description,
        error.status_code,
        error=error.error,
        headers={"WWW-Authenticate": challenge.headers["WWW-Authenticate"]},
        # The scope that was missing, as bearer_error's body names it for OAuth clients.
        extra={"scope": scope} if scope else None,
    )


async def _arguments(request: Request) -> dict[str, Any]:
    """Frappe's ``form_dict``: the query's arguments, then the body's (a form, or a JSON object)."""
    args: dict[str, Any] = dict(request.query_params)
    if request.method != "POST":
        return args
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type in _FORM_TYPES:
        form = await request.form()
        args.update((key, value) for key, value in form.multi_items() if isinstance(value, str))
        return args
    raw = await request.body()
    if not raw.strip():
        return args
    try:
        body = parse_json_text(raw, is_text_checked=False)
    except (MalformedJson, RefusedJsonValue) as exc:
        raise MalformedBody(f"The request body is not valid JSON: the text {exc}") from None
    if not isinstance(body, dict):
        raise MalformedBody("The request body must be a JSON object of arguments, or a form")
    args.update(body)
    return args


async def _ping(request: Request, args: Arguments) -> Response:
    return JSONResponse({"message": "pong"}, headers=_NO_STORE)


async def _version(request: Request, args: Arguments) -> Response:
    return JSONResponse({"message": __version__}, headers=_NO_STORE)


async def _log_out(request: Request, args: Arguments) -> Response:
    return await frappe_session.log_out(request)


#: Methods anyone may call: they log in, log out or say nothing about anyone.
PUBLIC_METHODS: dict[str, PublicCall] = {
    "login": frappe_session.log_in,
    "logout": _log_out,
    "ping": _ping,
    "version": _version,
}
#: Methods that act for a user, through the same checks as /api/resource.
USER_METHODS: dict[str, ClientMethod] = {
    "frappe.auth.get_logged_user": ClientMethod(frappe_session.logged_user, is_write=False),
    **CLIENT_METHODS,
}


async def _run(request: Request, method: ClientMethod, args: Arguments) -> Response:
    try:
        principal = await authenticate(request)
        result = await method.call(request, principal, args)
    except NoCredentials:
        return _credentials_required(request)
    except OAuthError as error:
        return _oauth_refusal(request, error)
    except CsrfTokenError as error:
        return _error("CSRFTokenError", error.message, 400, error="csrf_token_invalid")
    except DocumentError as error:
        return _error(error.exc_type, error.message, error.status_code, error=error.error, field=error.field)
    # Frappe leaves ``message`` out when a method returns nothing.
    headers = {**_NO_STORE, **fresh_dpop_nonce(request, dpop_nonce(request))}
    return JSONResponse({} if result is None else {"message": result}, headers=headers)


async def call_method(request: Request, name: str) -> Response:
    """Run the method ``name`` for this request, every step in Frappe's order."""
    public = PUBLIC_METHODS.get(name)
    method = USER_METHODS.get(name)
    if public is None and method is None:
        return _unknown_method(name)
    # A password never travels in a query string, where access logs and proxies keep it.
    is_post_only = name == "login" or (method is not None and method.is_write)
    if is_post_only and request.method != "POST":
        return _error("PermissionError", f"Not permitted: {name} takes POST", 403, error="method_not_allowed")
    try:
        args = await _arguments(request)
    except MalformedBody as exc:
        return _error("ValidationError", str(exc), 400, error="invalid_request")
    if public is not None:
        return await public(request, args)
    assert method is not None
    return await _run(request, method, args)


async def method_endpoint(request: Request) -> Response:
    return await call_method(request, request.path_params["method"])


async def command_endpoint(request: Request) -> Response:
    """``/`` with ``cmd``: the form Frappe's older clients post (frappe-client, frappe-connector)."""
    try:
        args = await _arguments(request)
    except MalformedBody as exc:
        return _error("ValidationError", str(exc), 400, error="invalid_request")
    name = args.get("cmd")
    if not isinstance(name, str) or not name:
        return _error("DoesNotExistError", "Send the method to call as cmd", 404, error="not_found")
    return await call_method(request, name)


class _MethodRoute(Route):
    """``<prefix>/{method}`` for every name but the authorization server's OAuth methods (which it serves
    under /api/method only: under /api/v1/method they are unknown names, as in Frappe's v1 API)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if (
            match is not Match.NONE
            and scope["path"].startswith("/api/method/")
            and child_scope["path_params"]["method"] in FRAPPE_OAUTH_METHODS
        ):
            return Match.NONE, {}
        return match, child_scope


class _CommandRoute(Route):
    """``/`` for a POST, and for a GET only with ``cmd`` in its query: the home page keeps the rest."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is Match.FULL and scope.get("method") in ("GET", "HEAD"):
            query = scope.get("query_string", b"")
            if not any(pair.split(b"=", 1)[0] == b"cmd" for pair in query.split(b"&")):
                return Match.NONE, {}
        return match, child_scope


def build_method_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = [_CommandRoute("/", command_endpoint, methods=["GET", "POST"])]
    for prefix in _PREFIXES:
        for slash in ("", "/"):
            path = f"{prefix}/{{method}}{slash}"
            routes.append(_MethodRoute(path, method_endpoint, methods=["GET", "POST"]))
    return routes
