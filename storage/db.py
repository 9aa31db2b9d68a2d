"""Engine and session factory; SQLite pragmas; the naming convention shared with migrations."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from weakref import WeakKeyDictionary

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
SQLITE_AUTOCHECKPOINT_PAGES = 10_000  # ~40 MB of WAL; SQLite's default is 1000


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
    return _server_engine(url, connect_args, pool_size=10, max_overflow=10)


def _server_engine(url, connect_args: dict, *, pool_size: int, max_overflow: int) -> AsyncEngine:
    # pre_ping and recycle: a replica outlives database restarts and idle-connection reapers.
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True,
                                 pool_recycle=1800, connect_args=connect_args)
    _CONNECT_ARGS[engine.sync_engine] = connect_args
    return engine


# What each server engine was made with (its schema), so a sibling pool can be opened to the same place.
_CONNECT_ARGS: WeakKeyDictionary = WeakKeyDictionary()


def create_side_engine(engine: AsyncEngine, *, pool_size: int = 2) -> AsyncEngine:
    """A small pool of its own to the same server database and schema, for work that must never wait for the
    main pool's connections (acknowledgements while processing holds them all)."""
    return _server_engine(engine.url, _CONNECT_ARGS.get(engine.sync_engine, {}), pool_size=pool_size,
                          max_overflow=pool_size)


def create_read_engine(engine: AsyncEngine) -> AsyncEngine:
    """For SQLite, a second engine on the same file whose transactions only read: WAL lets them run beside the
    writer, so queries need not queue for the write lock. Elsewhere (and for in-memory SQLite) `engine` itself."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return engine
    reader = create_async_engine(engine.url)
    _sqlite_setup(reader, writer=False)
    return reader


def _sqlite_setup(engine: AsyncEngine, *, writer: bool = True) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy (not the driver) issue BEGIN, so we can make it BEGIN IMMEDIATE below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        cursor.execute("PRAGMA foreign_keys=ON")  # SQLite leaves them off unless asked, per connection
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a full fsync per commit is not needed
        # The commit that fills the WAL past the limit pays for copying it back (~8 ms here). The store's
        # checkpoint job does that in the background instead; this higher limit is only the safety net.
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
        if not writer:
            cursor.execute("PRAGMA query_only=ON")  # a write through the reader is a bug: let it fail loudly
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):
        if not writer:
            conn.exec_driver_sql("BEGIN")  # deferred: a consistent snapshot, no lock taken
            return
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


class TakingTurns:
    """Sessions of one SQLite engine, one at a time in this process (what BEGIN IMMEDIATE enforces anyway).

    SQLite's busy handler waits for the write lock by sleeping in growing steps (1, 2, 5, 10 ms …), so a
    transaction queued behind another often starts milliseconds after the lock came free. Queuing in-process
    instead hands over at once. Other processes on the same file still meet busy_timeout. `urgent()` turns go
    before every queued ordinary one: the delivery recorder's, so an acknowledgement never waits behind the
    ticket transactions already queued (only behind the one under way).
    """

    def __init__(self, maker: async_sessionmaker[AsyncSession]):
        self.maker = maker
        self._held = False
        self._queues: tuple[deque[asyncio.Future], deque[asyncio.Future]] = (deque(), deque())  # urgent, ordinary

    def __call__(self) -> AbstractAsyncContextManager[AsyncSession]:
        """An ordinary turn: after the turns queued before it."""
        return self._session(1)

    def urgent(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A turn before every queued ordinary one."""
        return self._session(0)

    @property
    def waiting(self) -> int:
        """How many turns are queued (not counting the one under way)."""
        return sum(1 for queue in self._queues for turn in queue if not turn.done())

    @asynccontextmanager
    async def _session(self, rank: int) -> AsyncIterator[AsyncSession]:
        await self._take(rank)
        try:
            async with self.maker() as session:
                yield session
        finally:
            self._hand_over()

    async def _take(self, rank: int) -> None:
        if not self._held:
            self._held = True
            return
        turn = asyncio.get_running_loop().create_future()
        self._queues[rank].append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed the turn just as we were cancelled: pass it on
                self._hand_over()
            else:
                self._queues[rank].remove(turn)
            raise

    def _hand_over(self) -> None:
        for queue in self._queues:
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # the turn passes directly: _held stays True
                    return
        self._held = False


def store_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession] | TakingTurns:
    """The sessions a store opens: on SQLite they take turns in-process (see TakingTurns)."""
    maker = sessionmaker(engine)
    return TakingTurns(maker) if engine.dialect.name == "sqlite" else maker

