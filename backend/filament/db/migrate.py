"""Apply Alembic migrations programmatically (at start, in tests, from the CLI)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def revision(url: str, message: str) -> None:
    """Autogenerate a new migration (developer use: `filament makemigration "msg"`)."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
