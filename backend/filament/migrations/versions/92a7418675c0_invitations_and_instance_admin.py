"""invitations to projects, the instance admin

Revision ID: 92a7418675c0
Revises: e5b1c7d94a20
Create Date: 2026-12-03 09:00:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "92a7418675c0"
down_revision = "e5b1c7d94a20"
branch_labels = None
depends_on = None


def _role() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    # PostgreSQL has the `role` enum type already (projectmember's); SQLite stores the string
    if op.get_bind().dialect.name == "postgresql":
        return postgresql.ENUM(name="role", create_type=False)
    return sa.Enum("owner", "reviewer", "annotator", "viewer", name="role")


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_admin", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # an instance that has accounts already: its first account is its admin
    op.execute('UPDATE "user" SET is_admin = true WHERE id = (SELECT min(id) FROM "user")')
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.create_index(
            "ix_user_one_admin",
            ["is_admin"],
            unique=True,
            sqlite_where=sa.text("is_admin"),
            postgresql_where=sa.text("is_admin"),
        )

    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("role", _role(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("invited_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("accepted_by", sa.Integer(), nullable=True),
        sa.Column("mail_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("mail_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invited_by"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["accepted_by"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index("ix_invitation_project_id", ["project_id"], unique=False)
        batch_op.create_index("ix_invitation_email", ["email"], unique=False)
        batch_op.create_index(
            "ix_invitation_pending",
            ["project_id", "email"],
            unique=True,
            sqlite_where=sa.text("accepted_at IS NULL"),
            postgresql_where=sa.text("accepted_at IS NULL"),
        )


def downgrade() -> None:
    op.drop_table("invitation")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index("ix_user_one_admin")
        batch_op.drop_column("is_admin")
