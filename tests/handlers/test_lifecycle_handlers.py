"""Every (state, action) pair through the real command path: legal moves change the ticket, illegal ones nothing."""

from __future__ import annotations

import pytest

from bot.i18n import translator
from bot.i18n.labels import status_label
from bot.tickets import Action, Status
from tests.harness import Harness
from tests.lifecycle_spec import ACTIONS, EXPECTED

LEAD = "linfang"  # a lead may do everything, so only the lifecycle decides here
CUSTOMER = "wang-store"
COMMANDS = {
    "claim": "/ticket claim T-000001",
    "assign": "/ticket assign T-000001 @liming",
    "priority": "/ticket priority T-000001 P1",
    "category": "/ticket category T-000001 bug",
    "note": "/ticket note T-000001 checked the logs",
    "reply": "/ticket reply T-000001 we are on it",
    "wait_customer": "/ticket wait T-000001 customer",
    "wait_colleague": "/ticket wait T-000001 colleague",
    "resume": "/ticket resume T-000001",
    "resolve": "/ticket resolve T-000001 restarted",
    "close": "/ticket close T-000001",
    "reopen": "/ticket reopen T-000001",
    "ask": "/ticket ask T-000001 @finance please check the invoice",
}
CASES = [(s, a, row[i]) for s, row in EXPECTED.items() for i, a in enumerate(ACTIONS)]


@pytest.fixture
async def bot(store, clock):
    harness = Harness(store, clock)
    await harness.say(CUSTOMER, "我的订单页面打不开")
    return harness


@pytest.mark.parametrize(("status", "action", "expected"), CASES, ids=[f"{s}-{a}" for s, a, _ in CASES])
async def test_state_action_pair(bot, status, action, expected):
    # Answered, so that a close needs no reason (closing an unanswered ticket asks for one: tests/test_closing.py).
    await bot.force(status=status, priority=bot.config.intake.default_priority, category="other", assignee="alice",
                    first_response_at=bot.clock.now())
    before = await bot.ticket()
    if action == "customer_message":
        await bot.say(CUSTOMER, "还是不行")
    else:
        await bot.say(LEAD, COMMANDS[action], bot.channel())
    after = await bot.ticket()
    if expected is None and action == "customer_message":
        # A closed ticket is not revived by the customer writing again: they get a new one.
        assert after.status is status and after.version == before.version
        assert (await bot.ticket(2)).title == "还是不行"
    elif expected is None:
        assert after.status is status
        assert after.version == before.version, "an illegal action must change nothing"
        zh = translator("zh-CN")
        message = bot.last_text("triage", visible_to="linfang")
        assert "T-000001" in message and status_label(status, zh) in message
    else:
        assert after.status is expected
        assert after.version == before.version + 1


async def test_illegal_action_in_english_names_state_and_allowed_actions(bot):
    await bot.force(status=Status.RESOLVED)
    await bot.say("alice", "/ticket claim T-000001", bot.channel())
    message = bot.last_text("triage", visible_to="alice")
    assert "T-000001 is Resolved" in message
    assert "Close" in message and "Reopen" in message and "Claim" not in message.split("Allowed")[1]


async def test_reopen_of_closed_ticket_only_within_window(bot, clock):
    await bot.force(first_response_at=clock.now())  # answered, so the close needs no reason
    await bot.say(LEAD, "/ticket close T-000001", bot.channel())
    clock.advance(days=bot.config.lifecycle.reopen_window_days + 1)
    await bot.say(LEAD, "/ticket reopen T-000001", bot.channel())
    assert (await bot.ticket()).status is Status.CLOSED
    assert "T-000001" in bot.last_text("triage", visible_to="linfang")


async def test_reopen_of_recently_closed_ticket(bot, clock):
    await bot.force(first_response_at=clock.now())  # answered, so the close needs no reason
    await bot.say(LEAD, "/ticket close T-000001", bot.channel())
    clock.advance(days=1)
    await bot.say(LEAD, "/ticket reopen T-000001 customer called back", bot.channel())
    ticket = await bot.ticket()
    assert ticket.status is Status.TRIAGED and ticket.closed_at is None


async def test_every_change_appends_a_timeline_entry(bot):
    await bot.say(LEAD, COMMANDS["claim"], bot.channel())
    await bot.say(LEAD, COMMANDS["priority"], bot.channel())
    entries = await bot.timeline()
    kinds = [e.kind for e in entries]
    assert kinds[0] == "created" and "assigned" in kinds and "priority" in kinds
    priority = next(e for e in entries if e.kind == "priority")
    assert (priority.before, priority.after, priority.actor, priority.platform.value) == ("P2", "P1", "lin", "console")
    assert [e.at for e in entries] == sorted(e.at for e in entries)


async def test_unknown_ticket_is_reported_and_nothing_changes(bot):
    await bot.say(LEAD, "/ticket resolve T-000099", bot.channel())
    assert "T-000099" in bot.last_text("triage", visible_to="linfang")
    assert len(await bot.timeline()) >= 1


async def test_actions_list_is_complete():
    assert set(COMMANDS) | {"customer_message"} == {a.value for a in Action}


async def test_claiming_ones_own_ticket_in_progress_records_nothing(bot):
    await bot.force(assignee="alice", status=Status.IN_PROGRESS)
    before, lines = await bot.ticket(), len(await bot.timeline())
    await bot.say("alice", "/ticket claim T-000001", bot.channel())
    assert bot.last_text("triage", visible_to="alice") == "T-000001 is already assigned to you."
    assert (await bot.ticket()).version == before.version and len(await bot.timeline()) == lines


async def test_claiming_ones_own_triaged_ticket_only_starts_it(bot):
    await bot.force(assignee="alice", status=Status.TRIAGED)
    lines = len(await bot.timeline())
    await bot.say("alice", "/ticket claim T-000001", bot.channel())
    assert (await bot.ticket()).status is Status.IN_PROGRESS
    added = (await bot.timeline())[lines:]
    assert [(e.kind, e.before, e.after) for e in added] == [("status", "triaged", "in_progress")]


@pytest.mark.parametrize(("command", "answer"), [
    ("/ticket assign T-000001 @alice", "T-000001 is already assigned to Alice Wang."),
    ("/ticket priority T-000001 P2", "T-000001 is already P2."),
    ("/ticket category T-000001 bug", "T-000001 is already Bug."),
])
async def test_a_change_to_what_it_already_is_records_nothing_and_says_so(bot, command, answer):
    await bot.force(assignee="alice", status=Status.TRIAGED, category="bug")
    before, lines = await bot.ticket(), len(await bot.timeline())
    await bot.say("alice", command, bot.channel())
    assert bot.last_text("triage", visible_to="alice") == answer
    assert (await bot.ticket()).version == before.version and len(await bot.timeline()) == lines


async def test_moving_to_the_queue_it_is_in_records_nothing(bot):
    await bot.force(assignee=None, department="finance", status=Status.TRIAGED)
    before = await bot.ticket()
    await bot.say(LEAD, "/ticket assign T-000001 @finance", bot.channel())
    assert "T-000001" in bot.last_text("triage", visible_to="linfang")
    assert (await bot.ticket()).version == before.version


async def test_the_timeline_shows_no_placeholder_values(bot):
    await bot.say("alice", "/ticket show T-000001", bot.channel())
    shown = bot.last_text("triage", visible_to="alice")
    assert "Recent activity" in shown and "None" not in shown
