"""The document API's use cases: list, read, create, update and delete, each for one principal.

Every call runs the same steps in order: load the type with the user's roles and permissions
(one store call), check the token's scope (RFC 6750 §3.1 insufficient_scope), check the roles
(PermissionError), then touch only what the principal may see. Owner-only access turns other
users' documents into "not found", so their names are not confirmed either: not by a read, not
by a Link (a link to a document the principal cannot read is refused as if it did not exist),
not by a delete (links from documents the principal cannot read do not hold it back), and not
by a create (only a principal who may read every document of a type may choose a name, since a
taken name would otherwise confirm a document it cannot see).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from gatepass.protocol.errors import InsufficientScope
from gatepass.protocol.values import Principal
from gatepass.services.document_access import Right, check_scope, require_right, right_of
from gatepass.services.document_errors import (
    DocumentNotFound,
    DocumentPermissionError,
    DocumentValidationError,
    DuplicateEntryError,
    LinkExistsError,
    LinkValidationError,
    MandatoryError,
    TimestampMismatchError,
)
from gatepass.services.document_fields import (
    check_text,
    convert_value,
    default_of,
    document_body,
    document_row,
    parse_timestamp,
)
from gatepass.services.document_query import parse_list_request
from gatepass.services.stores import (
    Conflict,
    DocTypeRecord,
    DocTypeStore,
    DocumentAccess,
    DocumentRecord,
    DocumentStore,
)

NAME_MAX_LENGTH = 140


def _is_plausible_name(name: str) -> bool:
    if not 0 < len(name) <= NAME_MAX_LENGTH or "\x00" in name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _new_name(value: Any) -> str:
    """The name asked for in the body, or Frappe's default: a random 10-character hash."""
    if value is None or value == "":
        return secrets.token_hex(5)
    if not isinstance(value, str) or value != value.strip() or "/" in value or any(ord(c) < 32 for c in value):
        raise DocumentValidationError(
            "name: a name is text without '/', control characters or surrounding spaces", field="name"
        )
    return check_text(value, "name", max_length=NAME_MAX_LENGTH)


def _body_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise DocumentValidationError("body: send a JSON object of field values", field="body")
    return body


