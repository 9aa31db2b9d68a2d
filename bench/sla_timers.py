"""SLA timer benchmark: many open tickets, a few thousand notifications falling due, the real sweep.

Seeds `--open` open tickets in a fresh SQLite database; `--due` of them have their 50 % reminder fall due
at spread-out instants over the next `--seconds`. Runs the real APScheduler job table, sweep and outbox
dispatcher, records when each reminder reached the messenger, and prints as its last line:

open=<n> due=<n> fired=<n> duplicates=<n> lateness_p50_s=<x> lateness_p99_s=<x> tick_ms_p99=<x> rss_mb=<x>

tick_ms_p99 is over every sweep tick of the run, idle and busy alike (a busy tick claims, writes the outbox
rows, moves the bookmarks and refreshes the cards of what it fires, in one transaction); an earlier line
gives the medians and p99 of idle ticks (nothing sent) and busy ticks apart.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from bot.app import job_table, settle_heap
from bot.config import load_config
from bot.directory import Directory
from bot.events import Conversation, ConversationKind, Platform
from bot.i18n import preload
from bot.ports import SystemClock
from bot.sla import SlaPolicy
from bot.tickets import Identity, Priority, Status, Ticket
from schedules.card_kinds import card_kinds
from schedules.outbox import OutboxDispatcher
from schedules.providers import deadline_sweep
from schedules.scheduler import JobSpec, Scheduler
from storage.db import create_engine
from storage.mapping import ticket_values
from storage.migrate import upgrade
from storage.store import SqlStore
from storage.tables import TicketRow

TICKET_NUMBER = re.compile(r"T-\d{6}")
# A CPU-bound neighbour for --noise: spins for at most 5 minutes, so it stops by itself if we die.
BUSY_LOOP = "import time\nend = time.time() + 300\nwhile time.time() < end: pass"
EXAMPLE = Path(__file__).resolve().parent.parent / "ticketbot.example.yaml"


class TimingMessenger:
    """Notes the instant each reminder text arrives; cards are accepted and ignored."""

    platform = Platform.CONSOLE

    def __init__(self):
        self.arrivals: list[tuple[str, float]] = []

    async def post(self, target, *, text=None, card=None, ephemeral_user=None):
        # Reminders queued for one DM arrive folded into one message, a line each.
        for line in (text or "").splitlines():
            if line.startswith("⏰"):
                self.arrivals.append((TICKET_NUMBER.search(line).group(0), time.time()))
        return f"m{len(self.arrivals)}"

    async def update(self, target, message_ref, card):
        return message_ref


def _row(i: int, now: datetime, *, due_at: datetime | None) -> dict:
    """Column values of seed ticket `i`, built by storage.mapping itself so the seed follows the schema."""
    conversation = Conversation(platform=Platform.CONSOLE, id=f"cust{i}", kind=ConversationKind.DM)
    if due_at is not None:
        created = due_at - timedelta(minutes=30)  # P1: respond within 1 h, so the 50 % reminder is at +30 min
        priority, respond_by, next_due = Priority.P1, created + timedelta(hours=1), due_at
        resolve_by = created + timedelta(hours=24)
    else:
        created = now - timedelta(minutes=random.randint(0, 600))
        priority, respond_by, resolve_by = Priority.P3, None, None
        next_due = now + timedelta(days=random.randint(1, 30))
    ticket = Ticket(title=f"bench {i}", requester=Identity(Platform.CONSOLE, f"cust{i}"), source=conversation,
                    status=Status.IN_PROGRESS, priority=priority, customer_name=f"c{i}", customer_language="en",
                    assignee=random.choice(["alice", "li"]), department="support",
                    customer_conversation=conversation, created_at=created, updated_at=created,
                    respond_by=respond_by, resolve_by=resolve_by, next_due_at=next_due)
    return dict(id=i, version=1, **ticket_values(ticket))


async def seed(store: SqlStore, *, open_count: int, due_count: int, seconds: float, lead: float) -> dict[str, datetime]:
    """Insert the tickets in bulk; return the due instant of each reminder by ticket number.

    The background tickets go in first; the due ones last, with instants taken just before, so a slow
    seed does not turn into apparent lateness.
    """
    due_ids = set(random.sample(range(1, open_count + 1), due_count))
    now = datetime.now(UTC)
    async with store.engine.begin() as conn:
        ids = [i for i in range(1, open_count + 1) if i not in due_ids]
        for start in range(0, len(ids), 5000):  # in chunks, so the seed data never sits in memory whole
            await conn.execute(insert(TicketRow), [_row(i, now, due_at=None) for i in ids[start:start + 5000]])
    # The bulk seed leaves a large WAL; fold it in now so the first write of the run does not pay for it.
    # (A plain connection: SQLAlchemy's sessions open a transaction, inside which a checkpoint cannot run.)
    with sqlite3.connect(store.engine.url.database) as plain:
        plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    now = datetime.now(UTC)
    due_at = {i: now + timedelta(seconds=lead + random.uniform(0, seconds)) for i in due_ids}
    async with store.engine.begin() as conn:
        await conn.execute(insert(TicketRow), [_row(i, now, due_at=due_at[i]) for i in sorted(due_ids)])
    return {f"T-{i:06d}": at for i, at in due_at.items()}


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of `values`."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def describe(ticks: list[float]) -> str:
    """'<n>, median <x> ms, p99 <x> ms' for a series of tick durations."""
    median = statistics.median(ticks) if ticks else float("nan")
    return f"{len(ticks)}, median {median:.2f} ms, p99 {percentile(ticks, 0.99):.2f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=100_000, help="open tickets to seed")
    parser.add_argument("--due", type=int, default=3000, help="reminders falling due during the run")
    parser.add_argument("--seconds", type=float, default=30.0, help="span over which they fall due")
    # Every 50 ms: a tick costs a few fixed database round trips plus a little per notification, so many
    # small ticks keep each one short (3000 over 30 s is about 5 per tick) and lateness low.
    parser.add_argument("--sweep", type=float, default=0.05, help="sweep interval in seconds (sla.sweep_seconds)")
    parser.add_argument("--debug", action="store_true", help="also print the latest arrivals and slow ticks")
    parser.add_argument("--noise", type=int, default=0, metavar="N",
                        help="keep N other CPU-bound processes busy during the run (a loaded machine)")
    args = parser.parse_args()
    random.seed(1)

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        await upgrade(url)
        clock = SystemClock()
        store = SqlStore(create_engine(url), clock)
        started = time.perf_counter()
        lead = 5.0
        due = await seed(store, open_count=args.open, due_count=args.due, seconds=args.seconds, lead=lead)
        print(f"seeded {args.open} open tickets in {time.perf_counter() - started:.1f} s")

        preload()  # as bot.app does at start-up
        config = load_config(EXAMPLE)
        directory, policy = Directory(config), SlaPolicy(config)
        messenger = TimingMessenger()
        dispatcher = OutboxDispatcher(store=store, messengers={Platform.CONSOLE: messenger}, clock=clock,
                                      card_kinds=card_kinds(directory=directory, config=config, policy=policy,
                                                            clock=clock), idle_poll=0.05)
        sweep = deadline_sweep(store=store, policy=policy, directory=directory, config=config, clock=clock,
                         wake_outbox=dispatcher.wake, history=10**7)  # keep every tick of the run
        jobs = [JobSpec(spec.id, sweep.tick, every_seconds=args.sweep) if spec.id == "sla-sweep" else spec
                for spec in job_table(store, sweep, config)]  # the app's job table, at the bench's sweep pace
        scheduler = Scheduler(jobs)
        lag_ms: list[float] = []

        async def heartbeat():
            # How late a 10 ms sleep wakes up = how long something held the event loop.
            while True:
                before = time.perf_counter()
                await asyncio.sleep(0.01)
                lag_ms.append((time.perf_counter() - before - 0.01) * 1000)

        settle_heap()  # as the app does once started
        noise = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(args.noise)]
        beating = asyncio.create_task(heartbeat())
        dispatcher.start()
        scheduler.start()
        deadline = time.time() + lead + args.seconds + 3
        while time.time() < deadline and len(messenger.arrivals) < args.due:
            await asyncio.sleep(0.25)
        await asyncio.sleep(1.0)  # anything still in flight, and a chance for duplicates to show
        await scheduler.stop()  # a tick in flight ends before the store closes
        for process in noise:
            process.kill()
            process.wait()
        beating.cancel()
        await dispatcher.stop()
        await store.close()

    counts = Counter(number for number, _at in messenger.arrivals)
    first_arrival: dict[str, float] = {}
    for number, at in messenger.arrivals:
        first_arrival.setdefault(number, at)
    lateness = [first_arrival[n] - due[n].timestamp() for n in first_arrival]
    duplicates = sum(c - 1 for c in counts.values())
    if args.debug:
        t0 = min(d.timestamp() for d in due.values())
        worst = sorted((first_arrival[n] - due[n].timestamp(), due[n].timestamp() - t0) for n in first_arrival)[-15:]
        print("worst (lateness, due offset):", [(round(a, 2), round(b, 1)) for a, b in worst])
        print("ticks over 100 ms:", [(i, round(ms)) for i, ms in enumerate(sweep.tick_ms) if ms > 100])
    ticks = sweep.tick_ms
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"sweep ticks: {describe(ticks)}; idle (sent nothing): {describe(sweep.idle_tick_ms)}; "
          f"busy (sent): {describe(sweep.busy_tick_ms)}, "
          f"{len(first_arrival) / max(len(sweep.busy_tick_ms), 1):.1f} notifications per busy tick")
    print(f"event loop held (heartbeat lag): p50 {percentile(lag_ms, 0.5):.2f} ms, p99 {percentile(lag_ms, 0.99):.2f} ms, "
          f"max {max(lag_ms, default=0):.1f} ms")
    print(f"open={args.open} due={args.due} noise={args.noise} fired={len(first_arrival)} duplicates={duplicates} "
          f"lateness_p50_s={percentile(lateness, 0.5):.3f} lateness_p99_s={percentile(lateness, 0.99):.3f} "
          f"tick_ms_p99={percentile(ticks, 0.99):.1f} rss_mb={rss_mb:.0f}")


if __name__ == "__main__":
    asyncio.run(main())
