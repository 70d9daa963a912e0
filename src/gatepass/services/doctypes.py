"""Defining the document API: document types and their fields, role permissions, document scopes.

Admins use these through the CLI now and the web console later. Input mistakes raise
AccountError with a message that says what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from gatepass.protocol.errors import OAuthError
from gatepass.protocol.params import parse_scope
from gatepass.services import audit
from gatepass.services.accounts import AccountError
from gatepass.services.document_fields import check_field_definition
from gatepass.services.scopes import BUILTIN_SCOPES
from gatepass.services.stores import (
    DOCUMENT_ACTIONS,
    DocFieldRecord,
    DocPermissionRecord,
    DocTypeRecord,
    DocTypeStore,
    DocumentScopeRecord,
    DocumentStore,
    NotFound,
    UserStore,
)

_DOCTYPE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9 _-]{0,63}")
_FIELD_KEYS = {"fieldname", "fieldtype", "label", "required", "reqd", "default", "options"}


def check_doctype_name(name: str) -> str:
    """The name without surrounding space, or AccountError when it cannot name a document type."""
    name = name.strip()
    if not _DOCTYPE_NAME.fullmatch(name):
        raise AccountError(
            f"'{name}': a type name starts with a letter, then letters, digits, spaces, _ or - (64 at most)",
            field="name",
        )
    return name


def parse_field_spec(spec: str) -> DocFieldRecord:
    """``name:Type[:required][:default=VALUE][:label=TEXT][:option...]`` → a field definition.

    Tokens after the type are flags (``required``), settings (``default=``, ``label=``) or options:
    the values of a Select, or the linked type of a Link.
    """
    parts = spec.split(":")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise AccountError(f"'{spec}': give a field as name:Type, e.g. status:Select:Open:Closed", field="fields")
    fieldname, fieldtype, rest = parts[0].strip(), parts[1].strip(), parts[2:]
    is_required, default, label, options = False, None, "", []
    for token in rest:
        if token == "required":
            is_required = True
        elif token.startswith("default="):
            default = token.removeprefix("default=")
        elif token.startswith("label="):
            label = token.removeprefix("label=")
        elif token:
            options.append(token)
    return DocFieldRecord(fieldname, fieldtype, label, is_required, default, tuple(options))


def fields_from_json(value: Any) -> tuple[DocFieldRecord, ...]:
    """A JSON list of ``{"fieldname", "fieldtype", "label", "required", "default", "options"}``."""
    if isinstance(value, dict):
        value = value.get("fields")
    if not isinstance(value, list):
        raise AccountError('The JSON must be a list of fields, or {"fields": [...]}', field="fields")
    fields = []
    for item in value:
        if not isinstance(item, dict) or not {"fieldname", "fieldtype"} <= item.keys() or item.keys() - _FIELD_KEYS:
            raise AccountError(
                f"Each field is an object with fieldname, fieldtype and optionally {', '.join(sorted(_FIELD_KEYS))}",
                field="fields",
            )
        options = item.get("options") or []
        if isinstance(options, str):
            options = [line for line in options.splitlines() if line.strip()]  # Frappe's newline-separated form
        default = item.get("default")
        fields.append(
            DocFieldRecord(
                fieldname=str(item["fieldname"]),
                fieldtype=str(item["fieldtype"]),
                label=str(item.get("label") or ""),
                is_required=bool(item.get("required") or item.get("reqd")),
                default=None if default is None else str(default),
                options=tuple(str(option) for option in options),
            )
        )
    return tuple(fields)


def _label(field: DocFieldRecord) -> DocFieldRecord:
    if field.label:
        return field
    return DocFieldRecord(
        field.fieldname,
        field.fieldtype,
        field.fieldname.replace("_", " ").title(),
        field.is_required,
        field.default,
        field.options,
    )


def _check_actions(actions: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [action for action in actions if action not in DOCUMENT_ACTIONS]
    if unknown:
        raise AccountError(f"Unknown action '{unknown[0]}'; use {', '.join(DOCUMENT_ACTIONS)}", field="actions")
    return tuple(action for action in DOCUMENT_ACTIONS if action in actions)


class DocTypeService:
    def __init__(
        self,
        doctypes: DocTypeStore,
        documents: DocumentStore,
        users: UserStore,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
    ) -> None:
        self._doctypes = doctypes
        self._documents = documents
        self._users = users
        self._audit = audit_log
        self._clock = clock

    # -- document types ---------------------------------------------------------------------

    async def list_doctypes(self) -> list[DocTypeRecord]:
        return await self._doctypes.list_doctypes()

    async def get_doctype(self, name: str) -> DocTypeRecord:
        found = await self._doctypes.get_doctype(name)
        if found is None:
            raise NotFound(f"No document type is named {name}")
        return found

    async def add_doctype(self, name: str, fields: tuple[DocFieldRecord, ...], description: str = "") -> DocTypeRecord:
        name = check_doctype_name(name)
        known = {doctype.name for doctype in await self._doctypes.list_doctypes()} | {name}
        seen: set[str] = set()
        for field in fields:
            check_field_definition(field, known)
            if field.fieldname in seen:
                raise AccountError(f"The field '{field.fieldname}' is listed twice", field="fields")
            seen.add(field.fieldname)
        doctype = DocTypeRecord(name, tuple(_label(field) for field in fields), description.strip()[:1000])
        await self._doctypes.add_doctype(doctype, self._clock())
        await self._audit.record("doctype.created", doctype=name)
        return doctype

    async def remove_doctype(self, name: str, *, with_documents: bool = False) -> int:
        """Delete a type with its permissions and scopes; returns how many documents went with it."""
        await self.get_doctype(name)
        for other in await self._doctypes.list_doctypes():
            linking = [f.fieldname for f in other.fields if f.fieldtype == "Link" and f.options == (name,)]
            if linking and other.name != name:
                raise AccountError(f"{other.name}.{linking[0]} links to {name}; remove that type first", field="name")
        count = await self._documents.count_documents(name)
        if count and not with_documents:
            raise AccountError(f"{name} has {count} documents; give --with-documents to delete them too", field="name")
        await self._doctypes.delete_doctype(name)
        await self._audit.record("doctype.deleted", doctype=name, documents=count)
        return count

    # -- role permissions -------------------------------------------------------------------

    async def set_permission(
        self, doctype: str, role: str, actions: tuple[str, ...], *, if_owner: bool
    ) -> DocPermissionRecord:
        """Set one permission row to exactly these actions; no actions removes the row."""
        await self.get_doctype(doctype)
        if role not in {name for name, _, _ in await self._users.list_roles()}:
            raise AccountError(f"The role '{role}' does not exist", field="role")
        permission = DocPermissionRecord(doctype, role, if_owner, frozenset(_check_actions(actions)))
        await self._doctypes.set_permission(permission)
        await self._audit.record(
            "doctype.permission_set", doctype=doctype, role=role, if_owner=if_owner, actions=sorted(actions)
        )
        return permission

    async def list_permissions(self, doctype: str | None = None) -> list[DocPermissionRecord]:
        return await self._doctypes.list_permissions(doctype)

    # -- document scopes --------------------------------------------------------------------

    async def add_scope(
        self, name: str, doctype: str, actions: tuple[str, ...], title: str, description: str = ""
    ) -> DocumentScopeRecord:
        try:
            if parse_scope(name) != (name,):
                raise AccountError(f"'{name}' is not one scope token", field="name")
        except OAuthError as exc:
            raise AccountError(exc.description, field="name") from None
        if name in BUILTIN_SCOPES or len(name) > 128:
            raise AccountError(f"'{name}' is a built-in scope name or too long; choose another", field="name")
        await self.get_doctype(doctype)
        if not actions:
            raise AccountError("A document scope needs at least one of --read --write --create --delete")
        if not title.strip() or len(title) > 140:
            raise AccountError("A document scope needs a --title of 1 to 140 characters for the consent screen")
        scope = DocumentScopeRecord(name, doctype, _check_actions(actions), title.strip(), description.strip()[:1000])
        await self._doctypes.add_scope(scope, self._clock())
        await self._audit.record("scope.created", scope=name, doctype=doctype, actions=list(scope.actions))
        return scope

    async def list_scopes(self) -> list[DocumentScopeRecord]:
        return await self._doctypes.list_scopes()

    async def remove_scope(self, name: str) -> None:
        if not await self._doctypes.delete_scope(name):
            raise NotFound(f"No document scope is named {name}")
        await self._audit.record("scope.deleted", scope=name)

    async def scope_texts(self, names: tuple[str, ...]) -> dict[str, tuple[str, str]]:
        """Title and description of the document scopes among ``names``, for the consent screen."""
        wanted = tuple(name for name in names if name not in BUILTIN_SCOPES)
        if not wanted:
            return {}
        return {scope.name: (scope.title, scope.description) for scope in await self._doctypes.list_scopes(wanted)}

    async def check_scopes_known(self, scopes: tuple[str, ...]) -> None:
        """A client may be registered only for built-in scopes and defined document scopes."""
        documented = await self.scope_texts(scopes)
        unknown = [scope for scope in scopes if scope not in BUILTIN_SCOPES and scope not in documented]
        if unknown:
            raise AccountError(
                f"The scope '{unknown[0]}' is neither built in ({', '.join(BUILTIN_SCOPES)}) "
                "nor a document scope; define it with `gatepass scope add`",
                field="scopes",
            )
