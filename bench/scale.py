"""Query benchmark at scale: N tickets seeded in bulk, then stats / list / show through the real router.

Seeds `--tickets` tickets (most closed, as in a long-lived workspace; 15 % open with SLA deadlines, many of
them breached) into a fresh SQLite database (or `--database-url`, e.g. a PostgreSQL one: its tables are
dropped and re-created), then sends the real commands through the router and handlers of a bot without
network (tests/harness.py), each `--runs` times, while a heartbeat task measures how late a 10 ms sleep
wakes (the event loop held). Prints one line per command and as its last line:

tickets=<n> stats_ms=<median> list_ms=<slowest list's median> show_ms=<median> loop_lag_max_ms=<x> rss_mb=<x>
"""

from __future__ import annotations

import asyncio
import random
import resource
import statistics
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import insert, text

from bench.fresh import fresh_store, seeded_arguments
from bot.app import settle_heap
from bot.events import Conversation, ConversationKind, Platform
from bot.i18n import preload
from bot.ports import SystemClock
from bot.tickets import OPEN_STATUSES, Identity, Priority, Status, Ticket
from storage.mapping import ticket_values
from storage.store import SqlStore
from storage.tables import RequestRow, TicketRow

try:  # the derived SLA columns (absent before the query indexes: lets the same bench measure the before)
    from storage.sla_index import sla_marks
except ImportError:  # pragma: no cover
    sla_marks = None

STATUS_WEIGHTS = {Status.CLOSED: 80, Status.RESOLVED: 5, Status.NEW: 3, Status.TRIAGED: 3, Status.IN_PROGRESS: 5,
                  Status.WAITING_CUSTOMER: 2, Status.WAITING_COLLEAGUE: 2}
PRIORITY_WEIGHTS = {Priority.P0: 2, Priority.P1: 18, Priority.P2: 50, Priority.P3: 30}
RESPOND = {Priority.P0: timedelta(minutes=15), Priority.P1: timedelta(hours=1), Priority.P2: timedelta(hours=4),
           Priority.P3: timedelta(hours=8)}
RESOLVE = {Priority.P0: timedelta(hours=4), Priority.P1: timedelta(hours=24), Priority.P2: timedelta(days=3),
           Priority.P3: None}
ASSIGNEES = [None, "alice", "li", "lin", "alice", "li"]
CHUNK = 5000


def _template() -> dict:
    """The column values every seed ticket shares, built by storage.mapping so the seed follows the schema."""
    conversation = Conversation(platform=Platform.CONSOLE, id="bench-customer", kind=ConversationKind.DM)
    ticket = Ticket(title="bench", requester=Identity(Platform.CONSOLE, "bench-customer"), source=conversation,
                    customer_name="bench", customer_language="en", department="support",
                    customer_conversation=conversation, created_at=datetime.now(UTC), updated_at=datetime.now(UTC))
    return ticket_values(ticket)


def seed_rows(start: int, count: int, now: datetime, rng: random.Random, template: dict) -> list[dict]:
    """Rows `start` … `start + count - 1` of the seed (plain dicts for one Core executemany)."""
    statuses, status_w = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    priorities, priority_w = list(PRIORITY_WEIGHTS), list(PRIORITY_WEIGHTS.values())
    rows = []
    for i, status, priority in zip(range(start, start + count), rng.choices(statuses, status_w, k=count),
                                   rng.choices(priorities, priority_w, k=count), strict=True):
        is_open = status in OPEN_STATUSES
        created = now - timedelta(seconds=rng.uniform(0, (30 if is_open else 365) * 86400))
        responded = status not in (Status.NEW, Status.TRIAGED)
        values = dict(template, id=i, version=1, title=f"bench ticket {i}", status=status.value,
                      priority=priority.value, assignee=rng.choice(ASSIGNEES), created_at=created, updated_at=created,
                      first_response_at=created + RESPOND[priority] / 2 if responded else None,
                      respond_by=None if responded else created + RESPOND[priority],
                      resolve_by=created + RESOLVE[priority] if RESOLVE[priority] else None,
                      sla_paused_at=created + timedelta(minutes=5) if status is Status.WAITING_CUSTOMER else None,
                      closed_at=created + timedelta(days=1) if status is Status.CLOSED else None)
        if sla_marks is not None:
            values.update(sla_marks(SimpleNamespace(status=status, **{k: values[k] for k in (
                "created_at", "respond_by", "resolve_by", "first_response_at", "sla_paused_at")})))
        rows.append(values)
    return rows


async def seed(store: SqlStore, tickets: int, *, seed_value: int = 1) -> None:
    """Insert `tickets` tickets with Core executemany in chunks (the seed never sits in memory whole)."""
    rng, now, template = random.Random(seed_value), datetime.now(UTC), _template()
    for start in range(1, tickets + 1, CHUNK):
        async with store.engine.begin() as connection:
            await connection.execute(insert(TicketRow), seed_rows(start, min(CHUNK, tickets + 1 - start), now, rng,
                                                                  template))
    await seed_requests(store, tickets, rng, now)
    async with store.engine.begin() as connection:
        if store.engine.dialect.name == "postgresql":
            await connection.execute(text(f"SELECT setval(pg_get_serial_sequence('tickets', 'id'), {tickets})"))
            await connection.execute(text("COMMIT"))
    if store.engine.dialect.name == "postgresql":  # VACUUM cannot run inside a transaction
        async with store.engine.connect() as connection:
            await (await connection.execution_options(isolation_level="AUTOCOMMIT")).execute(
                text("VACUUM ANALYZE tickets"))
    else:
        async with store.engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
        with __import__("sqlite3").connect(store.engine.url.database) as plain:
            plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")


