"""team: guidelines, annotation timing, skips and the activity log

Revision ID: f3a9d2c7b164
Revises: 92a7418675c0
Create Date: 2026-12-02 21:00:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "f3a9d2c7b164"
down_revision = "92a7418675c0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("annotation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("served_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("seconds", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "corrects_suggestion", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.create_table(
        "guidelines",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("project_id"),
    )
    op.create_table(
        "skip",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("served_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_skip_project_user", "skip", ["project_id", "user_id"])
    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("target_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_activity_project_id", "activity", ["project_id", "id"])
    op.create_index("ix_activity_project_actor", "activity", ["project_id", "actor_id", "id"])
    op.create_index("ix_activity_project_action", "activity", ["project_id", "action", "id"])


def downgrade() -> None:
    op.drop_table("activity")
    op.drop_table("skip")
    op.drop_table("guidelines")
    with op.batch_alter_table("annotation", schema=None) as batch_op:
        batch_op.drop_column("corrects_suggestion")
        batch_op.drop_column("seconds")
        batch_op.drop_column("served_at")
