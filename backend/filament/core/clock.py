"""The one clock: times are UTC and zone-aware everywhere in Filament."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """`moment` with its zone: SQLite gives stored times back without it, and every time
    Filament stores was written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
