"""Pairwise subject identifiers (OpenID Connect Core section 8): a client's subject type, its sector
identifier URI, and the sector its pairwise subs are made for.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(sa.Column("subject_type", sa.String(length=16), nullable=False, server_default="public"))
        batch.add_column(sa.Column("sector_identifier_uri", sa.String(length=2048), nullable=True))
        batch.add_column(sa.Column("pairwise_sector", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("pairwise_sector")
        batch.drop_column("sector_identifier_uri")
        batch.drop_column("subject_type")
