"""Alembic environment: migrates on the connection storage.migrate hands over, or opens one for the URL."""

from __future__ import annotations

import asyncio

from alembic import context

from storage.kb_tables import in_orm_models
from storage.migrate import run_migrations
from storage.tables import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    # render_as_batch: SQLite alters tables by rebuilding them; compare_type: autogenerate sees type changes.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True, include_name=in_orm_models)
    with context.begin_transaction():
        context.run_migrations()


url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
if context.is_offline_mode():
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    _run(connection)
else:  # e.g. `alembic revision --autogenerate` with alembic_config(url): no connection handed over
    asyncio.run(run_migrations(url, _run))
