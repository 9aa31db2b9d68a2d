"""Issue 12 item 9: `help` shows a reader what they can do — a customer is not shown the staff's commands."""

from __future__ import annotations

from tests.harness import Harness


async def test_a_customer_gets_the_customer_commands(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "/ticket help")
    said = bot.last_text("wang-store", visible_to="wang-store")
    for staff_only in ("assign", "note", "priority", "stats", "指派", "备注"):
        assert staff_only not in said, f"a customer is shown {staff_only!r}: {said}"
    assert "/ticket show" in said and "/ticket reopen" in said and "/ticket list" in said


async def test_staff_still_get_every_command(store, clock):
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket help")
    said = bot.last_text("alice", visible_to="alice")
    assert "/ticket assign" in said and "/ticket note" in said and "/ticket stats" in said
