"""resolutions: a reviewer's decision on an item whose annotators disagree

Revision ID: e5b1c7d94a20
Revises: d2f6a8c3e5b7
Create Date: 2026-12-03 10:00:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "e5b1c7d94a20"
down_revision = "d2f6a8c3e5b7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resolution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("source", sa.Enum("review", name="resolutionsource"), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id"),
    )
    with op.batch_alter_table("resolution", schema=None) as batch_op:
        batch_op.create_index("ix_resolution_project_id", ["project_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("resolution", schema=None) as batch_op:
        batch_op.drop_index("ix_resolution_project_id")
    op.drop_table("resolution")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TYPE IF EXISTS resolutionsource")
