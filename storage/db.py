"""Engine and session factory; SQLite pragmas; the naming convention shared with migrations."""

from __future__ import annotations

from sqlalchemy import MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

# Stable constraint names, so Alembic migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING_CONVENTION)

# A URL may carry `?schema=name` (PostgreSQL): every connection then works inside that schema.
SCHEMA_PARAM = "schema"


def split_schema(url: str) -> tuple[str, str | None]:
    """The URL without the schema parameter, and the schema (None when absent)."""
    parsed = make_url(url)
    schema = parsed.query.get(SCHEMA_PARAM)
    if schema is None:
        return url, None
    return parsed.difference_update_query([SCHEMA_PARAM]).render_as_string(hide_password=False), schema


def create_engine(url: str) -> AsyncEngine:
    """An async engine for `url`; SQLite gets WAL, foreign keys, a busy timeout and write-serializing BEGINs."""
    url, schema = split_schema(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _sqlite_setup(engine)
        return engine
    connect_args = {"server_settings": {"search_path": schema}} if schema else {}
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_setup(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy (not the driver) issue BEGIN, so we can make it BEGIN IMMEDIATE below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):
        # A deferred transaction that reads then writes fails with SQLITE_BUSY when another writer
        # committed in between; taking the write lock up front makes writers queue instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
