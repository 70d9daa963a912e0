"""Mail links (password reset, email verification) and browser sessions.

Revision ID: 0016
Revises: 0015

Existing users keep their ``is_email_verified`` as it was: an admin or the command line vouched for
those addresses when creating the accounts. Existing sessions get no device, address or last-seen
time; the account page shows them as unknown until their owners log in again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatepass.db.tables

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_sessions") as batch:
        batch.add_column(sa.Column("user_agent", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("ip", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("last_seen_at", gatepass.db.tables.UTCDateTime(), nullable=True))
    op.create_table(
        "mail_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("link_digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("created_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.Column("expires_at", gatepass.db.tables.UTCDateTime(), nullable=False),
        sa.Column("used_at", gatepass.db.tables.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("link_digest"),
    )
    op.create_index(op.f("ix_mail_links_expires_at"), "mail_links", ["expires_at"], unique=False)
    op.create_index(op.f("ix_mail_links_user_id"), "mail_links", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_mail_links_user_id"), table_name="mail_links")
    op.drop_index(op.f("ix_mail_links_expires_at"), table_name="mail_links")
    op.drop_table("mail_links")
    with op.batch_alter_table("login_sessions") as batch:
        batch.drop_column("last_seen_at")
        batch.drop_column("ip")
        batch.drop_column("user_agent")
