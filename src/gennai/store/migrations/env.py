"""Alembic environment: the engine is handed over by gennai.store.database.migrate()."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from gennai.store.tables import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # plain `alembic` command line use
    engine = create_engine(config.get_main_option("sqlalchemy.url"))

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
