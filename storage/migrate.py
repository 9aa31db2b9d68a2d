"""Run Alembic migrations programmatically (on every start; idempotent)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from storage.db import create_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config for `url` without any ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["url"] = url
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision`."""
    engine = create_engine(url)
    config = alembic_config(url)
    try:
        async with engine.connect() as connection:
            def run(sync_connection) -> None:
                config.attributes["connection"] = sync_connection
                command.upgrade(config, revision)
            await connection.run_sync(run)
            await connection.commit()
    finally:
        await engine.dispose()


def upgrade_sync(url: str) -> None:
    """Blocking variant for scripts."""
    asyncio.run(upgrade(url))
