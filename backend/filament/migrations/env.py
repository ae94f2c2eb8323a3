from alembic import context
from sqlmodel import SQLModel

import filament.db.models  # noqa: F401  (registers the tables)
from filament.db.session import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url is set by filament.db.migrate"

connectable = config.attributes.get("connection")
if connectable is None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            render_as_batch=url.startswith("sqlite"),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
else:
    context.configure(connection=connectable, target_metadata=SQLModel.metadata)
    with context.begin_transaction():
        context.run_migrations()
