"""Documents of every type in one table, fields in one JSON column (services.stores.DocumentStore).

Filters and sorting on fields read the JSON value with the backend's own JSON functions
(``JSON_EXTRACT`` on SQLite and MariaDB, ``->>`` on PostgreSQL), cast as the field type says.
Missing values are SQL NULL on all three backends because empty values are never stored.
Updates are compare-and-set on ``modified``, so two writers never silently overwrite each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    delete,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from gatepass.db.base import StoreBase, conflict_from, single_statement
from gatepass.db.driver import ComposedStatements, DriverStatement
from gatepass.db.tables import DocField, DocType, Document, User
from gatepass.services.stores import Condition, DocumentQuery, DocumentRecord, SortKey

_Owner = aliased(User, name="owner_user")
_Modifier = aliased(User, name="modifier_user")
_COLUMNS = (
    Document.name,
    Document.owner_id,
    _Owner.email,
    _Modifier.email,
    Document.creation,
    Document.modified,
    Document.data,
)


def _joined(*columns: Any) -> Any:
    """``columns`` of documents with their type and the users who own and last changed them (filters may name
    the owner's or the modifier's email)."""
    return (
        select(*columns)
        .select_from(Document)
        .join(DocType, DocType.id == Document.doctype_id)
        .join(_Owner, _Owner.id == Document.owner_id)
        .outerjoin(_Modifier, _Modifier.id == Document.modified_by_id)
    )


def _select(doctype: str) -> Any:
    return _joined(*_COLUMNS, DocType.name).where(DocType.name == doctype)


# Built once: composing this join with ORM aliases costs more CPU than the query itself.
_DOCUMENT_BY_NAME = _joined(*_COLUMNS, DocType.name).where(
    DocType.name == bindparam("doctype"), Document.name == bindparam("name")
)
_DOCUMENT_BY_NAME_ON_DRIVER = DriverStatement(_DOCUMENT_BY_NAME, "document by name")
_DOCUMENT_LISTS_ON_DRIVER = ComposedStatements(_DOCUMENT_BY_NAME.exported_columns, "document list")


_DOCUMENT_COUNTS_ON_DRIVER = ComposedStatements(select(func.count()).exported_columns, "document count")


def _filtered(statement: Any, query: DocumentQuery) -> Any:
    """``statement`` narrowed to the query's owner and filters."""
    if query.owner_id is not None:
        statement = statement.where(Document.owner_id == query.owner_id)
    for condition in query.conditions:
        statement = statement.where(_condition(condition))
    if query.any_conditions:
        statement = statement.where(or_(*(_condition(condition) for condition in query.any_conditions)))
    return statement


def _record(row: Any) -> DocumentRecord:
    name, owner_id, owner, modified_by, creation, modified, data, doctype = row
    return DocumentRecord(doctype, name, owner_id, owner, modified_by, creation, modified, dict(data or {}))


def _doctype_id(doctype: str) -> Any:
    return select(DocType.id).where(DocType.name == doctype).scalar_subquery()


def _column(field: str, kind: str) -> Any:
    """The SQL expression for a standard column or a JSON field, cast as its kind."""
    standard: dict[str, Any] = {
        "name": Document.name,
        "owner": _Owner.email,
        "modified_by": _Modifier.email,
        "creation": Document.creation,
        "modified": Document.modified,
        "docstatus": literal(0, Integer),
        "idx": literal(0, Integer),
    }
    if field in standard:
        return standard[field]
    element = Document.data[field]
    if kind == "integer":
        return element.as_integer()
    if kind == "float":
        return element.as_float()
    return element.as_string()


def _is_set(column: Any, kind: str) -> ColumnElement[bool]:
    if kind == "text":
        return and_(column.is_not(None), column != "")
    return column.is_not(None)  # type: ignore[no-any-return]


def _condition(condition: Condition) -> ColumnElement[bool]:
    column = _column(condition.field, condition.kind)
    operator, value = condition.operator, condition.value
    if operator == "is":
        is_set = _is_set(column, condition.kind)
        return is_set if value == "set" else not_(is_set)
    if operator in ("like", "not like"):
        # Case-insensitive on every backend, as Frappe is on MariaDB.
        matches = cast(column, String).ilike(value)
        return matches if operator == "like" else or_(column.is_(None), not_(matches))
    if operator == "in":
        return column.in_(list(value)) if value else false()
    if operator == "not in":
        return or_(column.is_(None), column.not_in(list(value))) if value else true()
    if operator == "!=":
        return or_(column.is_(None), column != value)
    compared: ColumnElement[bool] = {
        "=": column.__eq__,
        "<": column.__lt__,
        "<=": column.__le__,
        ">": column.__gt__,
        ">=": column.__ge__,
    }[operator](value)
    return compared


