"""Engine and sessions. SQLite gets WAL and a busy timeout so API and worker can share the file."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

from filament.core.settings import get_settings


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # psycopg prepares a statement after 5 runs, and PostgreSQL then may switch to a generic
    # plan chosen while the table was small: a content-hash lookup during a 100k-row ingest
    # went from 2 ms to 300 ms that way. Custom plans keep the savings of preparing.
    return create_engine(
        url,
        pool_size=20,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args={"options": "-c plan_cache_mode=force_custom_plan"},
    )


def refresh_statistics(engine: Engine, table: str) -> None:
    """After a bulk insert on PostgreSQL: planner statistics, and a visibility map so that
    paging by id reads the index alone (without them a page of a fresh 100k-item project sorted
    every row of it). Autovacuum gets there too, minutes later. SQLite needs neither."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().resolved_database_url)


def database_answers() -> bool:
    """Whether the database answers a trivial query now (readiness, and a job deciding whether
    an error was the database going away)."""
    try:
        with get_engine().connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return True
    except Exception:  # any failure to answer means "not now"; the callers say which
        return False


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session for code outside a request (jobs, CLI)."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session
