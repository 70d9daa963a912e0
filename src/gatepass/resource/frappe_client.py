"""``frappe.client.*``: Frappe's RPC calls on documents, each one a call of services.documents.

The arguments are Frappe's (``frappe/client.py``): form fields or query arguments holding text or JSON
text, or the values of a JSON body. Every call goes through the document service, so a token's scopes,
the user's roles and owner-only rules apply exactly as on ``/api/resource``; there is no second check.
https://frappeframework.com/docs/user/en/api/rest#remote-method-calls
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from gatepass.protocol.params import find_unusable_text
from gatepass.protocol.rfc7493_ijson import MalformedJson, RefusedJsonValue, parse_json_text
from gatepass.protocol.values import Principal
from gatepass.resource.context import document_service
from gatepass.services.document_errors import DocumentNotFound, DocumentValidationError

#: The list parameters the document service reads, passed on as text (JSON values re-encoded).
_LIST_PARAMETERS = (
    "fields",
    "filters",
    "or_filters",
    "order_by",
    "limit_start",
    "start",
    "limit_page_length",
    "limit",
    "page_length",
)
#: How Frappe clients say ``as_dict=False`` in a query, a form or JSON.
_FALSES = (False, "0", "false", "False")

Arguments = Mapping[str, Any]
ClientCall = Callable[[Request, Principal, Arguments], Awaitable[Any]]


def _bad(name: str, message: str) -> DocumentValidationError:
    return DocumentValidationError(f"{name}: {message}", field=name)


def _checked(value: str, name: str) -> str:
    # A form field or a JSON string may hold what no name does; PostgreSQL could not even compare it.
    problem = find_unusable_text(value)
    if problem:
        raise _bad(name, f"contains {problem}, which no name holds")
    return value


def _text(args: Arguments, name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value:
        raise _bad(name, f"send {name}, as text")
    return _checked(value, name)


def _json_argument(args: Arguments, name: str) -> Any:
    """A JSON value sent as text (a form field, a query argument) or as itself (a JSON body)."""
    value = args.get(name)
    if not isinstance(value, str):
        return value
    try:
        return parse_json_text(value, is_text_checked=False)
    except (MalformedJson, RefusedJsonValue) as exc:
        raise _bad(name, f"is not valid JSON text: the text {exc}") from None


def _object_argument(args: Arguments, name: str) -> dict[str, Any]:
    value = _json_argument(args, name)
    if not isinstance(value, dict):
        raise _bad(name, "send a JSON object")
    return value


def _list_parameters(args: Arguments, **overrides: Any) -> dict[str, str]:
    """Frappe's list arguments as the text /api/resource reads: JSON values become JSON text again."""
    merged = {name: args[name] for name in _LIST_PARAMETERS if name in args and args[name] is not None}
    merged.update({name: value for name, value in overrides.items() if value is not None})
    return {name: value if isinstance(value, str) else json.dumps(value) for name, value in merged.items()}


def _name_filters(value: Any) -> Any:
    """Frappe takes a bare name where filters go (``get_safe_filters``): text that is no JSON is a name."""
    if isinstance(value, str):
        try:
            value = parse_json_text(value, is_text_checked=False)
        except (MalformedJson, RefusedJsonValue):
            return {"name": value}
    if isinstance(value, str | int):
        return {"name": str(value)}
    return value


def _fieldnames(args: Arguments) -> list[str]:
    value = args.get("fieldname", "name")
    if isinstance(value, str):
        try:
            value = parse_json_text(value, is_text_checked=False)
        except (MalformedJson, RefusedJsonValue):
            return [value]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return value
    raise _bad("fieldname", 'send a field name or a JSON list of them, e.g. ["name", "title"]')


def _doctype_of(doc: dict[str, Any], name: str) -> str:
    doctype = doc.get("doctype")
    if not isinstance(doctype, str) or not doctype:
        raise _bad(name, "the document needs its doctype")
    return _checked(doctype, name)


def _docname_of(doc: dict[str, Any], name: str) -> str:
    docname = doc.get("name")
    if not isinstance(docname, str) or not docname:
        raise _bad(name, "the document needs its name")
    return _checked(docname, name)


async def get_list(request: Request, principal: Principal, args: Arguments) -> Any:
    params = _list_parameters(args)
    return await document_service(request).list_documents(principal, _text(args, "doctype"), params)


async def get_count(request: Request, principal: Principal, args: Arguments) -> int:
    params = _list_parameters({"filters": args.get("filters")}, fields=["name"], limit_page_length=0)
    return await document_service(request).count_matching(principal, _text(args, "doctype"), params)


