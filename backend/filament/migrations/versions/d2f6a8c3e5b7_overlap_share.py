"""overlap share: a random sample of items gets a second annotator

Revision ID: d2f6a8c3e5b7
Revises: c4d8e2f1a9b0
Create Date: 2026-12-02 19:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "d2f6a8c3e5b7"
down_revision = "c4d8e2f1a9b0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("overlap_share", sa.Float(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_column("overlap_share")
