"""Engine and session factory; SQLite pragmas; the naming convention shared with migrations."""

from __future__ import annotations

from sqlalchemy import MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql.dml import Insert

# Stable constraint names, so Alembic migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING_CONVENTION)

# A PostgreSQL URL may carry `?schema=name`: every connection of the engine then works inside that schema
# (its search_path). The URL is the only thing passed around, so it has to carry the schema itself.
SCHEMA_PARAM = "schema"
SQLITE_BUSY_TIMEOUT_MS = 5000


def split_schema(url: str) -> tuple[str, str | None]:
    """The URL without the schema parameter, and the schema (None when absent)."""
    parsed = make_url(url)
    schema = parsed.query.get(SCHEMA_PARAM)
    if schema is None:
        return url, None
    return parsed.difference_update_query([SCHEMA_PARAM]).render_as_string(hide_password=False), schema


def is_sqlite(url: str) -> bool:
    """True for a SQLite URL, whatever the driver."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    """An async engine for `url`: SQLite gets WAL, foreign keys, a busy timeout and write-serializing BEGINs."""
    url, schema = split_schema(url)
    if is_sqlite(url):
        if schema:
            raise ValueError(f"?{SCHEMA_PARAM}= is only understood for PostgreSQL URLs")
        engine = create_async_engine(url)
        _sqlite_setup(engine)
        return engine
    connect_args = {"server_settings": {"search_path": schema}} if schema else {}
    # pre_ping and recycle: a replica outlives database restarts and idle-connection reapers.
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, pool_recycle=1800,
                               connect_args=connect_args)


def _sqlite_setup(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy (not the driver) issue BEGIN, so we can make it BEGIN IMMEDIATE below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        cursor.execute("PRAGMA foreign_keys=ON")  # SQLite leaves them off unless asked, per connection
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a full fsync per commit is not needed
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):
        # A deferred transaction that reads then writes fails at once with SQLITE_BUSY when another writer
        # committed in between (busy_timeout does not help then); taking the write lock up front makes
        # writers queue instead. SQLite has one writer anyway.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def insert_ignoring_conflicts(session: AsyncSession, table) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING in the session's dialect (call .values() and execute it)."""
    name = session.get_bind().dialect.name
    insert = postgresql.insert if name == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing()
