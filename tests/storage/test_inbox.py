"""The inbox's writer: deliveries recorded with group commit, never waiting behind ticket transactions."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import StatementError

from bot.events import Conversation, Platform
from bot.ports import AlreadyProcessed
from bot.tickets import Identity, Ticket


def _ticket(title: str) -> Ticket:
    return Ticket(title=title, requester=Identity(Platform.CONSOLE, "wang-store"),
                  source=Conversation(platform=Platform.CONSOLE, id="wang-store"))


async def test_concurrent_records_share_transactions_and_each_hears_whether_it_was_new(store):
    await store.record_delivery(Platform.SLACK, "seen-before", {"n": -1})
    ids = [f"ev-{n}" for n in range(200)] + ["ev-7", "seen-before"]  # a repeat within the burst, and an old one
    flushes = store.inbox.flushes
    fresh = await asyncio.gather(*(store.record_delivery(Platform.SLACK, i, {"id": i}) for i in ids))
    assert fresh == [True] * 200 + [False, False]
    assert store.inbox.flushes - flushes <= 3, "one transaction for the first, one for everyone who queued meanwhile"
    pending = {delivery_id: payload for _platform, delivery_id, payload in await store.pending_deliveries()}
    assert len(pending) == 201 and pending["ev-7"] == {"id": "ev-7"}, "the first payload of a repeated id is kept"


async def test_a_failed_flush_tells_its_callers_and_the_next_batch_still_commits(store):
    ok = await store.record_delivery(Platform.SLACK, "fine", {})
    with pytest.raises(StatementError, match="not JSON serializable"):  # a payload the database cannot store: that batch fails as a whole
        await store.record_delivery(Platform.SLACK, "bad", {"x": object()})
    assert ok and await store.record_delivery(Platform.SLACK, "after", {})
    assert {d for _p, d, _x in await store.pending_deliveries()} == {"fine", "after"}


async def test_a_record_goes_before_the_ticket_transactions_queued_ahead_of_it(store):
    if store.engine.dialect.name != "sqlite":
        pytest.skip("on PostgreSQL the recorder has its own pool (tested below)")
    order: list[str] = []
    release = asyncio.Event()

    async def holder():
        async with store.unit() as uow:
            await uow.add_ticket(_ticket("under way"))
            await release.wait()

    async def queued(n: int):
        async with store.unit() as uow:
            order.append(f"unit {n}")
            await uow.add_ticket(_ticket(f"queued {n}"))
            await asyncio.sleep(0.05)  # ticket work takes its time

    async def record():
        await store.record_delivery(Platform.SLACK, "ack-me", {})
        order.append("record")

    holding = asyncio.ensure_future(holder())
    await asyncio.sleep(0.05)
    units = [asyncio.ensure_future(queued(n)) for n in range(5)]
    await asyncio.sleep(0.05)  # the five are queued for the writer's turn
    recording = asyncio.ensure_future(record())
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(holding, recording, *units)
    assert order[0] == "record", f"acknowledged only after the queued ticket work: {order}"
    assert order[1:] == [f"unit {n}" for n in range(5)], "ordinary turns keep their order"


async def test_a_record_does_not_wait_for_a_pool_busy_with_processing(store):
    if store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer: its turn order is tested above")
    release = asyncio.Event()
    started = asyncio.Event()
    holding = 0

    async def hold():
        nonlocal holding
        async with store.unit() as uow:
            await uow.add_ticket(_ticket("processing"))
            holding += 1
            if holding == 20:
                started.set()
            await release.wait()

    holders = [asyncio.ensure_future(hold()) for _ in range(20)]  # every connection of the main pool
    await asyncio.wait_for(started.wait(), 10)
    try:
        async with asyncio.timeout(3):  # the main pool would make it wait 30 s for a connection
            assert await store.record_delivery(Platform.SLACK, "ack-me", {})
    finally:
        release.set()
        await asyncio.gather(*holders)


async def test_a_cancelled_wait_for_a_turn_holds_nobody_up(store):
    if store.engine.dialect.name != "sqlite":
        pytest.skip("turns are SQLite's")
    release = asyncio.Event()

    async def holder():
        async with store.unit():
            await release.wait()

    async def waiter():
        async with store.unit() as uow:
            await uow.add_ticket(_ticket("after"))

    holding = asyncio.ensure_future(holder())
    await asyncio.sleep(0.01)
    gone, stays = asyncio.ensure_future(waiter()), asyncio.ensure_future(waiter())
    await asyncio.sleep(0.01)
    gone.cancel()
    release.set()
    async with asyncio.timeout(3):
        await asyncio.gather(holding, stays)
    assert store.sessions.waiting == 0


async def test_a_delivery_is_marked_done_once_the_second_processor_rolls_back(store):
    await store.record_delivery(Platform.SLACK, "ev-1", {})
    async with store.unit() as uow:
        await uow.add_ticket(_ticket("first processor"))
        await uow.mark_delivery_done(Platform.SLACK, "ev-1")
    with pytest.raises(AlreadyProcessed):
        async with store.unit() as uow:
            await uow.add_ticket(_ticket("second processor"))
            await uow.mark_delivery_done(Platform.SLACK, "ev-1")
    async with store.snapshot() as view:
        assert (await view.get_ticket(1)).title == "first processor" and await view.get_ticket(2) is None
    async with store.unit() as uow:  # an id never recorded (work not from a delivery) has nothing to mark
        await uow.mark_delivery_done(Platform.SLACK, "never-recorded")
