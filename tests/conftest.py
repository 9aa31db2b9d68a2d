"""Fixtures for the whole suite: a fresh migrated database per test (SQLite, or PostgreSQL when asked)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import normalize_database_url
from storage.db import SCHEMA_PARAM, create_engine, is_sqlite
from storage.migrate import upgrade
from storage.store import SqlStore
from tests.fakes import FakeClock

# e.g. TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test runs every database test on PostgreSQL.
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def _test_database_base() -> str | None:
    """The PostgreSQL URL to test on (asyncpg), or None for SQLite."""
    base = normalize_database_url(TEST_DATABASE_URL) if TEST_DATABASE_URL else None
    return None if base is None or is_sqlite(base) else base


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory):
    """One SQLite file migrated to head per session; each test gets a copy (much cheaper than migrating)."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    # Its own thread and loop: this may be set up from inside a test's running loop (getfixturevalue).
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, upgrade(f"sqlite+aiosqlite:///{path}")).result()
    return path  # upgrade closed every connection, so no WAL file is left beside it


async def _record_migrations(base: str) -> str | None:
    """What `upgrade` writes into an empty PostgreSQL schema, as one script; None if it cannot be replayed."""
    schema = f"template_{uuid.uuid4().hex[:12]}"
    url = make_url(base).update_query_dict({SCHEMA_PARAM: schema}).render_as_string(hide_password=False)
    statements: list[tuple[str, object]] = []

    def record(_connection, _cursor, statement, parameters, _context, _executemany):
        statements.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        await upgrade(url)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
        admin = create_async_engine(base)
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()
    # Reads (the advisory lock, Alembic's look at its version table, the backfills' reads of empty tables) change
    # nothing; what names the template's schema is its creation. The rest is the schema, in order.
    kept = [(statement, parameters) for statement, parameters in statements
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")) and schema not in statement]
    if any(parameters for _statement, parameters in kept):
        return None  # a write with bound values: not a plain script, migrate each schema instead
    return ";\n".join(statement for statement, _parameters in kept)


@pytest.fixture(scope="session")
def _postgresql_schema_script():
    """The migration chain's DDL, recorded once per session from a real `upgrade` of a scratch schema: replayed
    into each test's schema in one round trip (a real upgrade per test cost ~0.3 s, a third of the PostgreSQL run).
    tests/storage/test_migrations.py and test_store's comparison with the models still run the real chain."""
    base = _test_database_base()
    if base is None:
        return None
    with ThreadPoolExecutor(1) as pool:  # its own loop, as the SQLite template
        return pool.submit(asyncio.run, _record_migrations(base)).result()


@asynccontextmanager
async def _empty_database(tmp_path, base: str | None):
    """A fresh database without tables: a SQLite file (`base` None), or a new schema in PostgreSQL `base`."""
    if base is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    # One schema per test: tests stay independent without creating databases; the URL carries it.
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(base)
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield make_url(base).update_query_dict({SCHEMA_PARAM: schema}).render_as_string(hide_password=False)
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()


async def _migrate(request, url: str) -> str:
    if is_sqlite(url):
        shutil.copyfile(request.getfixturevalue("_migrated_sqlite_template"), make_url(url).database)
        return url
    script = request.getfixturevalue("_postgresql_schema_script")
    if script is None:
        await upgrade(url)
        return url
    engine = create_engine(url)  # its connections work in the test's schema (search_path)
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            # asyncpg runs a script without arguments as one simple query: one round trip, one transaction.
            await raw.driver_connection.execute(script)
    finally:
        await engine.dispose()
    return url


@pytest.fixture
async def empty_database_url(tmp_path):
    """A fresh database without tables: a SQLite file, or (TEST_DATABASE_URL) a new PostgreSQL schema."""
    async with _empty_database(tmp_path, _test_database_base()) as url:
        yield url


@pytest.fixture
async def database_url(request, empty_database_url):
    """A fresh database migrated to the newest schema; pass it to storage.db.create_engine or bot.app."""
    return await _migrate(request, empty_database_url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def each_database_url(request, tmp_path):
    """A fresh migrated database of each kind in turn, for tests that compare the two in one run.

    The PostgreSQL case needs TEST_DATABASE_URL (it is skipped without it).
    """
    base = _test_database_base() if request.param == "postgresql" else None
    if request.param == "postgresql" and base is None:
        pytest.skip("TEST_DATABASE_URL names no PostgreSQL database")
    async with _empty_database(tmp_path, base) as url:
        yield await _migrate(request, url)


@pytest.fixture
def clock():
    """A fake clock at 2026-11-20 02:00 UTC (Fri 10:00 in Shanghai); it moves only when told."""
    return FakeClock()


@pytest.fixture
async def store(database_url, clock):
    """An SqlStore over the fresh database, on the fake clock."""
    store = SqlStore(create_engine(database_url), clock)
    yield store
    await store.close()


# The platforms on the wire, shared by tests/platforms and the contract story that runs over every platform.
@pytest.fixture
async def console(database_url, aiohttp_client, monkeypatch):
    """A test client of the real app with only the console on."""
    from bot.app import build_app
    from bot.config import Settings, load_config
    from tests.harness import EXAMPLE_CONFIG

    monkeypatch.setenv("DATABASE_URL", database_url)
    return await aiohttp_client(await build_app(Settings(), config=load_config(EXAMPLE_CONFIG)))


@pytest.fixture
async def slack(database_url, aiohttp_client, aiohttp_server, monkeypatch):
    """The real app with Slack on (tests.platforms.slack_world.SlackWorld), against a fake Web API."""
    from tests.platforms.slack_world import start_slack

    return await start_slack(database_url=database_url, aiohttp_client=aiohttp_client,
                             aiohttp_server=aiohttp_server, monkeypatch=monkeypatch)


@pytest.fixture
def start_wecom(database_url, aiohttp_client, aiohttp_server, monkeypatch):
    """`await start_wecom(fake, routes=…, env=…, clock=…)`: the real app with WeCom on (Tencent's sample keys), its
    API pointed at `fake` served on port 0; returns (test client of the app, the fake's server)."""
    from tests.platforms.wecom_world import start_wecom_app

    async def start(fake, **options):
        return await start_wecom_app(fake, database_url=database_url, aiohttp_client=aiohttp_client,
                                     aiohttp_server=aiohttp_server, monkeypatch=monkeypatch, **options)
    return start


@pytest.fixture
async def wecom(start_wecom):
    """(test client, FakeWeCom): the real app with WeCom on, against a fake WeCom API."""
    from tests.platforms.wecom_world import FakeWeCom

    fake = FakeWeCom()
    client, _server = await start_wecom(fake)
    return client, fake


@pytest.fixture
async def dingtalk(database_url, aiohttp_client, aiohttp_server, monkeypatch):
    """The real app with DingTalk on (tests.platforms.dingtalk_world.DingTalkWorld), against a fake OpenAPI."""
    from tests.platforms.dingtalk_world import start_dingtalk

    return await start_dingtalk(database_url=database_url, aiohttp_client=aiohttp_client,
                                aiohttp_server=aiohttp_server, monkeypatch=monkeypatch)


@pytest.fixture
def s3_endpoint(monkeypatch):
    """moto's S3-compatible server on a free local port (each test makes buckets of its own names:
    moto keeps one state per process); skipped without moto."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    pytest.importorskip("aiobotocore", reason="aiobotocore is not installed")
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
