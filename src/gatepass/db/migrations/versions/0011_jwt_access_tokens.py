"""JWT access tokens (RFC 9068): a client's access token format, and the jti of each JWT revoked early.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatepass.db.tables

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(sa.Column("access_token_format", sa.String(length=8), nullable=True))
    op.create_table(
        "revoked_access_tokens",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("jti_digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("jti_digest"),
    )
    op.create_index(op.f("ix_revoked_access_tokens_expires_at"), "revoked_access_tokens", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_revoked_access_tokens_expires_at"), table_name="revoked_access_tokens")
    op.drop_table("revoked_access_tokens")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("access_token_format")
