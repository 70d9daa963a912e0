"""Clients an admin trusts to introspect others' tokens, and clients that have completed an authorization.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(sa.Column("is_resource_server", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(
            sa.Column("has_completed_authorization", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Clients that already hold grants have proven their redirect URIs with a real user.
    op.execute(
        sa.text(
            "UPDATE oauth_clients SET has_completed_authorization = :proven"
            " WHERE client_id IN (SELECT client_id FROM token_grants)"
        ).bindparams(proven=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("has_completed_authorization")
        batch.drop_column("is_resource_server")