class DocumentService:
    def __init__(self, doctypes: DocTypeStore, documents: DocumentStore, clock: Callable[[], datetime]) -> None:
        self._doctypes = doctypes
        self._documents = documents
        self._clock = clock

    # -- the steps every call takes ---------------------------------------------------------

    async def _access(self, principal: Principal, doctype: str, action: str) -> tuple[DocumentAccess, Right]:
        access = await self._doctypes.get_access(doctype, principal.user_id) if len(doctype) <= 64 else None
        if access is None:
            raise DocumentNotFound(f"DocType {doctype[:64]} not found")
        check_scope(principal, access, action)
        return access, require_right(access, action)

    @staticmethod
    def _read_right(principal: Principal, access: DocumentAccess) -> Right:
        """What the principal may read of a type: its token's scope and its roles together."""
        try:
            check_scope(principal, access, "read")
        except InsufficientScope:
            return Right.NONE
        return right_of(access, "read")

    def _is_readable(self, principal: Principal, access: DocumentAccess, record: DocumentRecord) -> bool:
        right = self._read_right(principal, access)
        return right is Right.ALL or (right is Right.OWN and record.owner_id == principal.user_id)

    async def _is_linkable(self, principal: Principal, doctype: str, name: str) -> bool:
        """A Link may name only a document the principal can read: anything else answers as missing."""
        access = await self._doctypes.get_access(doctype, principal.user_id)
        if access is None or self._read_right(principal, access) is Right.NONE or not _is_plausible_name(name):
            return False
        record = await self._documents.get_document(doctype, name)
        return record is not None and self._is_readable(principal, access, record)

    async def _visible_links(self, principal: Principal, doctype: str) -> dict[str, int | None]:
        """Per type that links to ``doctype``: whose documents the principal can read (None: everyone's)."""
        visible: dict[str, int | None] = {}
        for linking in await self._doctypes.list_doctypes():
            if not any(field.fieldtype == "Link" and field.options == (doctype,) for field in linking.fields):
                continue
            access = await self._doctypes.get_access(linking.name, principal.user_id)
            right = self._read_right(principal, access) if access is not None else Right.NONE
            if right is not Right.NONE:
                visible[linking.name] = None if right is Right.ALL else principal.user_id
        return visible

    async def _target(
        self, principal: Principal, access: DocumentAccess, name: str, action: str, right: Right
    ) -> DocumentRecord:
        """The document to act on, when this principal may act on it."""
        doctype = access.doctype.name
        record = await self._documents.get_document(doctype, name) if _is_plausible_name(name) else None
        if record is None:
            raise DocumentNotFound(f"{doctype} {name[:NAME_MAX_LENGTH]} not found")
        if right is Right.OWN and record.owner_id != principal.user_id:
            if action != "read" and self._is_readable(principal, access, record):
                raise DocumentPermissionError(
                    f"Not permitted: your roles allow {action} only on your own {doctype} documents"
                )
            raise DocumentNotFound(f"{doctype} {name} not found")
        return record

    def _answer(self, principal: Principal, access: DocumentAccess, record: DocumentRecord) -> dict[str, Any]:
        """The saved document, in full only when the principal may also read it."""
        if self._is_readable(principal, access, record):
            return document_body(access.doctype, record)
        return {"name": record.name, "doctype": access.doctype.name}

    async def _validated(
        self,
        principal: Principal,
        doctype: DocTypeRecord,
        values: dict[str, Any],
        existing: dict[str, Any],
        *,
        is_new: bool,
    ) -> dict[str, Any]:
        """The field values to store: converted, defaulted on create, required ones present, links valid."""
        today = self._clock().date()
        data = dict(existing)
        changed: set[str] = set()
        for field in doctype.fields:
            if field.fieldname in values:
                value = convert_value(field, values[field.fieldname], today=today)
                changed.add(field.fieldname)
            elif is_new:
                value = default_of(field, today)
            else:
                continue
            if value is None:
                data.pop(field.fieldname, None)
            else:
                data[field.fieldname] = value
        for field in doctype.fields:
            if field.is_required and data.get(field.fieldname) in (None, ""):
                raise MandatoryError(
                    f"{field.fieldname}: {field.label or field.fieldname} is required", field=field.fieldname
                )
        for field in doctype.fields:
            value = data.get(field.fieldname)
            is_link = field.fieldtype == "Link" and field.fieldname in changed and isinstance(value, str)
            if is_link and not await self._is_linkable(principal, field.options[0], str(value)):
                raise LinkValidationError(
                    f"{field.fieldname}: could not find {field.options[0]} {value}", field=field.fieldname
                )
        return data

    # -- the five calls ---------------------------------------------------------------------

    async def list_documents(
        self, principal: Principal, doctype: str, params: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        access, right = await self._access(principal, doctype, "read")
        owner_id = principal.user_id if right is Right.OWN else None
        request = parse_list_request(access.doctype, params, owner_id=owner_id)
        records = await self._documents.list_documents(request.query)
        return [document_row(access.doctype, record, request.fields) for record in records]

    async def count_matching(self, principal: Principal, doctype: str, params: Mapping[str, str]) -> int:
        """How many documents of the type a list with these filters would show this principal, without listing them."""
        access, right = await self._access(principal, doctype, "read")
        owner_id = principal.user_id if right is Right.OWN else None
        return await self._documents.count_matching(parse_list_request(access.doctype, params, owner_id=owner_id).query)

    async def get_document(self, principal: Principal, doctype: str, name: str) -> dict[str, Any]:
        access, right = await self._access(principal, doctype, "read")
        record = await self._target(principal, access, name, "read", right)
        return document_body(access.doctype, record)

    async def create_document(self, principal: Principal, doctype: str, body: Any) -> dict[str, Any]:
        access, _ = await self._access(principal, doctype, "create")
        values = _body_object(body)
        name = _new_name(values.get("name"))
        if values.get("name") not in (None, "") and self._read_right(principal, access) is not Right.ALL:
            # Names are unique per type: a taken name would confirm a document this principal cannot see.
            raise DocumentValidationError(
                f"name: you can see only some {access.doctype.name} documents, so you cannot choose the name; "
                "leave name out to get a generated one",
                field="name",
            )
        data = await self._validated(principal, access.doctype, values, {}, is_new=True)
        try:
            record = await self._documents.add_document(
                access.doctype.name, name, principal.user_id, data, self._clock()
            )
        except Conflict:
            raise DuplicateEntryError(f"{access.doctype.name} {name} already exists", field="name") from None
        return self._answer(principal, access, record)

    async def update_document(self, principal: Principal, doctype: str, name: str, body: Any) -> dict[str, Any]:
        access, right = await self._access(principal, doctype, "write")
        values = _body_object(body)
        record = await self._target(principal, access, name, "write", right)
        sent_modified = values.get("modified")
        if sent_modified is not None and (
            not isinstance(sent_modified, str) or parse_timestamp(sent_modified) != record.modified
        ):
            raise TimestampMismatchError(
                f"modified: {access.doctype.name} {name} was changed after you loaded it; load it again",
                field="modified",
            )
        data = await self._validated(principal, access.doctype, values, record.data, is_new=False)
        updated = await self._documents.update_document(
            access.doctype.name,
            name,
            data,
            modified_by_id=principal.user_id,
            expected_modified=record.modified,
            now=self._clock(),
        )
        if updated is None:
            raise TimestampMismatchError(
                f"modified: {access.doctype.name} {name} was changed by another request; load it again",
                field="modified",
            )
        return self._answer(principal, access, updated)

    async def delete_document(self, principal: Principal, doctype: str, name: str) -> None:
        access, right = await self._access(principal, doctype, "delete")
        record = await self._target(principal, access, name, "delete", right)
        # Links the principal cannot see neither hold the delete back nor show in its answer.
        visible = await self._visible_links(principal, access.doctype.name)
        link = await self._documents.find_link_to(access.doctype.name, record.name, visible=visible)
        if link is not None:
            raise LinkExistsError(
                f"Cannot delete {access.doctype.name} {name}: a {link[0]} document links to it", field="name"
            )
        if not await self._documents.delete_document(access.doctype.name, record.name):
            raise DocumentNotFound(f"{access.doctype.name} {name} not found")
