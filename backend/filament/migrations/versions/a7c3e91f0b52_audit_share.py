"""audit share: items drawn at random for held-out metrics

Revision ID: a7c3e91f0b52
Revises: b7d41e0c9a11
Create Date: 2026-12-01 22:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "a7c3e91f0b52"
down_revision = "b7d41e0c9a11"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("audit_share", sa.Float(), nullable=False, server_default="0.1")
        )
        batch_op.add_column(
            sa.Column("audit_share_later", sa.Float(), nullable=False, server_default="0.05")
        )
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("audit", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_column("audit")
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_column("audit_share_later")
        batch_op.drop_column("audit_share")
