"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0).

A client's logout URI, the session id carried by codes into id_tokens, which clients took part in which
session, and the queue of logout tokens still to deliver.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatepass.db.tables

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(sa.Column("backchannel_logout_uri", sa.String(length=2048), nullable=True))
        batch.add_column(
            sa.Column("backchannel_logout_session_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("authorization_codes") as batch:
        batch.add_column(sa.Column("sid", sa.String(length=64), nullable=True))
    with op.batch_alter_table("token_grants") as batch:
        batch.add_column(sa.Column("sid", sa.String(length=64), nullable=True))
    op.create_table(
        "logout_session_clients",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("expires_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_clients.client_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sid", "client_id"),
    )
    op.create_index(op.f("ix_logout_session_clients_user_id"), "logout_session_clients", ["user_id"], unique=False)
    op.create_index(
        op.f("ix_logout_session_clients_expires_at"), "logout_session_clients", ["expires_at"], unique=False
    )
    op.create_table(
        "backchannel_logout_deliveries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.Column("claimed_until", gatepass.db.tables.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_clients.client_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_backchannel_logout_deliveries_client_id"), "backchannel_logout_deliveries", ["client_id"], unique=False
    )
    op.create_index(
        op.f("ix_backchannel_logout_deliveries_next_attempt_at"),
        "backchannel_logout_deliveries",
        ["next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_backchannel_logout_deliveries_next_attempt_at"), table_name="backchannel_logout_deliveries")
    op.drop_index(op.f("ix_backchannel_logout_deliveries_client_id"), table_name="backchannel_logout_deliveries")
    op.drop_table("backchannel_logout_deliveries")
    op.drop_index(op.f("ix_logout_session_clients_expires_at"), table_name="logout_session_clients")
    op.drop_index(op.f("ix_logout_session_clients_user_id"), table_name="logout_session_clients")
    op.drop_table("logout_session_clients")
    with op.batch_alter_table("token_grants") as batch:
        batch.drop_column("sid")
    with op.batch_alter_table("authorization_codes") as batch:
        batch.drop_column("sid")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("backchannel_logout_session_required")
        batch.drop_column("backchannel_logout_uri")
