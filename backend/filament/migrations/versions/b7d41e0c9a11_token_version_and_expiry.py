"""token version, disabled accounts, expiring API tokens

Revision ID: b7d41e0c9a11
Revises: 322210204d3c
Create Date: 2026-12-01 22:10:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = "b7d41e0c9a11"
down_revision = "322210204d3c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("apitoken", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("apitoken", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("disabled")
        batch_op.drop_column("token_version")
