"""Document types, their fields, role permissions and document scopes (services.stores.DocTypeStore)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gatepass.db.base import StoreBase, conflict_from
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


def _field(row: DocField) -> DocFieldRecord:
    return DocFieldRecord(
        fieldname=row.fieldname,
        fieldtype=row.fieldtype,
        label=row.label,
        is_required=row.is_required,
        default=row.default_value,
        options=tuple(row.options),
    )


def _permission(doctype: str, role: str, row: DocPermission) -> DocPermissionRecord:
    flags = (row.can_read, row.can_write, row.can_create, row.can_delete)
    actions = frozenset(action for action, allowed in zip(DOCUMENT_ACTIONS, flags, strict=True) if allowed)
    return DocPermissionRecord(doctype, role, row.if_owner, actions)


def _scope(doctype: str, row: DocumentScope) -> DocumentScopeRecord:
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
            return [_permission(t, r, row) for t, r, row in (await session.execute(statement)).tuples()]

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
            return [_scope(doctype, row) for doctype, row in (await session.execute(statement)).tuples()]

    async def delete_scope(self, name: str) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.execute(delete(DocumentScope).where(DocumentScope.name == name))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def get_access(self, doctype: str, user_id: int) -> DocumentAccess | None:
        return await self._cache.get(("document_access", doctype, user_id), lambda: self._load_access(doctype, user_id))

    async def _load_access(self, doctype: str, user_id: int) -> DocumentAccess | None:
        """The type, the user's roles, the type's permission rows and scopes, read in one session."""
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
                permissions=tuple(_permission(doctype, role, row) for role, row in permissions.tuples()),
                scopes=tuple(_scope(doctype, row) for row in scopes.scalars()),
            )
