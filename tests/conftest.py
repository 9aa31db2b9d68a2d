"""Fixtures for the whole suite: a fresh migrated database per test (SQLite, or PostgreSQL when asked)."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import normalize_database_url
from storage.db import create_engine
from storage.migrate import upgrade
from storage.store import SqlStore
from tests.fakes import FakeClock

PG_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture
async def database_url(tmp_path):
    """A fresh, empty, migrated database: a SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if not PG_URL:
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        await upgrade(url)
        yield url
        return
    base = normalize_database_url(PG_URL)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(base)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}{'&' if '?' in base else '?'}schema={schema}"
    try:
        await upgrade(url)
        yield url
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
def clock():
    """A fake clock starting Fri 2026-11-20 10:00 Asia/Shanghai."""
    return FakeClock()


@pytest.fixture
async def store(database_url, clock):
    """An SqlStore over the fresh database."""
    store = SqlStore(create_engine(database_url), clock)
    yield store
    await store.close()