REQUEST_EVERY = 10  # one cross-department request per ten tickets
ASKED = ("zhao", "chen", "zhou")  # colleagues of the sample config
ASKERS = ("alice", "li", "lin")


async def seed_requests(store: SqlStore, tickets: int, rng: random.Random, now: datetime) -> None:
    """A request on every tenth ticket; 1 in 20 still open (with its deadline), the rest settled long ago."""
    rows = []
    for ticket_id in range(1, tickets + 1, REQUEST_EVERY):
        open_ = rng.random() < 0.05
        asked_at = now - timedelta(hours=rng.uniform(1, 24 * 365))
        asked = rng.choice(ASKED)
        rows.append(dict(version=1, ticket_id=ticket_id, asker=rng.choice(ASKERS), question="请核对发票金额",
                         asked_person=asked, asked_department={"zhao": "finance", "chen": "rnd"}.get(asked),
                         deadline=asked_at + timedelta(hours=rng.uniform(1, 48)),
                         status="open" if open_ else "answered", answer=None if open_ else "ok",
                         created_at=asked_at, updated_at=asked_at, settled_at=None if open_ else asked_at,
                         next_due_at=None))
        if len(rows) == CHUNK:
            async with store.engine.begin() as connection:
                await connection.execute(insert(RequestRow), rows)
            rows = []
    if rows:
        async with store.engine.begin() as connection:
            await connection.execute(insert(RequestRow), rows)


class Heartbeat:
    """Sleeps 10 ms over and over and remembers the worst lateness: how long the loop was held."""

    def __init__(self):
        self.worst = 0.0
        self._task: asyncio.Task | None = None

    async def _beat(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.perf_counter() - before - 0.01)

    def start(self) -> None:
        """Begin measuring."""
        self.worst = 0.0
        self._task = asyncio.get_running_loop().create_task(self._beat())

    async def stop(self) -> float:
        """Stop; the worst lateness in ms."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        return self.worst * 1000


def rss_mb() -> float:
    """Resident memory now (VmRSS), in MB; the peak where /proc is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(store: SqlStore, tickets: int, runs: int) -> None:
    """Every command `runs` times through the real router; prints the figures."""
    from tests.harness import Harness  # a bot without network: real router, store, dispatcher

    bot = Harness(store, SystemClock())
    show_ids = random.Random(2).sample(range(1, tickets + 1), runs)
    commands = {"stats": ["/ticket stats"], "list open": ["/ticket list"], "list mine": ["/ticket list mine"],
                "list unassigned": ["/ticket list unassigned"], "list breaching": ["/ticket list breaching"],
                "list open p1 page 3": ["/ticket list open p1 3"],
                "show": [f"/ticket show T-{n:06d}" for n in show_ids],
                # The week's figures for an agent's department: every aggregate, and the at-risk list read from
                # the deadline index of the open tickets this bench gives deadlines (the digest bench has none).
                "stats week": ["/ticket stats week"]}
    # Cross-department requests: what is asked of a colleague (and their department), what an agent asked.
    asked = {"requests": ("zhao", "/ticket requests"), "requests mine": ("alice", "/ticket requests mine")}
    await bot.say("alice", "/ticket help", bot.channel())  # warm: caches, catalogs, connections
    heartbeat = Heartbeat()
    heartbeat.start()
    medians = {}
    for name, texts in commands.items():
        timings = []
        for run in range(runs):
            started = time.perf_counter()
            await bot.say("alice", texts[run % len(texts)], bot.channel(), send=False)
            timings.append((time.perf_counter() - started) * 1000)
            await bot.dispatcher.drain()
            bot.messenger.sent.clear()
        medians[name] = statistics.median(timings)
        print(f"{name}: median {medians[name]:.1f} ms, max {max(timings):.1f} ms over {runs} runs", flush=True)
    for name, (who, text_) in asked.items():
        timings = []
        for _run in range(runs):
            started = time.perf_counter()
            await bot.say(who, text_, bot.dm(who), send=False)
            timings.append((time.perf_counter() - started) * 1000)
            await bot.dispatcher.drain()
            bot.messenger.sent.clear()
        medians[name] = statistics.median(timings)
        print(f"{name}: median {medians[name]:.1f} ms, max {max(timings):.1f} ms over {runs} runs", flush=True)
    lag = await heartbeat.stop()
    lists = max(v for k, v in medians.items() if k.startswith("list"))
    requests = max(v for k, v in medians.items() if k.startswith("requests"))
    print(f"tickets={tickets} stats_ms={medians['stats']:.1f} list_ms={lists:.1f} show_ms={medians['show']:.1f} "
          f"stats_week_ms={medians['stats week']:.1f} requests_ms={requests:.1f} loop_lag_max_ms={lag:.1f} "
          f"rss_mb={rss_mb():.0f}")


async def main() -> None:
    args = seeded_arguments(__doc__, tickets="tickets to seed", runs="runs of each command (medians are printed)")
    preload()
    async with fresh_store(args.database_url) as store:
        started = time.perf_counter()
        await seed(store, args.tickets)
        print(f"seeded {args.tickets} tickets in {time.perf_counter() - started:.1f} s", flush=True)
        settle_heap()  # as the app does once started: the seed's garbage is not the commands' to collect
        await measure(store, args.tickets, args.runs)


if __name__ == "__main__":
    asyncio.run(main())
