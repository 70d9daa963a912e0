"""``/api/resource/{doctype}[/{name}]``: Frappe's REST shapes over services.documents.

GET list → 200 ``{"data": [...]}``; POST → 200 ``{"data": doc}`` (not 201, as Frappe);
GET/PUT one → 200 ``{"data": doc}``; DELETE → 202 ``{"data": "ok"}``. Each handler takes the same
steps: who is asking (resource.auth), the use case, then the answer or the error from resource.errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatepass.http.bearer import bearer_error, fresh_dpop_nonce
from gatepass.http.csrf import CsrfTokenError
from gatepass.protocol.errors import OAuthError
from gatepass.protocol.rfc7493_ijson import MalformedJson, RefusedJsonValue, parse_json_text
from gatepass.protocol.rfc9728_resource_metadata import metadata_url
from gatepass.protocol.values import Principal
from gatepass.resource.auth import NoCredentials, authenticate
from gatepass.resource.context import document_service, dpop_nonce, issuer_of
from gatepass.resource.errors import credentials_required, csrf_error, document_error
from gatepass.services.document_errors import DocumentError, DocumentValidationError

_NO_STORE = {"Cache-Control": "no-store"}
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _body(request: Request) -> Any:
    """A JSON body, or Frappe's form field ``data`` holding JSON; an empty body is an empty object."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type in _FORM_TYPES:
        form = await request.form()
        raw: str | bytes = str(form.get("data") or "{}")
    else:
        raw = await request.body()
    if not raw.strip():
        return {}
    try:
        # Each value the service keeps is checked there, named by its field (document_fields.check_text).
        return parse_json_text(raw, is_text_checked=False)
    except MalformedJson:
        # Not an object: the use case refuses it after the scope and role checks, in their order.
        return None
    except RefusedJsonValue as exc:
        raise DocumentValidationError(f"body: {exc}", field="body") from None


def _metadata_url(issuer: str) -> str:
    return metadata_url(f"{issuer}/api/resource")


async def _answer(
    request: Request, use_case: Callable[[Principal], Awaitable[Any]], *, status_code: int = 200
) -> Response:
    issuer = issuer_of(request)
    try:
        principal = await authenticate(request)
        data = await use_case(principal)
    except NoCredentials:
        return credentials_required(request, realm=issuer, resource_metadata=_metadata_url(issuer))
    except OAuthError as error:
        return bearer_error(request, error, realm=issuer, resource_metadata=_metadata_url(issuer))
    except CsrfTokenError as error:
        return csrf_error(request, error)
    except DocumentError as error:
        return document_error(request, error)
    return JSONResponse(
        {"data": data}, status_code=status_code, headers={**_NO_STORE, **fresh_dpop_nonce(request, dpop_nonce(request))}
    )


async def collection(request: Request) -> Response:
    """GET lists the documents of a type; POST creates one."""
    documents = document_service(request)
    doctype = request.path_params["doctype"]
    if request.method == "POST":

        async def create(principal: Principal) -> Any:
            return await documents.create_document(principal, doctype, await _body(request))

        return await _answer(request, create)
    params = dict(request.query_params)
    return await _answer(request, lambda principal: documents.list_documents(principal, doctype, params))


async def resource(request: Request) -> Response:
    """GET reads one document, PUT merges changes into it, DELETE removes it."""
    documents = document_service(request)
    doctype, name = request.path_params["doctype"], request.path_params["name"]
    if request.method == "PUT":

        async def update(principal: Principal) -> Any:
            return await documents.update_document(principal, doctype, name, await _body(request))

        return await _answer(request, update)
    if request.method == "DELETE":

        async def remove(principal: Principal) -> str:
            await documents.delete_document(principal, doctype, name)
            return "ok"

        return await _answer(request, remove, status_code=202)
    return await _answer(request, lambda principal: documents.get_document(principal, doctype, name))
