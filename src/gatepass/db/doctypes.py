"""Document types, their fields, role permissions and document scopes (services.stores.DocTypeStore)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, delete, literal_column, null, select, type_coerce, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gatepass.db.base import StoreBase, conflict_from
from gatepass.db.driver import DriverStatement
from gatepass.db.tables import DocField, DocPermission, DocType, DocumentScope, Role, UserRole
from gatepass.services.stores import (
    DOCUMENT_ACTIONS,
    DocFieldRecord,
    DocPermissionRecord,
    DocTypeRecord,
    DocumentAccess,
    DocumentScopeRecord,
    NotFound,
)


def _field(row: Any) -> DocFieldRecord:
    return DocFieldRecord(
        fieldname=row.fieldname,
        fieldtype=row.fieldtype,
        label=row.label,
        is_required=row.is_required,
        default=row.default_value,
        options=tuple(row.options),
    )


def _permission(doctype: str, role: str, row: Any) -> DocPermissionRecord:
    flags = (row.can_read, row.can_write, row.can_create, row.can_delete)
    actions = frozenset(action for action, allowed in zip(DOCUMENT_ACTIONS, flags, strict=True) if allowed)
    return DocPermissionRecord(doctype, role, row.if_owner, actions)


def _scope(doctype: str, row: Any) -> DocumentScopeRecord:
    return DocumentScopeRecord(row.name, doctype, tuple(row.actions), row.title, row.description)


async def _doctypes(session: AsyncSession, condition: Any = None) -> list[DocTypeRecord]:
    statement = select(DocType).order_by(DocType.name)
    if condition is not None:
        statement = statement.where(condition)
    types = list((await session.execute(statement)).scalars())
    if not types:
        return []
    field_rows = await session.execute(
        select(DocField).where(DocField.doctype_id.in_([t.id for t in types])).order_by(DocField.idx)
    )
    fields: dict[int, list[DocFieldRecord]] = {}
    for row in field_rows.scalars():
        fields.setdefault(row.doctype_id, []).append(_field(row))
    return [DocTypeRecord(t.name, tuple(fields.get(t.id, ())), t.description, t.is_builtin) for t in types]


async def _doctype_id(session: AsyncSession, name: str) -> int:
    found = (await session.execute(select(DocType.id).where(DocType.name == name))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"No document type is named {name}")
    return int(found)


_types, _fields = DocType.__table__, DocField.__table__
_permissions, _scopes = DocPermission.__table__, DocumentScope.__table__


def _access_statement() -> Any:
    """The permission check's reads in one statement: the type, its fields, its role permissions, its scopes
    and the user's roles, one row each, told apart by ``kind`` (UNION ALL: one round trip, one snapshot).

    Every part fills the same columns (texts, flags, a JSON list) with what it has; the first part's
    columns carry the types, so each value comes back converted as the column's own type would.
    """
    roles = Role.__table__
    user_roles = UserRole.__table__
    # PostgreSQL types a UNION column from its first typed part, so NULLs are cast; MariaDB casts to neither
    # BOOLEAN nor JSON, so flags travel as integers and the JSON list's NULL is typed for SQLAlchemy alone.
    no_text, no_flag = cast(null(), String), null()
    no_list = type_coerce(null(), _scopes.c.actions.type)
    by_type = _types.c.name == bindparam("doctype")

    def part(kind: str, position: Any, texts: tuple[Any, ...], flags: tuple[Any, ...], items: Any) -> Any:
        texts = (*texts, *(no_text,) * (4 - len(texts)))
        flags = (*flags, *(no_flag,) * (5 - len(flags)))
        return select(
            literal_column(f"'{kind}'", String).label("kind"),
            (literal_column("0", Integer) if position is None else position).label("position"),
            *(text.label(f"text_{n}") for n, text in enumerate(texts)),
            *(cast(flag, Integer).label(f"flag_{n}") for n, flag in enumerate(flags)),
            items.label("items"),
        )

    return union_all(
        part("type", None, (_types.c.name, _types.c.description), (_types.c.is_builtin,), no_list).where(by_type),
        part(
            "field",
            _fields.c.idx,
            (_fields.c.fieldname, _fields.c.fieldtype, _fields.c.label, _fields.c.default_value),
            (_fields.c.is_required,),
            _fields.c.options,
        )
        .join(_types, _types.c.id == _fields.c.doctype_id)
        .where(by_type),
        part(
            "permission",
            None,
            (roles.c.name,),
            (
                _permissions.c.if_owner,
                _permissions.c.can_read,
                _permissions.c.can_write,
                _permissions.c.can_create,
                _permissions.c.can_delete,
            ),
            no_list,
        )
        .join(roles, roles.c.id == _permissions.c.role_id)
        .join(_types, _types.c.id == _permissions.c.doctype_id)
        .where(by_type),
        part("scope", None, (_scopes.c.name, _scopes.c.title, _scopes.c.description), (), _scopes.c.actions)
        .join(_types, _types.c.id == _scopes.c.doctype_id)
        .where(by_type),
        part("role", None, (roles.c.name,), (), no_list)
        .join(user_roles, user_roles.c.role_id == roles.c.id)
        .where(user_roles.c.user_id == bindparam("user_id")),
    ).order_by("kind", "position", "text_0")


#: Every document request without the read cache makes it (db/driver.py runs it past SQLAlchemy).
_ACCESS = DriverStatement(_access_statement(), "permission check of a document type for a user")


def _access_from_rows(doctype: str, rows: list[Any]) -> DocumentAccess | None:
    found = next((row for row in rows if row.kind == "type"), None)
    if found is None:
        return None
    of_kind: dict[str, list[Any]] = {}
    for row in rows:
        of_kind.setdefault(row.kind, []).append(row)
    fields = tuple(
        DocFieldRecord(
            fieldname=row.text_0,
            fieldtype=row.text_1,
            label=row.text_2,
            is_required=bool(row.flag_0),
            default=row.text_3,
            options=tuple(row.items or ()),
        )
        for row in of_kind.get("field", ())
    )
    permissions = tuple(
        DocPermissionRecord(
            doctype,
            row.text_0,
            bool(row.flag_0),
            frozenset(
                action
                for action, allowed in zip(
                    DOCUMENT_ACTIONS, (row.flag_1, row.flag_2, row.flag_3, row.flag_4), strict=True
                )
                if allowed
            ),
        )
        for row in of_kind.get("permission", ())
    )
    return DocumentAccess(
        doctype=DocTypeRecord(found.text_0, fields, found.text_1, bool(found.flag_0)),
        roles=tuple(row.text_0 for row in of_kind.get("role", ())),
        permissions=permissions,
        scopes=tuple(
            DocumentScopeRecord(row.text_0, doctype, tuple(row.items or ()), row.text_1, row.text_2)
            for row in of_kind.get("scope", ())
        ),
    )


class SqlDocTypeStore(StoreBase):
    async def get_doctype(self, name: str) -> DocTypeRecord | None:
        async with self._sessions() as session:
            found = await _doctypes(session, DocType.name == name)
            return found[0] if found else None

    async def list_doctypes(self) -> list[DocTypeRecord]:
        async with self._sessions() as session:
            return await _doctypes(session)

    async def add_doctype(self, doctype: DocTypeRecord, now: datetime) -> None:
        row = DocType(
            name=doctype.name,
            description=doctype.description,
            is_builtin=doctype.is_builtin,
            created_at=now,
            updated_at=now,
        )
        async with self._sessions() as session:
            try:
                async with session.begin():
                    session.add(row)
                    await session.flush()
                    for idx, field in enumerate(doctype.fields, start=1):
                        session.add(
                            DocField(
                                doctype_id=row.id,
                                idx=idx,
                                fieldname=field.fieldname,
                                fieldtype=field.fieldtype,
                                label=field.label,
                                is_required=field.is_required,
                                default_value=field.default,
                                options=list(field.options),
                            )
                        )
            except IntegrityError as exc:
                raise conflict_from(exc, f"A document type named {doctype.name}") from None

    async def delete_doctype(self, name: str) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.execute(delete(DocType).where(DocType.name == name))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_permission(self, permission: DocPermissionRecord) -> None:
        async with self._sessions() as session, session.begin():
            doctype_id = await _doctype_id(session, permission.doctype)
            role_id = (await session.execute(select(Role.id).where(Role.name == permission.role))).scalar_one_or_none()
            if role_id is None:
                raise NotFound(f"The role '{permission.role}' does not exist")
            key = (
                DocPermission.doctype_id == doctype_id,
                DocPermission.role_id == role_id,
                DocPermission.if_owner == permission.if_owner,
            )
            row = (await session.execute(select(DocPermission).where(*key))).scalar_one_or_none()
            if not permission.actions:
                if row is not None:
                    await session.delete(row)
                return
            if row is None:
                row = DocPermission(doctype_id=doctype_id, role_id=role_id, if_owner=permission.if_owner)
                session.add(row)
            row.can_read = "read" in permission.actions
            row.can_write = "write" in permission.actions
            row.can_create = "create" in permission.actions
            row.can_delete = "delete" in permission.actions

    async def list_permissions(self, doctype: str | None = None) -> list[DocPermissionRecord]:
        async with self._sessions() as session:
            statement = (
                select(DocType.name, Role.name, DocPermission)
                .join(DocType, DocType.id == DocPermission.doctype_id)
                .join(Role, Role.id == DocPermission.role_id)
                .order_by(DocType.name, Role.name, DocPermission.if_owner)
            )
            if doctype is not None:
                statement = statement.where(DocType.name == doctype)
            return [_permission(t, r, row) for t, r, row in (await session.execute(statement))]

    async def add_scope(self, scope: DocumentScopeRecord, now: datetime) -> None:
        async with self._sessions() as session:
            try:
                async with session.begin():
                    session.add(
                        DocumentScope(
                            name=scope.name,
                            doctype_id=await _doctype_id(session, scope.doctype),
                            actions=list(scope.actions),
                            title=scope.title,
                            description=scope.description,
                            created_at=now,
                        )
                    )
            except IntegrityError as exc:
                raise conflict_from(exc, f"A document scope named {scope.name}") from None

    async def list_scopes(self, names: Iterable[str] | None = None) -> list[DocumentScopeRecord]:
        async with self._sessions() as session:
            statement = (
                select(DocType.name, DocumentScope)
                .join(DocType, DocType.id == DocumentScope.doctype_id)
                .order_by(DocumentScope.name)
            )
            if names is not None:
                statement = statement.where(DocumentScope.name.in_(list(names)))
            return [_scope(doctype, row) for doctype, row in (await session.execute(statement))]

    async def delete_scope(self, name: str) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.execute(delete(DocumentScope).where(DocumentScope.name == name))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def get_access(self, doctype: str, user_id: int) -> DocumentAccess | None:
        return await self._cache.get(("document_access", doctype, user_id), lambda: self._load_access(doctype, user_id))

    async def _load_access(self, doctype: str, user_id: int) -> DocumentAccess | None:
        """The type, the user's roles, the type's permission rows and scopes: one statement."""
        return _access_from_rows(doctype, await self._read_all(_ACCESS, {"doctype": doctype, "user_id": user_id}))
