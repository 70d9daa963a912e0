"""documents: document types, their fields, role permissions, document scopes and documents

Seeds the ToDo and Note types, and the automatic role "All" that every user holds, with
owner-only read, write, create and delete on both (as Frappe ships them).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 11:57:37.863335
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import gatepass.db.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ALL_ROLE = "All"
_SEED_TYPES: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "ToDo": (
        "A task to do, assigned to someone.",
        [
            {
                "fieldname": "status",
                "fieldtype": "Select",
                "options": ["Open", "Closed", "Cancelled"],
                "default": "Open",
            },
            {"fieldname": "priority", "fieldtype": "Select", "options": ["High", "Medium", "Low"], "default": "Medium"},
            {"fieldname": "date", "fieldtype": "Date", "label": "Due Date"},
            {"fieldname": "description", "fieldtype": "Text", "is_required": True},
            {"fieldname": "allocated_to", "fieldtype": "Data", "label": "Allocated To"},
        ],
    ),
    "Note": (
        "A note, private to its owner unless shared.",
        [
            {"fieldname": "title", "fieldtype": "Data", "is_required": True},
            {"fieldname": "public", "fieldtype": "Check", "default": "0"},
            {"fieldname": "content", "fieldtype": "Text"},
        ],
    ),
}


def _create_tables() -> None:
    utc = gatepass.db.tables.UTCDateTime
    op.create_table(
        "doc_types",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("is_builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "doc_fields",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("doctype_id", _ID, nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("fieldname", sa.String(length=64), nullable=False),
        sa.Column("fieldtype", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=140), nullable=False),
        sa.Column("is_required", sa.Boolean(), nullable=False),
        sa.Column("default_value", sa.String(length=1000), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["doctype_id"], ["doc_types.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("doctype_id", "fieldname"),
    )
    op.create_table(
        "doc_permissions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("doctype_id", _ID, nullable=False),
        sa.Column("role_id", _ID, nullable=False),
        sa.Column("if_owner", sa.Boolean(), nullable=False),
        sa.Column("can_read", sa.Boolean(), nullable=False),
        sa.Column("can_write", sa.Boolean(), nullable=False),
        sa.Column("can_create", sa.Boolean(), nullable=False),
        sa.Column("can_delete", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["doctype_id"], ["doc_types.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["role_id"], ["roles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("doctype_id", "role_id", "if_owner"),
    )
    op.create_index(op.f("ix_doc_permissions_role_id"), "doc_permissions", ["role_id"], unique=False)
    op.create_table(
        "document_scopes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("doctype_id", _ID, nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("title", sa.String(length=140), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.ForeignKeyConstraint(["doctype_id"], ["doc_types.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index(op.f("ix_document_scopes_doctype_id"), "document_scopes", ["doctype_id"], unique=False)
    op.create_table(
        "documents",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("doctype_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=140), nullable=False),
        sa.Column("owner_id", _ID, nullable=False),
        sa.Column("modified_by_id", _ID, nullable=True),
        sa.Column("creation", utc(), nullable=False),
        sa.Column("modified", utc(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["doctype_id"], ["doc_types.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["modified_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("doctype_id", "name"),
    )
    op.create_index("ix_documents_doctype_modified", "documents", ["doctype_id", "modified"], unique=False)
    op.create_index("ix_documents_doctype_owner", "documents", ["doctype_id", "owner_id"], unique=False)


def _seed() -> None:
    """Seed rows through table stubs of this revision, never through the current models."""
    now = datetime.now(UTC)
    utc = gatepass.db.tables.UTCDateTime
    bind = op.get_bind()
    roles = sa.table(
        "roles",
        sa.column("id", _ID),
        sa.column("name", sa.String),
        sa.column("is_builtin", sa.Boolean),
        sa.column("description", sa.String),
        sa.column("created_at", utc()),
    )
    doc_types = sa.table(
        "doc_types",
        sa.column("id", _ID),
        sa.column("name", sa.String),
        sa.column("description", sa.String),
        sa.column("is_builtin", sa.Boolean),
        sa.column("created_at", utc()),
        sa.column("updated_at", utc()),
    )
    doc_fields = sa.table(
        "doc_fields",
        sa.column("doctype_id", _ID),
        sa.column("idx", sa.Integer),
        sa.column("fieldname", sa.String),
        sa.column("fieldtype", sa.String),
        sa.column("label", sa.String),
        sa.column("is_required", sa.Boolean),
        sa.column("default_value", sa.String),
        sa.column("options", sa.JSON),
    )
    permissions = sa.table(
        "doc_permissions",
        sa.column("doctype_id", _ID),
        sa.column("role_id", _ID),
        sa.column("if_owner", sa.Boolean),
        sa.column("can_read", sa.Boolean),
        sa.column("can_write", sa.Boolean),
        sa.column("can_create", sa.Boolean),
        sa.column("can_delete", sa.Boolean),
    )
    role_id = bind.execute(sa.select(roles.c.id).where(roles.c.name == _ALL_ROLE)).scalar()
    if role_id is None:
        op.bulk_insert(
            roles,
            [
                {
                    "name": _ALL_ROLE,
                    "is_builtin": True,
                    "description": "Every user holds this role.",
                    "created_at": now,
                }
            ],
        )
        role_id = bind.execute(sa.select(roles.c.id).where(roles.c.name == _ALL_ROLE)).scalar_one()
    for doctype, (description, fields) in _SEED_TYPES.items():
        op.bulk_insert(
            doc_types,
            [{"name": doctype, "description": description, "is_builtin": True, "created_at": now, "updated_at": now}],
        )
        doctype_id = bind.execute(sa.select(doc_types.c.id).where(doc_types.c.name == doctype)).scalar_one()
        op.bulk_insert(
            doc_fields,
            [
                {
                    "doctype_id": doctype_id,
                    "idx": idx,
                    "fieldname": field["fieldname"],
                    "fieldtype": field["fieldtype"],
                    "label": field.get("label", field["fieldname"].replace("_", " ").title()),
                    "is_required": field.get("is_required", False),
                    "default_value": field.get("default"),
                    "options": field.get("options", []),
                }
                for idx, field in enumerate(fields, start=1)
            ],
        )
        op.bulk_insert(
            permissions,
            [
                {
                    "doctype_id": doctype_id,
                    "role_id": role_id,
                    "if_owner": True,
                    "can_read": True,
                    "can_write": True,
                    "can_create": True,
                    "can_delete": True,
                }
            ],
        )


def upgrade() -> None:
    _create_tables()
    _seed()


def downgrade() -> None:
    op.drop_index("ix_documents_doctype_owner", table_name="documents")
    op.drop_index("ix_documents_doctype_modified", table_name="documents")
    op.drop_table("documents")
    op.drop_index(op.f("ix_document_scopes_doctype_id"), table_name="document_scopes")
    op.drop_table("document_scopes")
    op.drop_index(op.f("ix_doc_permissions_role_id"), table_name="doc_permissions")
    op.drop_table("doc_permissions")
    op.drop_table("doc_fields")
    op.drop_table("doc_types")
    op.execute(sa.text("DELETE FROM roles WHERE name = 'All' AND is_builtin = :yes").bindparams(yes=True))
