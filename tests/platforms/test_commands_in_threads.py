"""A mention of the bot that starts with a command word runs the command: in a ticket card's thread as anywhere
(Slack on the wire, and the console's page)."""

from __future__ import annotations

import asyncio

from bot.app import SERVICES
from bot.tickets import Status

CUSTOMER, ALICE = "U0CUST", "U0ALICE"


async def until(check, timeout: float = 10.0):
    """The first true answer of the async `check`, polled until `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (answer := await check()):
        assert asyncio.get_running_loop().time() < deadline, "it never happened"
        await asyncio.sleep(0.05)
    return answer


async def timeline(app, ticket_id: int = 1) -> list[tuple[str, str | None]]:
    async with app[SERVICES].store.unit() as uow:
        return [(entry.kind, entry.text) for entry in await uow.timeline(ticket_id)]


async def ticket(app, ticket_id: int = 1):
    async with app[SERVICES].store.unit() as uow:
        return await uow.get_ticket(ticket_id)


async def test_a_mention_with_a_command_word_in_a_cards_thread_runs_it(slack):
    await slack.say(CUSTOMER, "my order page is broken", "D0CUST")
    card = (await slack.eventually(slack.triage_cards))[0]
    await slack.say(ALICE, "<@U0BOT> claim", "C0TRIAGE", thread_ts=card["ts"], kind="app_mention")
    app = slack.client.app
    found = await until(lambda: _in_progress(app))
    assert found.status is Status.IN_PROGRESS and found.assignee == "alice"
    assert ("note", "claim") not in await timeline(app)  # it was stored as a note "claim"


async def test_a_mention_with_a_command_word_runs_it_in_a_channel(slack):
    await slack.say(CUSTOMER, "my order page is broken", "D0CUST")
    await slack.eventually(slack.triage_cards)
    await slack.say(ALICE, "<@U0BOT> list", "C0TRIAGE", kind="app_mention")
    listing = await slack.eventually(lambda: [a for a in slack.fake.of("chat.postEphemeral") if "T-000001" in a["text"]])
    assert listing[0]["user"] == ALICE


async def test_other_words_to_the_bot_in_a_thread_stay_notes(slack):
    await slack.say(CUSTOMER, "my order page is broken", "D0CUST")
    card = (await slack.eventually(slack.triage_cards))[0]
    await slack.say(ALICE, "<@U0BOT> claims from the CDN look wrong", "C0TRIAGE", thread_ts=card["ts"],
                    kind="app_mention")
    app = slack.client.app
    await until(lambda: _has(app, ("note", "claims from the CDN look wrong")))
    assert (await ticket(app)).status is not Status.IN_PROGRESS


async def _in_progress(app):
    found = await ticket(app)
    return found if found.status is Status.IN_PROGRESS else None


async def _has(app, entry) -> bool:
    return entry in await timeline(app)


async def test_on_the_console_a_mention_in_a_cards_thread_runs_the_command(console):
    from tests.platforms.console_world import AGENT, CUSTOMER, messages, send
    from tests.waiting import eventually

    await send(console, CUSTOMER, CUSTOMER, "我的订单页面打不开")

    async def triage_card():
        return [m for m in await messages(console, AGENT) if m["card"] and m["conversation"] == "triage"]
    card = (await eventually(triage_card))[0]
    await send(console, AGENT, "triage", "@ticketbot claim", thread=card["ref"])
    found = await until(lambda: _in_progress(console.app))
    assert found.assignee == "alice"
    assert not [entry for entry in await timeline(console.app) if entry[0] == "note"]


async def test_in_a_dm_with_the_bot_a_command_word_is_enough_for_staff(console):
    from tests.platforms.console_world import AGENT, CUSTOMER, messages, send
    from tests.waiting import eventually

    await send(console, CUSTOMER, CUSTOMER, "我的订单页面打不开")
    await send(console, AGENT, AGENT, "list")

    async def listed():
        return [m for m in await messages(console, AGENT) if m["bot"] and "T-000001 [" in m["html"]]
    assert await eventually(listed)  # it answered "I only understand ticket commands here"
