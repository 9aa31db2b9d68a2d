"""A fresh store for a bench: an empty SQLite file in a temporary folder, or a PostgreSQL database whose tables are
re-created, migrated to head; and the arguments every seeded bench takes."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text

from bot.ports import SystemClock
from storage.db import create_engine, is_sqlite
from storage.migrate import upgrade
from storage.store import SqlStore
from storage.tables import Base


def seeded_arguments(doc: str, *, tickets: str, runs: str, postgres: bool = True) -> argparse.Namespace:
    """--tickets, --runs and (where the bench runs on both databases) --database-url, parsed."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000, help=tickets)
    parser.add_argument("--runs", type=int, default=7, help=runs)
    if postgres:
        parser.add_argument("--database-url", help="e.g. postgresql+asyncpg://…/db (its tables are re-created)")
    return parser.parse_args()


@asynccontextmanager
async def fresh_store(database_url: str | None = None) -> AsyncIterator[SqlStore]:
    """A migrated, empty store: SQLite in a temporary folder unless `database_url` names another database."""
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
        if not is_sqlite(url):
            engine = create_engine(url)
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.drop_all)
                await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            await engine.dispose()
        await upgrade(url)
        store = SqlStore(create_engine(url), SystemClock())
        try:
            yield store
        finally:
            await store.close()
