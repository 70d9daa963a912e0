"""The OpenAPI 3.0 document of the document API, built from the live document types and scopes.

One path pair per document type, so each type's fields appear as a schema with their types,
required flags and Select options. The security scheme is OAuth 2.0 authorization code against
this issuer (PKCE S256 is required of every client: RFC 9700 §2.1.1), beside Frappe's API keys.
https://spec.openapis.org/oas/v3.0.3
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from gatepass.services.document_access import ALL_SCOPE, covering_scopes
from gatepass.services.document_fields import DATA_MAX_LENGTH, INT_MAX, INT_MIN, TEXT_MAX_LENGTH
from gatepass.services.stores import DocFieldRecord, DocTypeRecord, DocumentAccess, DocumentScopeRecord

_ACTION_OF = {"get": "read", "post": "create", "put": "write", "delete": "delete"}
_STANDARD: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 140, "pattern": "^[^/\\x00-\\x1f ]([^/\\x00-\\x1f]*[^/\\x00-\\x1f ])?$"},
    "owner": {"type": "string", "description": "Email of the user who created it."},
    "creation": {"type": "string", "description": "UTC, as YYYY-MM-DD HH:MM:SS.ffffff"},
    "modified": {"type": "string", "description": "UTC; send it back on PUT to refuse lost updates."},
    "modified_by": {"type": "string", "nullable": True},
    "docstatus": {"type": "integer"},
    "idx": {"type": "integer"},
}


def _schema_of(field: DocFieldRecord) -> dict[str, Any]:
    schema: dict[str, Any]
    if field.fieldtype == "Int":
        schema = {"type": "integer", "minimum": INT_MIN, "maximum": INT_MAX}
    elif field.fieldtype == "Float":
        schema = {"type": "number"}
    elif field.fieldtype == "Check":
        schema = {"type": "integer", "enum": [0, 1]}
    elif field.fieldtype == "Select":
        schema = {"type": "string", "enum": list(field.options)}
    elif field.fieldtype == "Date":
        schema = {"type": "string", "format": "date"}
    elif field.fieldtype == "Datetime":
        schema = {
            "type": "string",
            "description": "YYYY-MM-DD HH:MM:SS (UTC)",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}$",
        }
    elif field.fieldtype == "Link":
        schema = {"type": "string", "description": f"The name of a {field.options[0]} document"}
    else:
        limit = TEXT_MAX_LENGTH if field.fieldtype == "Text" else DATA_MAX_LENGTH
        schema = {"type": "string", "maxLength": limit}
    schema["title"] = field.label or field.fieldname
    if not field.is_required:
        schema["nullable"] = True
    return schema


def _schemas(doctype: DocTypeRecord) -> dict[str, Any]:
    fields = {field.fieldname: _schema_of(field) for field in doctype.fields}
    required = [f.fieldname for f in doctype.fields if f.is_required and f.default is None]
    document = {
        "type": "object",
        "properties": {**_STANDARD, **fields, "doctype": {"type": "string", "enum": [doctype.name]}},
    }
    new = {"type": "object", "properties": {"name": _STANDARD["name"], **fields}}
    if required:
        new["required"] = required
    changes = {"type": "object", "properties": {**fields, "modified": _STANDARD["modified"]}}
    return {_key(doctype): document, f"{_key(doctype)}_new": new, f"{_key(doctype)}_changes": changes}


def _key(doctype: DocTypeRecord) -> str:
    return "".join(character if character.isalnum() else "_" for character in doctype.name)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _data(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": {"type": "object", "properties": {"data": schema}}}}


def _errors(*statuses: str) -> dict[str, Any]:
    texts = {
        "401": ("No credentials, or an invalid, expired or revoked token (WWW-Authenticate says which)", "BearerError"),
        "403": ("insufficient_scope (token scope) or PermissionError (roles)", "Error"),
        "404": ("No such document type or document, or not yours", "FrappeError"),
        "409": ("A document with this name exists", "FrappeError"),
        "417": ("Validation failed; `field` names the field or parameter", "FrappeError"),
    }
    answers: dict[str, Any] = {
        "400": {
            "description": "A malformed Authorization header (invalid_request) or, with a session, no CSRF header",
            "content": {"application/json": {"schema": _ref("Error")}},
        },
        **{
            status: {
                "description": texts[status][0],
                "content": {"application/json": {"schema": _ref(texts[status][1])}},
            }
            for status in statuses
        },
    }
    if "409" in statuses or "417" in statuses:
        answers["413"] = {"description": "The body is larger than 1 MiB"}
    return answers


def _security(doctype: DocTypeRecord, scopes: list[DocumentScopeRecord], action: str) -> list[dict[str, list[str]]]:
    access = DocumentAccess(doctype, (), (), tuple(scopes))
    alternatives = [[ALL_SCOPE], *([scope.name] for scope in covering_scopes(access, action))]
    return [*({"oauth2": names} for names in alternatives), {"frappeToken": []}]


def _operations(doctype: DocTypeRecord, scopes: list[DocumentScopeRecord]) -> dict[str, Any]:
    key, tag = _key(doctype), doctype.name
    string = {"schema": {"type": "string"}}
    list_params = [
        {"name": "fields", "in": "query", "description": 'JSON list of fields, e.g. ["name","status"] or ["*"]'},
        {"name": "filters", "in": "query", "description": 'JSON: {"status": "Open"} or [["status","=","Open"]]'},
        {"name": "or_filters", "in": "query", "description": "Like filters, any one must hold"},
        {"name": "order_by", "in": "query", "description": "e.g. modified desc"},
    ]
    paging = [
        {"name": "limit_start", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {
            "name": "limit_page_length",
            "in": "query",
            "schema": {"type": "integer", "minimum": 0},
            "description": "default 20; 0: all",
        },
    ]
    name_param = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}]

    def operation(method: str, summary: str, **extra: Any) -> dict[str, Any]:
        return {
            "tags": [tag],
            "summary": summary,
            "operationId": f"{method}_{key}",
            "security": _security(doctype, scopes, _ACTION_OF[method.split("_")[0]]),
            **extra,
        }

    collection = {
        "get": operation(
            "get_list",
            f"List {doctype.name} documents you may read",
            parameters=[*({**p, **string} for p in list_params), *paging],
            responses={
                "200": {
                    "description": "The page of documents",
                    "content": _data({"type": "array", "items": {"type": "object"}}),
                },
                **_errors("401", "403", "404", "417"),
            },
        ),
        "post": operation(
            "post",
            f"Create a {doctype.name}",
            requestBody={"required": True, "content": {"application/json": {"schema": _ref(f"{key}_new")}}},
            responses={
                "200": {"description": "The new document", "content": _data(_ref(key))},
                **_errors("401", "403", "404", "409", "417"),
            },
        ),
    }
    one = {
        "parameters": name_param,
        "get": operation(
            "get",
            f"Read one {doctype.name}",
            responses={
                "200": {"description": "The document", "content": _data(_ref(key))},
                **_errors("401", "403", "404"),
            },
        ),
        "put": operation(
            "put",
            f"Change fields of a {doctype.name}",
            requestBody={"required": True, "content": {"application/json": {"schema": _ref(f"{key}_changes")}}},
            responses={
                "200": {"description": "The saved document", "content": _data(_ref(key))},
                **_errors("401", "403", "404", "417"),
            },
        ),
        "delete": operation(
            "delete",
            f"Delete a {doctype.name}",
            responses={
                "202": {"description": "Deleted", "content": _data({"type": "string", "enum": ["ok"]})},
                **_errors("401", "403", "404", "417"),
            },
        ),
    }
    return {f"/api/resource/{quote(doctype.name)}": collection, f"/api/resource/{quote(doctype.name)}/{{name}}": one}


def _components(issuer: str, doctypes: list[DocTypeRecord], scopes: list[DocumentScopeRecord]) -> dict[str, Any]:
    oauth_scopes = {ALL_SCOPE: "Everything you may do yourself", **{s.name: s.title for s in scopes}}
    schemas: dict[str, Any] = {
        "BearerError": {
            "type": "object",
            "description": "RFC 6750 §3.1; the same words are in WWW-Authenticate",
            "properties": {
                "error": {"type": "string"},
                "error_description": {"type": "string"},
                "scope": {"type": "string"},
            },
        },
        "FrappeError": {
            "type": "object",
            "properties": {
                "exc_type": {"type": "string", "example": "ValidationError"},
                "error": {"type": "string", "example": "validation_error"},
                "error_description": {"type": "string"},
                "field": {"type": "string"},
                "_error_message": {"type": "string"},
                "_server_messages": {"type": "string", "description": "JSON list of JSON messages, as Frappe"},
            },
        },
        "Error": {"anyOf": [_ref("BearerError"), _ref("FrappeError")]},
    }
    for doctype in doctypes:
        schemas.update(_schemas(doctype))
    return {
        "securitySchemes": {
            "oauth2": {
                "type": "oauth2",
                "description": "Authorization code with PKCE (S256), as every Gatepass client must use",
                "flows": {
                    "authorizationCode": {
                        "authorizationUrl": f"{issuer}/oauth/authorize",
                        "tokenUrl": f"{issuer}/oauth/token",
                        "refreshUrl": f"{issuer}/oauth/token",
                        "scopes": oauth_scopes,
                    }
                },
            },
            "frappeToken": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "Frappe API key: token <api_key>:<api_secret> (gatepass user api-key EMAIL)",
            },
        },
        "schemas": schemas,
    }


def build_openapi(issuer: str, doctypes: list[DocTypeRecord], scopes: list[DocumentScopeRecord]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for doctype in doctypes:
        paths.update(_operations(doctype, [s for s in scopes if s.doctype == doctype.name]))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Gatepass document API",
            "version": "1",
            "description": "Frappe-compatible /api/resource. A token acts as its user, limited by its scopes: "
            "the scope is checked first (403 insufficient_scope), then the user's roles (403 PermissionError).",
        },
        "servers": [{"url": issuer}],
        "paths": paths,
        "components": _components(issuer, doctypes, scopes),
    }
