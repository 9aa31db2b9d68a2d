"""Commands that race on one ticket all apply: only a card press, which carries the version seen, may lose."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.events import MessagePosted
from storage.db import create_engine
from storage.store import SqlStore
from tests.harness import Harness

RACERS = 50
AGENT = "alice"  # an English-speaking agent, so the answers can be read here


@pytest.fixture
async def bot(store, clock):
    harness = Harness(store, clock)
    await harness.say("wang-store", "我的订单页面打不开")
    await harness.force(assignee="alice")
    return harness


async def _race(bot: Harness, texts: list[str], *replicas: Harness) -> list[str]:
    """Every text as a command at once through the router (spread over the replicas); the answers the agent saw."""
    bots = [bot, *replicas]
    events = [MessagePosted(delivery_id=f"race-{n}", actor=bot.actor(AGENT), conversation=bot.channel(), text=text)
              for n, text in enumerate(texts)]
    await asyncio.gather(*(bots[n % len(bots)].router.receive(event) for n, event in enumerate(events)))
    for one in bots:
        await one.dispatcher.drain()
    return [text for one in bots for text in one.texts("triage", visible_to=AGENT)]


async def test_fifty_concurrent_notes_all_apply(bot):
    answers = await _race(bot, [f"/ticket note T-000001 finding {n}" for n in range(RACERS)])
    notes = [entry.text for entry in await bot.timeline() if entry.kind == "note"]
    assert sorted(notes) == sorted(f"finding {n}" for n in range(RACERS))
    assert sum(answer == "Internal note added to T-000001." for answer in answers) == RACERS
    assert not [answer for answer in answers if "was just changed" in answer]


async def test_fifty_concurrent_priority_changes_all_apply(bot):
    answers = await _race(bot, [f"/ticket priority T-000001 P{n % 4}" for n in range(RACERS)])
    assert not [answer for answer in answers if "was just changed" in answer]
    changed = [answer for answer in answers if re.fullmatch(r"T-000001 priority P\d · \w+ → P\d · \w+\.", answer)]
    unchanged = [answer for answer in answers if re.fullmatch(r"T-000001 is already P\d\.", answer)]
    assert len(changed) + len(unchanged) == RACERS, answers
    lines = [entry for entry in await bot.timeline() if entry.kind == "priority"]
    assert len(lines) == len(changed) > 0
    # Each change starts where the one before it ended: no update was lost.
    assert all(a.after == b.before for a, b in zip(lines, lines[1:], strict=False))
    assert (await bot.ticket()).priority.value == lines[-1].after


@pytest.fixture
async def replica(database_url, clock, store):
    """A second bot on the same database, as another replica would be: its own engine, its own process state."""
    if store.engine.dialect.name == "sqlite":
        pytest.skip("replicas share a PostgreSQL database; SQLite is one process's file")
    other = SqlStore(create_engine(database_url), clock)
    yield Harness(other, clock)
    await other.close()


async def test_fifty_concurrent_notes_over_two_replicas_all_apply(bot, replica):
    answers = await _race(bot, [f"/ticket note T-000001 finding {n}" for n in range(RACERS)], replica)
    notes = [entry.text for entry in await bot.timeline() if entry.kind == "note"]
    assert sorted(notes) == sorted(f"finding {n}" for n in range(RACERS))
    assert sum(answer == "Internal note added to T-000001." for answer in answers) == RACERS


async def test_a_customers_messages_arriving_together_join_one_ticket(store, clock, replica):
    # A text and a screenshot sent together are two deliveries processed side by side (and, with replicas, maybe
    # by two processes): before, each found no open ticket and opened its own.
    bot = Harness(store, clock)
    events = [MessagePosted(delivery_id=f"cust-{n}", actor=bot.actor("acme-buyer"), conversation=bot.dm("acme-buyer"),
                            text=text) for n, text in enumerate(["付款页面报错", "截图如下", "还有一个问题", "谢谢"])]
    await asyncio.gather(*((bot, replica)[n % 2].router.receive(event) for n, event in enumerate(events)))
    async with store.unit() as uow:
        assert await uow.get_ticket(2) is None, "one ticket"
        entries = [e.kind for e in await uow.timeline(1) if e.kind in ("created", "customer_message")]
    assert sorted(entries) == ["created", "customer_message", "customer_message", "customer_message"]
