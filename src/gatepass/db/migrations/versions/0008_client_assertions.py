"""Client authentication with a signed JWT (RFC 7523): a client's keys and alg, and the assertions used.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatepass.db.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(sa.Column("jwks", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("jwks_uri", sa.String(length=2048), nullable=True))
        batch.add_column(sa.Column("token_endpoint_auth_signing_alg", sa.String(length=16), nullable=True))
    op.create_table(
        "used_client_assertions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("jti_digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_clients.client_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id", "jti_digest"),
    )
    op.create_index(
        op.f("ix_used_client_assertions_expires_at"), "used_client_assertions", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_used_client_assertions_expires_at"), table_name="used_client_assertions")
    op.drop_table("used_client_assertions")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("token_endpoint_auth_signing_alg")
        batch.drop_column("jwks_uri")
        batch.drop_column("jwks")
