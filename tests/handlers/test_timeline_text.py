"""Issue 12 item 7: `/ticket show` reads like a person wrote it, in the reader's language and time zone."""

from __future__ import annotations

import re

from tests.harness import Harness


async def _story(store, clock) -> Harness:
    """A customer's ticket, auto-assigned to Alice, claimed, raised to P1, handed to Finance, resolved."""
    bot = Harness(store, clock)
    await bot.say("wang-store", "页面打不开")
    clock.advance(minutes=5)
    await bot.say("alice", "/ticket claim T-000001", bot.channel())
    await bot.say("alice", "/ticket priority T-000001 P1", bot.channel())
    await bot.say("alice", "/ticket note T-000001 checked the logs", bot.channel())
    await bot.say("linfang", "/ticket assign T-000001 @li", bot.channel())
    await bot.say("linfang", "/ticket resolve T-000001 cache cleared", bot.channel())
    return bot


async def test_a_chinese_reader_sees_chinese_labels_names_and_shanghai_time(store, clock):
    bot = await _story(store, clock)
    await bot.say("linfang", "/ticket show T-000001", bot.channel())
    shown = bot.last_text("triage", visible_to="linfang")
    assert "None" not in shown
    for raw in ("created", "assigned", "status", "priority", "note", "in_progress", "resolved", " li ", "alice"):
        assert raw not in shown, f"{raw!r} is a stored value, not words: {shown}"
    assert "已解决" in shown and "李明" in shown and "Alice Wang" in shown and "P1 · 高" in shown
    # Opened Fri 02:00 UTC = 10:00 in Shanghai (the business_hours timezone, as `/ticket sla` shows it).
    assert re.search(r"11-20 10:0\d", shown) and "11-20 02:0" not in shown, shown


async def test_an_english_reader_sees_english_words(store, clock):
    bot = await _story(store, clock)
    await bot.say("alice", "/ticket show T-000001", bot.channel())
    shown = bot.last_text("triage", visible_to="alice")
    assert "None" not in shown and "in_progress" not in shown and "d:" not in shown
    assert "Resolved" in shown and "李明" in shown and "checked the logs" in shown
