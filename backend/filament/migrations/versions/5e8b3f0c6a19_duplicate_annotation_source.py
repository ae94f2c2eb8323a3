"""duplicate annotation source: labels given to an item's near-duplicates in one go

Revision ID: 5e8b3f0c6a19
Revises: f3a9d2c7b164
Create Date: 2026-12-03 18:00:00.000000
"""

from alembic import op

revision = "5e8b3f0c6a19"
down_revision = "f3a9d2c7b164"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostgreSQL keeps sources in a native enum type (by member name); SQLite stores the string
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE annotationsource ADD VALUE IF NOT EXISTS 'duplicate'")


def downgrade() -> None:
    # PostgreSQL cannot drop an enum value; such labels become typed ones, the value stays unused
    op.execute("UPDATE annotation SET source = 'human' WHERE source = 'duplicate'")
