"""CSAT benchmark: N tickets (bench/scale.py's seed) and a survey for every finished one, then what the survey costs.

Measured, each `--runs` times (medians): the KPI report of the last 30 days with its CSAT figures (`kpis_ms`;
the two CSAT aggregates alone: `csat_kpis_ms`),
the check a customer's every message now passes through (their latest survey, `survey_lookup_ms`), and a
customer's typed answer through the real router and handlers (`rate_ms`), while a heartbeat measures how long the
event loop is held. Last line:

tickets=<n> surveys=<n> kpis_ms=<median> csat_kpis_ms=<median> survey_lookup_ms=<median> rate_ms=<median> loop_lag_max_ms=<x>
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from bench.fresh import fresh_store, seeded_arguments
from bench.scale import CHUNK, Heartbeat, seed
from bot.events import Conversation, ConversationKind, Platform
from bot.i18n import preload
from bot.kpis import Period, PeriodKind, Scope
from bot.ports import SystemClock
from storage.csat_tables import CsatRow
from storage.store import SqlStore
from storage.tables import TicketRow
from tests.harness import Harness

CUSTOMERS = 5000  # surveys are spread over this many customers (the lookup is per customer)


async def seed_surveys(store: SqlStore, rng: random.Random) -> int:
    """A survey for every finished ticket, to one of CUSTOMERS customers; 60 % answered, a score 1–5."""
    async with store.engine.connect() as connection:
        finished = (await connection.execute(select(TicketRow.id, TicketRow.created_at)
                                             .where(TicketRow.status.in_(("resolved", "closed"))))).all()
    rows, count = [], 0
    for ticket_id, created in finished:
        asked = created + timedelta(hours=rng.uniform(1, 48))
        user = f"cust{ticket_id % CUSTOMERS}"
        answered = rng.random() < 0.6
        rows.append(dict(version=1, ticket_id=ticket_id, resolved_at=asked, requester_platform="console",
                         requester_user_id=user, conversation={"platform": "console", "id": user, "kind": "dm"},
                         language="en", scale="five", asked_at=asked, expires_at=asked + timedelta(days=7),
                         score=rng.randint(1, 5) if answered else None, not_solved=False,
                         rated_at=asked + timedelta(minutes=rng.uniform(1, 600)) if answered else None))
        if len(rows) == CHUNK:
            async with store.engine.begin() as connection:
                await connection.execute(insert(CsatRow), rows)
            count, rows = count + len(rows), []
    if rows:
        async with store.engine.begin() as connection:
            await connection.execute(insert(CsatRow), rows)
        count += len(rows)
    return count


async def _timed(runs: int, work) -> float:
    timings = []
    for _run in range(runs):
        started = time.perf_counter()
        await work()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


async def measure(store: SqlStore, runs: int) -> dict[str, float]:
    """The medians, with the loop's worst lateness."""
    heartbeat = Heartbeat()
    heartbeat.start()
    today = datetime.now(UTC).date()
    month = Period(PeriodKind.RANGE, today - timedelta(days=30), today, "Asia/Shanghai")

    async def kpis():
        async with store.snapshot() as reads:
            await reads.kpis().report(month, Scope(), datetime.now(UTC))

    async def csat_only():  # the two CSAT aggregates alone: their share of the report
        async with store.snapshot() as reads:
            await reads.kpis()._csat(month.start, month.end, [])

    async def lookup():
        async with store.snapshot() as uow:
            await uow.surveys().latest_of(Platform.CONSOLE, f"cust{random.randrange(CUSTOMERS)}")

    bot = Harness(store, SystemClock())
    customer = "bench-rater"
    now = datetime.now(UTC)
    async with store.unit() as uow:  # a survey waiting for this customer, on the newest ticket
        newest = (await uow.session.execute(select(TicketRow.id).order_by(TicketRow.id.desc()).limit(1))).scalar()
        await uow.session.execute(insert(CsatRow).values(
            version=1, ticket_id=newest, resolved_at=now, requester_platform="console", requester_user_id=customer,
            conversation=Conversation(platform=Platform.CONSOLE, id=customer, kind=ConversationKind.DM)
            .model_dump(mode="json"), language="en", scale="five", asked_at=now, expires_at=now + timedelta(days=7),
            not_solved=False))
    answers = iter(["4", "5"] * runs)

    async def rate():  # the first rates, the next ones change it (within the window): the same path each time
        await bot.say(customer, next(answers), send=False)

    figures = {"kpis_ms": await _timed(runs, kpis), "csat_kpis_ms": await _timed(runs, csat_only),
               "survey_lookup_ms": await _timed(runs * 10, lookup),
               "rate_ms": await _timed(runs, rate)}
    async with store.snapshot() as uow:
        rated = await uow.surveys().latest_of(Platform.CONSOLE, customer)
    assert rated.score in (4, 5) and rated.rated_at is not None, "the typed answers were not taken as the rating"
    figures["loop_lag_max_ms"] = await heartbeat.stop()
    return figures


async def main() -> None:
    args = seeded_arguments(__doc__, tickets="tickets to seed", runs="runs of each measurement (medians are printed)",
                            postgres=False)
    preload()
    async with fresh_store() as store:
        started = time.perf_counter()
        await seed(store, args.tickets)
        surveys = await seed_surveys(store, random.Random(2))
        print(f"seeded {args.tickets} tickets and {surveys} surveys in {time.perf_counter() - started:.1f} s",
              flush=True)
        figures = await measure(store, args.runs)
    print(f"tickets={args.tickets} surveys={surveys} " + " ".join(f"{k}={v:.1f}" for k, v in figures.items()))


if __name__ == "__main__":
    asyncio.run(main())
