"""reviewer role: resolves conflicts, sees agreement and every annotator's figures

Revision ID: c4d8e2f1a9b0
Revises: a7c3e91f0b52
Create Date: 2026-12-02 19:40:00.000000
"""

from alembic import op

revision = "c4d8e2f1a9b0"
down_revision = "a7c3e91f0b52"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostgreSQL keeps roles in a native enum type; SQLite stores the plain string
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'reviewer' BEFORE 'annotator'")


def downgrade() -> None:
    # PostgreSQL cannot drop an enum value; reviewers become annotators, the value stays unused
    op.execute("UPDATE projectmember SET role = 'annotator' WHERE role = 'reviewer'")