async def _first_row(request: Request, principal: Principal, args: Arguments, fields: list[str]) -> Any:
    filters = _name_filters(args.get("filters"))
    params = _list_parameters({"filters": filters}, fields=fields, limit_page_length=1)
    rows = await document_service(request).list_documents(principal, _text(args, "doctype"), params)
    return rows[0] if rows else None


async def get_value(request: Request, principal: Principal, args: Arguments) -> Any:
    """The named fields of the first matching document: a dict, or with ``as_dict=0`` the value(s) alone."""
    fields = _fieldnames(args)
    row = await _first_row(request, principal, args, fields)
    if args.get("as_dict", True) not in _FALSES:
        return row or {}
    if row is None:
        return None
    values = [row.get(field) for field in fields]
    return values if len(values) > 1 else values[0]


async def get(request: Request, principal: Principal, args: Arguments) -> Any:
    """One document, by ``name`` or else by the first match of ``filters``."""
    doctype = _text(args, "doctype")
    name = args.get("name")
    if not name and args.get("filters") not in (None, ""):
        row = await _first_row(request, principal, args, ["name"])
        if row is None:
            raise DocumentNotFound(f"No {doctype[:64]} found")
        name = row["name"]
    if not isinstance(name, str) or not name:
        raise _bad("name", "send the document's name, or filters that find it")
    return await document_service(request).get_document(principal, doctype, name)


async def insert(request: Request, principal: Principal, args: Arguments) -> Any:
    doc = _object_argument(args, "doc")
    return await document_service(request).create_document(principal, _doctype_of(doc, "doc"), doc)


async def save(request: Request, principal: Principal, args: Arguments) -> Any:
    doc = _object_argument(args, "doc")
    documents = document_service(request)
    return await documents.update_document(principal, _doctype_of(doc, "doc"), _docname_of(doc, "doc"), doc)


async def set_value(request: Request, principal: Principal, args: Arguments) -> Any:
    """``fieldname`` and ``value``, or ``fieldname`` as a JSON object of several values."""
    fieldname = args.get("fieldname")
    if isinstance(fieldname, dict) or (isinstance(fieldname, str) and fieldname.startswith("{")):
        values = _object_argument(args, "fieldname")
    else:
        values = {_text(args, "fieldname"): args.get("value")}
    documents = document_service(request)
    return await documents.update_document(principal, _text(args, "doctype"), _text(args, "name"), values)


async def delete(request: Request, principal: Principal, args: Arguments) -> None:
    await document_service(request).delete_document(principal, _text(args, "doctype"), _text(args, "name"))


def _not_submittable(doctype: str) -> DocumentValidationError:
    return DocumentValidationError(
        f"{doctype} is not a submittable document type: Gatepass documents have no draft, submitted or "
        "cancelled state; save the document instead"
    )


def _submit_target(args: Arguments) -> tuple[str, str]:
    # frappe-client sends the document as ``doclist``, newer clients as ``doc``.
    key = "doc" if "doc" in args else "doclist"
    doc = _object_argument(args, key)
    return _doctype_of(doc, key), _docname_of(doc, key)


async def submit(request: Request, principal: Principal, args: Arguments) -> None:
    doctype, name = _submit_target(args)
    # Who may not read it, or cannot find it, learns that first, as for any other call.
    await document_service(request).get_document(principal, doctype, name)
    raise _not_submittable(doctype)


async def cancel(request: Request, principal: Principal, args: Arguments) -> None:
    doctype = _text(args, "doctype")
    await document_service(request).get_document(principal, doctype, _text(args, "name"))
    raise _not_submittable(doctype)


@dataclass(frozen=True)
class ClientMethod:
    call: ClientCall
    #: A write takes POST only, as Frappe whitelists it (``methods=["POST"]``).
    is_write: bool


CLIENT_METHODS: dict[str, ClientMethod] = {
    "frappe.client.get_list": ClientMethod(get_list, is_write=False),
    "frappe.client.get": ClientMethod(get, is_write=False),
    "frappe.client.get_value": ClientMethod(get_value, is_write=False),
    "frappe.client.get_count": ClientMethod(get_count, is_write=False),
    "frappe.client.insert": ClientMethod(insert, is_write=True),
    "frappe.client.save": ClientMethod(save, is_write=True),
    "frappe.client.set_value": ClientMethod(set_value, is_write=True),
    "frappe.client.delete": ClientMethod(delete, is_write=True),
    "frappe.client.submit": ClientMethod(submit, is_write=True),
    "frappe.client.cancel": ClientMethod(cancel, is_write=True),
}
