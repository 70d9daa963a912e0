"""Document types, their fields, role permissions and document scopes (services.stores.DocTypeStore)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select
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
_named = _types.c.name == bindparam("doctype")

# The reads of the permission check, as named statements for the driver (db/driver.py): on PostgreSQL
# and MariaDB without the read cache, every document request makes them.
_TYPE_BY_NAME = DriverStatement(
    select(_types.c.name, _types.c.description, _types.c.is_builtin).where(_named), "document type by name"
)
_FIELDS_OF_TYPE = DriverStatement(
    select(_fields).join(_types, _types.c.id == _fields.c.doctype_id).where(_named).order_by(_fields.c.idx),
    "fields of a document type",
)
_ROLES_OF_USER = DriverStatement(
    select(Role.__table__.c.name)
    .join(UserRole.__table__, UserRole.__table__.c.role_id == Role.__table__.c.id)
    .where(UserRole.__table__.c.user_id == bindparam("user_id")),
    "roles of a user",
)
_PERMISSIONS_OF_TYPE = DriverStatement(
    select(Role.__table__.c.name.label("role_name"), _permissions)
    .join(Role.__table__, Role.__table__.c.id == _permissions.c.role_id)
    .join(_types, _types.c.id == _permissions.c.doctype_id)
    .where(_named),
    "role permissions of a document type",
)
_SCOPES_OF_TYPE = DriverStatement(
    select(_scopes).join(_types, _types.c.id == _scopes.c.doctype_id).where(_named), "scopes of a document type"
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
        """The type, the user's roles, the type's permission rows and scopes, read in one session."""
        if self._driver_pool is not None:
            return await self._load_access_on_driver(doctype, user_id)
        async with self._sessions() as session:
            found = await _doctypes(session, DocType.name == doctype)
            if not found:
                return None
            roles = await session.execute(
                select(Role.name).join(UserRole, UserRole.role_id == Role.id).where(UserRole.user_id == user_id)
            )
            permissions = await session.execute(
                select(Role.name, DocPermission)
                .join(Role, Role.id == DocPermission.role_id)
                .join(DocType, DocType.id == DocPermission.doctype_id)
                .where(DocType.name == doctype)
            )
            scopes = await session.execute(
                select(DocumentScope)
                .join(DocType, DocType.id == DocumentScope.doctype_id)
                .where(DocType.name == doctype)
            )
            return DocumentAccess(
                doctype=found[0],
                roles=tuple(roles.scalars()),
                permissions=tuple(_permission(doctype, role, row) for role, row in permissions),
                scopes=tuple(_scope(doctype, row) for row in scopes.scalars()),
            )

    async def _load_access_on_driver(self, doctype: str, user_id: int) -> DocumentAccess | None:
        """The same reads as _load_access, each one round trip on the driver (no transaction around them:
        a permission changed between two of them is seen on the next request, as with the read cache)."""
        pool = self._driver_pool
        assert pool is not None
        named = {"doctype": doctype}
        found = await _TYPE_BY_NAME.fetch_one(pool, named)
        if found is None:
            return None
        fields = await _FIELDS_OF_TYPE.fetch_all(pool, named)
        roles = await _ROLES_OF_USER.fetch_all(pool, {"user_id": user_id})
        permissions = await _PERMISSIONS_OF_TYPE.fetch_all(pool, named)
        scopes = await _SCOPES_OF_TYPE.fetch_all(pool, named)
        return DocumentAccess(
            doctype=DocTypeRecord(
                found.name, tuple(_field(row) for row in fields), found.description, found.is_builtin
            ),
            roles=tuple(row.name for row in roles),
            permissions=tuple(_permission(doctype, row.role_name, row) for row in permissions),
            scopes=tuple(_scope(doctype, row) for row in scopes),
        )
