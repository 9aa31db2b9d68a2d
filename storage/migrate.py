"""Run Alembic migrations programmatically: on every start (idempotent), by `ticketbot db upgrade`, in tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine, split_schema

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Key of the PostgreSQL advisory lock that makes replicas starting together migrate one after another.
MIGRATION_LOCK = 0x74626D67  # "tbmg"


def alembic_config(url: str) -> Config:
    """An Alembic config for `url` without any ini file (works from an installed package)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser interpolates '%'
    config.attributes["url"] = url
    return config


def migration_engine(url: str) -> AsyncEngine:
    """The engine of `url`, with SQLite's foreign keys off (they are checked once at the end instead)."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        # Batch migrations rebuild a table (copy, drop, rename); with foreign keys on, dropping a table
        # that other rows reference fails. The pragma only works outside a transaction, hence at connect
        # (after storage.db's listener, which turned them on).
        @event.listens_for(engine.sync_engine, "connect")
        def _foreign_keys_off(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.close()

    return engine


async def run_migrations(url: str, work: Callable[[Connection], None]) -> None:
    """Run `work` on one connection of `url`, in one transaction, one process at a time."""
    engine = migration_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_in_transaction, url, work)
            await connection.commit()
    finally:
        await engine.dispose()


def _in_transaction(connection: Connection, url: str, work: Callable[[Connection], None]) -> None:
    # Begun here, so Alembic sees an outer transaction and leaves committing to us: all or nothing.
    connection.begin()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        _, schema = split_schema(url)
        if schema:
            quoted = connection.dialect.identifier_preparer.quote_identifier(schema)
            connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quoted}"))
    work(connection)
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"migration left rows with dangling foreign keys: {broken[:5]}")


def _alembic(config: Config, action: Callable[..., None], revision: str) -> Callable[[Connection], None]:
    def work(connection: Connection) -> None:
        config.attributes["connection"] = connection
        action(config, revision)

    return work


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (`alembic upgrade head`); a no-op when it is there."""
    await run_migrations(url, _alembic(alembic_config(url), command.upgrade, revision))


async def downgrade(url: str, revision: str) -> None:
    """Take the database at `url` back to `revision`."""
    await run_migrations(url, _alembic(alembic_config(url), command.downgrade, revision))


def upgrade_sync(url: str) -> None:
    """Blocking variant for scripts."""
    asyncio.run(upgrade(url))
