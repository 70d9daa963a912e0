"""Second factors: TOTP, recovery codes, and how each login session and code was authenticated (amr).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatepass.db.tables

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "totp_factors",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.Column("created_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.Column("used_at", gatepass.db.tables.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_digest"),
    )
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"], unique=False)
    with op.batch_alter_table("login_sessions") as batch:
        batch.add_column(sa.Column("amr", sa.String(length=64), nullable=True))
    with op.batch_alter_table("authorization_codes") as batch:
        batch.add_column(sa.Column("amr", sa.String(length=64), nullable=True))
    with op.batch_alter_table("token_grants") as batch:
        batch.add_column(sa.Column("amr", sa.String(length=64), nullable=True))
    with op.batch_alter_table("login_providers") as batch:
        batch.add_column(sa.Column("trust_amr", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("login_providers") as batch:
        batch.drop_column("trust_amr")
    with op.batch_alter_table("token_grants") as batch:
        batch.drop_column("amr")
    with op.batch_alter_table("authorization_codes") as batch:
        batch.drop_column("amr")
    with op.batch_alter_table("login_sessions") as batch:
        batch.drop_column("amr")
    op.drop_index(op.f("ix_recovery_codes_user_id"), table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_table("totp_factors")
