"""Stopping the job table: a running tick ends (or is cancelled) before the stop returns — the database the app
closes next is never closed under a job still using it."""

from __future__ import annotations

import asyncio

from schedules.scheduler import JobSpec, Scheduler


async def test_a_running_tick_ends_before_the_stop_returns():
    steps = []

    async def tick():
        steps.append("began")
        await asyncio.sleep(0.3)  # a transaction in flight
        steps.append("ended")

    scheduler = Scheduler([JobSpec("sweep", tick, every_seconds=0.05)])
    scheduler.start()
    while not steps:
        await asyncio.sleep(0.01)
    await scheduler.stop(grace=5)
    assert steps == ["began", "ended"], "the tick finished its work, and no other began"
    await asyncio.sleep(0.2)
    assert steps == ["began", "ended"], "nothing runs after the stop"


async def test_a_tick_that_outlasts_the_grace_is_cancelled_and_waited_for():
    ended = asyncio.Event()

    async def stuck():
        try:
            await asyncio.sleep(60)  # a lock that never comes
        finally:
            ended.set()

    scheduler = Scheduler([JobSpec("stuck", stuck, every_seconds=0.05)])
    scheduler.start()
    await asyncio.sleep(0.2)
    await asyncio.wait_for(scheduler.stop(grace=0.1), timeout=5)
    assert ended.is_set(), "cancelled, and its cleanup ran before the stop returned"
