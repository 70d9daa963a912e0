"""Dynamic client registration (RFC 7591/7592) and CORS origins per client.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatepass.db.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(
            sa.Column("is_dynamically_registered", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("registration_access_token_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("contacts", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("allowed_origins", sa.JSON(), nullable=True))
    op.create_table(
        "initial_access_tokens",
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=280), nullable=False),
        sa.Column("created_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.Column("expires_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.Column("uses_left", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("token_digest"),
    )


def downgrade() -> None:
    op.drop_table("initial_access_tokens")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("allowed_origins")
        batch.drop_column("contacts")
        batch.drop_column("registration_access_token_digest")
        batch.drop_column("is_dynamically_registered")
