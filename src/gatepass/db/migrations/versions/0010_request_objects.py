"""Request objects (RFC 9101) and client profiles (FAPI 2.0).

A client may be held to signed request objects, with one alg, and to a security profile as a whole; a
pushed request remembers whether it came signed.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(
            sa.Column("require_signed_request_object", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("request_object_signing_alg", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("security_profile", sa.String(length=16), nullable=True))
    with op.batch_alter_table("pushed_authorization_requests") as batch:
        batch.add_column(sa.Column("is_signed", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("pushed_authorization_requests") as batch:
        batch.drop_column("is_signed")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("security_profile")
        batch.drop_column("request_object_signing_alg")
        batch.drop_column("require_signed_request_object")
