"""Token exchange (RFC 8693): the admin's policies, and what each exchanged grant came from and who acts in it.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatepass.db.tables

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "token_exchange_policies",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("audience", sa.String(length=512), nullable=False),
        sa.Column("subject_token_types", sa.JSON(), nullable=False),
        sa.Column("subject_client_ids", sa.JSON(), nullable=False),
        sa.Column("actor_client_ids", sa.JSON(), nullable=False),
        sa.Column("allow_impersonation", sa.Boolean(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_clients.client_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id", "audience"),
    )
    op.create_table(
        "token_exchanges",
        sa.Column("grant_id", _ID, autoincrement=False, nullable=False),
        sa.Column("subject_token_type", sa.String(length=64), nullable=False),
        sa.Column("subject_client_id", sa.String(length=128), nullable=False),
        sa.Column("act", sa.JSON(), nullable=True),
        sa.Column("created_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["grant_id"], ["token_grants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("grant_id"),
    )


def downgrade() -> None:
    op.drop_table("token_exchanges")
    op.drop_table("token_exchange_policies")
