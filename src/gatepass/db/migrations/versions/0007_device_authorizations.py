"""Device authorizations (RFC 8628), and room for the device grant's URN in a grant's type.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatepass.db.tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_authorizations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("device_code_digest", sa.String(length=64), nullable=False),
        sa.Column("user_code_digest", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("resource", sa.String(length=2048), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("auth_time", gatepass.db.tables.UTCDateTime(), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("last_polled_at", gatepass.db.tables.UTCDateTime(), nullable=True),
        sa.Column("created_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.Column("expires_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_clients.client_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_code_digest"),
        sa.UniqueConstraint("user_code_digest"),
    )
    op.create_index(op.f("ix_device_authorizations_expires_at"), "device_authorizations", ["expires_at"], unique=False)
    with op.batch_alter_table("token_grants") as batch:
        batch.alter_column(
            "grant_type", existing_type=sa.String(length=32), type_=sa.String(length=64), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("token_grants") as batch:
        batch.alter_column(
            "grant_type", existing_type=sa.String(length=64), type_=sa.String(length=32), existing_nullable=False
        )
    op.drop_index(op.f("ix_device_authorizations_expires_at"), table_name="device_authorizations")
    op.drop_table("device_authorizations")
