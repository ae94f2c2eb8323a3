"""Alembic migrations, applied automatically at start (`filament.db.migrate.upgrade`)."""
