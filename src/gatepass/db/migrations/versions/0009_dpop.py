"""DPoP: sender-constrained tokens (RFC 9449).

Clients that must bind their access tokens, the key a code or a token is bound to, and the proofs used.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatepass.db.tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(sa.Column("dpop_bound_access_tokens", sa.Boolean(), nullable=False, server_default=sa.false()))
    for table in ("authorization_codes", "access_tokens", "refresh_tokens"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("dpop_jkt", sa.String(length=64), nullable=True))
    op.create_table(
        "used_dpop_proofs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("proof_digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("proof_digest"),
    )
    op.create_index(op.f("ix_used_dpop_proofs_expires_at"), "used_dpop_proofs", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_used_dpop_proofs_expires_at"), table_name="used_dpop_proofs")
    op.drop_table("used_dpop_proofs")
    for table in ("refresh_tokens", "access_tokens", "authorization_codes"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("dpop_jkt")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("dpop_bound_access_tokens")
