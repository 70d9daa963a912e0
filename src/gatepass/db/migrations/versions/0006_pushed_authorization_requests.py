"""Pushed authorization requests (RFC 9126), and clients that must use them.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatepass.db.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pushed_authorization_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("reference_digest", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("created_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.Column("expires_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.Column("consumed_at", gatepass.db.tables.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_clients.client_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference_digest"),
    )
    op.create_index(
        op.f("ix_pushed_authorization_requests_expires_at"),
        "pushed_authorization_requests",
        ["expires_at"],
        unique=False,
    )
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(
            sa.Column("require_pushed_authorization_requests", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("require_pushed_authorization_requests")
    op.drop_index(op.f("ix_pushed_authorization_requests_expires_at"), table_name="pushed_authorization_requests")
    op.drop_table("pushed_authorization_requests")
