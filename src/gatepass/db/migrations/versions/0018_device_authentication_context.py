"""Device authorizations keep how the approving user logged in (amr, sid, auth_time).

``auth_time`` exists since 0007; from now on it holds the approving session's login time, not the approval's.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("device_authorizations") as batch:
        batch.add_column(sa.Column("sid", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("amr", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("device_authorizations") as batch:
        batch.drop_column("amr")
        batch.drop_column("sid")
