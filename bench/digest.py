"""Digest benchmark: a year of tickets and their timeline, then `/ticket stats` and a full digest with its chart.

Seeds `--tickets` tickets created evenly over the past year (a workspace's backlog: what is older than two weeks is
resolved and closed, younger ones partly open; 5 % reopened once) with their timeline lines (opened, replies,
resolved, closed, reopens) and outcome facts, into a fresh SQLite database (or `--database-url`, whose tables are
dropped and re-created). Then times, `--runs` times each: `/ticket stats today` and `/ticket stats week` through the
real router (figures of the period and the previous one, the answer kept, the card queued), a full daily digest
(yesterday's figures and the day before's, the 14-day series, the chart drawn in a worker thread, the run claimed
and a card queued per recipient) and the chart alone. Last line:

tickets=<n> stats_ms_p50=<x> digest_s=<x> chart_ms=<x> rss_mb=<x>
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, text

from bench.fresh import fresh_store, seeded_arguments
from bench.scale import Heartbeat, rss_mb
from bot.app import settle_heap
from bot.digest_config import DigestConfig
from bot.events import Conversation, ConversationKind, Platform
from bot.i18n import preload
from bot.kpis import DailyPoint
from bot.ports import SystemClock
from bot.tickets import Identity, Priority, Ticket
from cards import chart
from storage.mapping import ticket_values
from storage.store import SqlStore
from storage.tables import TicketRow, TimelineRow

PRIORITIES = {Priority.P0: 2, Priority.P1: 18, Priority.P2: 50, Priority.P3: 30}
RESPOND = {Priority.P0: 900, Priority.P1: 3600, Priority.P2: 14400, Priority.P3: 28800}
RESOLVE = {Priority.P0: 4 * 3600, Priority.P1: 86400, Priority.P2: 3 * 86400, Priority.P3: None}
AGENTS = ["alice", "li", "lin", "wang", "zhang", "liu", "chen", "yang", "zhao", "huang"]
DEPARTMENTS = ["support", "support", "support", "finance", "rnd", "logistics"]
CATEGORIES = {"bug": 35, "how-to": 30, "billing": 15, "suggestion": 10, "other": 10}
MODULES = ["payments", "mobile-app", "logistics-portal", None]
CUSTOMERS = [f"customer {n:03d}" for n in range(300)]
CHUNK = 5000
YEAR = 365 * 86400


def _template() -> dict:
    conversation = Conversation(platform=Platform.CONSOLE, id="bench-customer", kind=ConversationKind.DM)
    ticket = Ticket(title="bench", requester=Identity(Platform.CONSOLE, "bench-customer"), source=conversation,
                    customer_language="en", customer_conversation=conversation, created_at=datetime.now(UTC),
                    updated_at=datetime.now(UTC))
    return ticket_values(ticket)


def _line(ticket_id: int, at: datetime, kind: str, before: str | None = None, after: str | None = None) -> dict:
    return dict(ticket_id=ticket_id, at=at, kind=kind, actor="alice", platform="console", before=before, after=after,
                text=None, visibility="public" if kind == "reply" else "internal")


def seed_rows(start: int, count: int, total: int, now: datetime, rng: random.Random,
              template: dict) -> tuple[list, list]:
    """Tickets `start` … and their timeline lines (plain dicts for Core executemany)."""
    tickets, lines = [], []
    priorities, weights = list(PRIORITIES), list(PRIORITIES.values())
    categories, category_w = list(CATEGORIES), list(CATEGORIES.values())
    for i in range(start, start + count):
        priority = rng.choices(priorities, weights)[0]
        created = now - timedelta(seconds=YEAR * (total - i) / total + 60)  # evenly over the year, oldest first
        age = (now - created).total_seconds() / 86400
        open_now = age < 14 and rng.random() < 0.6 * (1 - age / 14)
        respond_s = RESPOND[priority] * rng.uniform(0.1, 1.6)
        responded = created + timedelta(seconds=respond_s)
        if responded > now:
            responded = None
        resolve_target = RESOLVE[priority]
        ttr = (resolve_target or 5 * 86400) * rng.uniform(0.1, 1.4)
        resolved = None if open_now else created + timedelta(seconds=max(ttr, respond_s + 60))
        if resolved is not None and resolved > now:
            resolved, open_now = None, True
        closed = resolved + timedelta(days=1) if resolved is not None and resolved + timedelta(days=1) < now else None
        status = "in_progress" if open_now else ("closed" if closed else "resolved")
        reopened = resolved is not None and rng.random() < 0.05
        values = dict(template, id=i, version=1, title=f"bench ticket {i}", status=status, priority=priority.value,
                      category=rng.choices(categories, category_w)[0], product_module=rng.choice(MODULES),
                      customer_name=rng.choice(CUSTOMERS), customer_tier="vip" if rng.random() < 0.1 else "normal",
                      assignee=None if open_now and rng.random() < 0.2 else rng.choice(AGENTS),
                      department=rng.choice(DEPARTMENTS), created_at=created, updated_at=closed or resolved or created,
                      first_response_at=responded, respond_by=None if responded else created + timedelta(
                          seconds=RESPOND[priority]),
                      response_due_at=created + timedelta(seconds=RESPOND[priority]),
                      frt_seconds=int(respond_s) if responded else None,
                      resolve_by=created + timedelta(seconds=resolve_target) if resolve_target else None,
                      resolved_at=resolved, closed_at=closed,
                      ttr_seconds=int((resolved - created).total_seconds()) if resolved else None)
        tickets.append(values)
        lines.append(_line(i, created, "created"))
        if responded:
            lines.append(_line(i, responded, "reply"))
        if resolved:
            if reopened:  # resolved once, reopened, answered again, resolved again
                first = created + (resolved - created) / 2
                lines += [_line(i, first, "status", "in_progress", "resolved"),
                          _line(i, first + timedelta(hours=1), "status", "resolved", "triaged"),
                          _line(i, first + timedelta(hours=2), "reply")]
            lines.append(_line(i, resolved, "status", "in_progress", "resolved"))
        if closed:
            lines.append(_line(i, closed, "status", "resolved", "closed"))
    return tickets, lines


async def seed(store: SqlStore, tickets: int) -> int:
    """Insert the tickets and their lines in chunks; returns how many timeline lines."""
    rng, now, template = random.Random(1), datetime.now(UTC), _template()
    lines_total = 0
    for start in range(1, tickets + 1, CHUNK):
        rows, lines = seed_rows(start, min(CHUNK, tickets + 1 - start), tickets, now, rng, template)
        async with store.engine.begin() as connection:
            await connection.execute(insert(TicketRow), rows)
            await connection.execute(insert(TimelineRow), lines)
        lines_total += len(lines)
    if store.engine.dialect.name == "postgresql":
        async with store.engine.begin() as connection:
            await connection.execute(text(f"SELECT setval(pg_get_serial_sequence('tickets', 'id'), {tickets})"))
        async with store.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE tickets"))
            await autocommit.execute(text("VACUUM ANALYZE timeline"))
    else:
        async with store.engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
        with __import__("sqlite3").connect(store.engine.url.database) as plain:
            plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return lines_total


async def measure(store: SqlStore, tickets: int, runs: int) -> None:
    """Time stats, the digest and the chart; print the figures."""
    from schedules.digests import DigestRunner
    from tests.harness import Harness  # a bot without network: real router, store, dispatcher

    bot = Harness(store, SystemClock())
    await bot.say("linfang", "/ticket stats today", bot.channel())  # warm: caches, catalogs, connections
    heartbeat = Heartbeat()
    heartbeat.start()
    medians = {}
    for name, command in (("stats today", "/ticket stats today"), ("stats week", "/ticket stats week"),
                          ("stats (bare)", "/ticket stats")):
        timings = []
        for _run in range(runs):
            started = time.perf_counter()
            await bot.say("linfang", command, bot.channel(), send=False)
            timings.append((time.perf_counter() - started) * 1000)
            await bot.dispatcher.drain()
            bot.messenger.sent.clear()
        medians[name] = statistics.median(timings)
        print(f"{name}: median {medians[name]:.1f} ms, max {max(timings):.1f} ms over {runs} runs", flush=True)
    runner = DigestRunner(store=store, config=bot.config, directory=bot.directory, clock=SystemClock(),
                          platforms={Platform.CONSOLE: bot.messenger})
    digest_s = []
    for run in range(runs):
        digest = DigestConfig(name=f"bench-{run}", to=["director", "lin"], schedule="0 9 * * *", period="yesterday")
        started = time.perf_counter()
        sent = await runner.fire(digest, SystemClock().now())
        digest_s.append(time.perf_counter() - started)
        assert sent is not None
    digest_median = statistics.median(digest_s)
    print(f"digest (yesterday, chart, 2 recipients): median {digest_median * 1000:.0f} ms, max "
          f"{max(digest_s) * 1000:.0f} ms over {runs} runs", flush=True)
    points = [DailyPoint(date(2026, 11, 20) + timedelta(days=i), 2700 + i, 2650, 93.0 + i / 7) for i in range(14)]
    chart_ms = []
    for _run in range(runs):
        started = time.perf_counter()
        await asyncio.to_thread(chart.draw, points, languages=["zh-CN", "en"], title="bench · 2026-12-03")  # as the app draws it
        chart_ms.append((time.perf_counter() - started) * 1000)
    lag = await heartbeat.stop()
    print(f"chart alone: median {statistics.median(chart_ms):.0f} ms; longest loop hold {lag:.1f} ms", flush=True)
    print(f"tickets={tickets} stats_ms_p50={medians['stats today']:.1f} digest_s={digest_median:.3f} "
          f"chart_ms={statistics.median(chart_ms):.0f} rss_mb={rss_mb():.0f}")


async def main() -> None:
    args = seeded_arguments(__doc__, tickets="tickets to seed (over the past year)",
                            runs="runs of each measurement (medians are printed)")
    preload()
    async with fresh_store(args.database_url) as store:
        started = time.perf_counter()
        lines = await seed(store, args.tickets)
        print(f"seeded {args.tickets} tickets and {lines} timeline lines in {time.perf_counter() - started:.1f} s",
              flush=True)
        settle_heap()
        await measure(store, args.tickets, args.runs)


if __name__ == "__main__":
    asyncio.run(main())
