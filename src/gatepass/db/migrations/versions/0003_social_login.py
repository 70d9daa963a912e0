"""social login: upstream providers, external identities, login attempts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatepass.db.tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "login_providers",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=140), nullable=False),
        sa.Column("preset", sa.String(length=16), nullable=False),
        sa.Column("issuer", sa.String(length=2048), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("allow_signup", sa.Boolean(), nullable=False),
        sa.Column("allow_unverified_email", sa.Boolean(), nullable=False),
        sa.Column("default_roles", sa.JSON(), nullable=False),
        sa.Column("role_map", sa.JSON(), nullable=False),
        sa.Column("role_sync", sa.String(length=16), nullable=False),
        sa.Column("created_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "external_identities",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("provider_id", _ID, nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("created_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.Column("last_login_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["provider_id"], ["login_providers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider_id", "subject"),
    )
    op.create_index(op.f("ix_external_identities_user_id"), "external_identities", ["user_id"], unique=False)
    op.create_table(
        "social_login_attempts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("state_digest", sa.String(length=64), nullable=False),
        sa.Column("provider_name", sa.String(length=64), nullable=False),
        sa.Column("browser_digest", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier_encrypted", sa.Text(), nullable=False),
        sa.Column("next_url", sa.String(length=2048), nullable=False),
        sa.Column("created_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.Column("expires_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.Column("consumed_at", gatepass.db.tables.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("state_digest"),
    )
    op.create_index(op.f("ix_social_login_attempts_expires_at"), "social_login_attempts", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_social_login_attempts_expires_at"), table_name="social_login_attempts")
    op.drop_table("social_login_attempts")
    op.drop_index(op.f("ix_external_identities_user_id"), table_name="external_identities")
    op.drop_table("external_identities")
    op.drop_table("login_providers")
