"""Processing is bounded: a burst beyond the pool's queue waits in the inbox and is replayed, each exactly once."""

from __future__ import annotations

import asyncio

from bot.events import CommandIssued
from handlers.router import Router
from tests.harness import Harness


async def _titles(store) -> list[str]:
    """Every ticket's title (by SQL: on PostgreSQL a rolled-back attempt leaves a gap in the ids)."""
    from sqlalchemy import select

    from storage.tables import TicketRow

    async with store.engine.connect() as connection:
        return list((await connection.execute(select(TicketRow.title).order_by(TicketRow.id))).scalars())


async def test_a_burst_beyond_the_queue_is_left_to_the_replay_and_processed_once(store, clock):
    bot = Harness(store, clock)
    router = Router(bot.ctx, workers=1, queue=2)
    events = [CommandIssued(delivery_id=f"cmd:{n}", actor=bot.actor("alice"), conversation=bot.channel(),
                            text=f"new burst {n}") for n in range(12)]
    assert all(await asyncio.gather(*(router.deliver(event, background=True) for event in events)))
    assert router.pool.free >= 0 and len(router._in_flight) <= 3, "one being processed, two queued, no more"
    assert len(await store.pending_deliveries()) >= 9, "the rest waits, recorded, in the inbox"
    for _ in range(30):
        await router.pool.drain()
        if not await store.pending_deliveries():
            break
        await router.replay_waiting()
    assert sorted(await _titles(store)) == sorted(f"burst {n}" for n in range(12))
    assert await router.replay_waiting() == 0
    await router.stop()


async def test_the_replay_leaves_a_young_delivery_to_the_replica_that_took_it(store, clock):
    bot = Harness(store, clock)
    event = CommandIssued(delivery_id="cmd:elsewhere", actor=bot.actor("alice"), conversation=bot.channel(),
                          text="new taken by another replica")
    assert await bot.router.accept(event)  # another replica recorded and acknowledged it, and is processing it
    router = Router(bot.ctx)
    assert await router.replay_waiting() == 0, "young: its own replica processes it"
    clock.advance(seconds=11)
    assert await router.replay_waiting() == 1, "that replica is gone: replayed here"
    await router.pool.drain()
    assert await _titles(store) == ["taken by another replica"]
    await router.stop()


async def test_a_replay_racing_the_first_processor_has_no_second_effect(store, clock):
    bot = Harness(store, clock)
    event = CommandIssued(delivery_id="cmd:raced", actor=bot.actor("alice"), conversation=bot.channel(),
                          text="new raced")
    assert await bot.router.accept(event)
    first, second = Router(bot.ctx), Router(bot.ctx)  # two replicas that both saw it pending
    await asyncio.gather(first.process(event), second.process(event))
    assert await _titles(store) == ["raced"]
    assert not await store.pending_deliveries()


async def test_a_restart_with_a_backlog_answers_at_once_and_works_the_backlog_off(database_url, aiohttp_client,
                                                                                   monkeypatch):
    """Acknowledged commands left by a crash are worked off beside new requests, not before the server answers."""
    from bot.app import build_app
    from bot.config import Settings, load_config
    from bot.ports import SystemClock
    from storage.db import create_engine
    from storage.store import SqlStore
    from tests.harness import EXAMPLE_CONFIG

    backlog = 600
    before = SqlStore(create_engine(database_url), SystemClock())
    bot = Harness(before, SystemClock())
    for n in range(backlog):  # recorded and acknowledged by the replica that then died
        assert await bot.router.accept(CommandIssued(delivery_id=f"cmd:left:{n}", actor=bot.actor("alice"),
                                                     conversation=bot.channel(), text=f"new left behind {n}"))
    await before.close()

    monkeypatch.setenv("DATABASE_URL", database_url)
    client = await aiohttp_client(await build_app(Settings(), config=load_config(EXAMPLE_CONFIG)))
    answered = await client.get("/healthz")
    assert answered.status == 200
    store = SqlStore(create_engine(database_url), SystemClock())
    try:
        waiting = len(await store.pending_deliveries())
        assert waiting > 0, "the server answered only after working off the whole backlog"
        for _ in range(600):
            if not await store.pending_deliveries(limit=1):
                break
            await asyncio.sleep(0.1)
        assert not await store.pending_deliveries(limit=1), "the backlog was not worked off"
        titles = await _titles(store)
        assert sorted(titles) == sorted(f"left behind {n}" for n in range(backlog)), "each exactly once"
    finally:
        await store.close()