def _order(key: SortKey) -> list[Any]:
    column = _column(key.field, key.kind)
    if key.field in ("name", "owner", "creation", "modified", "docstatus", "idx"):
        return [column.desc() if key.is_descending else column.asc()]
    # Missing values sort as the smallest on every backend (PostgreSQL alone would put them last).
    is_missing = column.is_(None)
    if key.is_descending:
        return [is_missing.asc(), column.desc()]
    return [is_missing.desc(), column.asc()]


class SqlDocumentStore(StoreBase):
    async def get_document(self, doctype: str, name: str) -> DocumentRecord | None:
        row = await self._read_one(_DOCUMENT_BY_NAME_ON_DRIVER, {"doctype": doctype, "name": name})
        return None if row is None else _record(row)

    async def list_documents(self, query: DocumentQuery) -> list[DocumentRecord]:
        statement = _filtered(_select(query.doctype), query)
        for key in query.order_by:
            statement = statement.order_by(*_order(key))
        is_descending = bool(query.order_by) and query.order_by[0].is_descending
        statement = statement.order_by(Document.id.desc() if is_descending else Document.id.asc())
        if query.offset:
            statement = statement.offset(query.offset)
        if query.limit is not None:
            statement = statement.limit(query.limit)
        elif query.offset:
            statement = statement.limit(2**62)  # MariaDB and SQLite need a LIMIT to take an OFFSET
        if self._driver_pool is not None:
            # One round trip on every backend (MariaDB's engine connections would add a COMMIT).
            return [_record(row) for row in await _DOCUMENT_LISTS_ON_DRIVER.fetch_all(self._driver_pool, statement)]
        async with single_statement(self._engine) as connection:
            return [_record(row) for row in await connection.execute(statement)]

    async def count_matching(self, query: DocumentQuery) -> int:
        """How many documents the query's filters (and owner) match; its order and page do not count."""
        statement = _filtered(_joined(func.count()).where(DocType.name == query.doctype), query)
        if self._driver_pool is not None:
            [(count,)] = await _DOCUMENT_COUNTS_ON_DRIVER.fetch_all(self._driver_pool, statement)
            return int(count)
        async with single_statement(self._engine) as connection:
            return int((await connection.execute(statement)).scalar_one())

    async def add_document(
        self, doctype: str, name: str, owner_id: int, data: dict[str, Any], now: datetime
    ) -> DocumentRecord:
        async with self._sessions() as session:
            try:
                async with session.begin():
                    session.add(
                        Document(
                            doctype_id=_doctype_id(doctype),
                            name=name,
                            owner_id=owner_id,
                            modified_by_id=owner_id,
                            creation=now,
                            modified=now,
                            data=data,
                        )
                    )
            except IntegrityError as exc:
                raise conflict_from(exc, f"{doctype} {name}") from None
        found = await self.get_document(doctype, name)
        assert found is not None
        return found

    async def update_document(
        self,
        doctype: str,
        name: str,
        data: dict[str, Any],
        *,
        modified_by_id: int,
        expected_modified: datetime,
        now: datetime,
    ) -> DocumentRecord | None:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(Document)
                .where(
                    Document.doctype_id == _doctype_id(doctype),
                    Document.name == name,
                    Document.modified == expected_modified,
                )
                # Strictly later, so a writer holding the old timestamp can never match again.
                .values(
                    data=data,
                    modified=max(now, expected_modified + timedelta(microseconds=1)),
                    modified_by_id=modified_by_id,
                )
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None
        return await self.get_document(doctype, name)

    async def delete_document(self, doctype: str, name: str) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(Document).where(Document.doctype_id == _doctype_id(doctype), Document.name == name)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def count_documents(self, doctype: str) -> int:
        async with self._sessions() as session:
            counted = await session.execute(
                select(func.count()).select_from(Document).where(Document.doctype_id == _doctype_id(doctype))
            )
            return int(counted.scalar_one())

    async def find_link_to(
        self, doctype: str, name: str, *, visible: Mapping[str, int | None]
    ) -> tuple[str, str] | None:
        """A document whose Link field points at this one (Frappe refuses such deletes), among those
        ``visible`` names: per linking type, None for every document or an owner's id for theirs only."""
        async with self._sessions() as session:
            links = await session.execute(
                select(DocType.id, DocType.name, DocField.fieldname, DocField.options)
                .join(DocType, DocType.id == DocField.doctype_id)
                .where(DocField.fieldtype == "Link")
            )
            for doctype_id, linking_type, fieldname, options in links:
                if list(options) != [doctype] or linking_type not in visible:
                    continue
                statement = select(Document.name).where(
                    Document.doctype_id == doctype_id, Document.data[fieldname].as_string() == name
                )
                owner_id = visible[linking_type]
                if owner_id is not None:
                    statement = statement.where(Document.owner_id == owner_id)
                linking_name = (await session.execute(statement.limit(1))).scalar_one_or_none()
                if linking_name is not None:
                    return linking_type, linking_name
        return None
