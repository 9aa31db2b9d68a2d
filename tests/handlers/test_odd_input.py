"""Odd but legal input answers the same on SQLite and PostgreSQL: no such ticket, cleaned text, a usage answer."""

from __future__ import annotations

import pytest

from bot.app import build_app
from bot.config import Settings, load_config
from bot.events import ButtonPressed
from storage.db import create_engine
from storage.store import SqlStore
from tests.harness import EXAMPLE_CONFIG, Harness

AGENT = "alice"  # answered in English


@pytest.fixture
async def bot(each_database_url, clock):
    store = SqlStore(create_engine(each_database_url), clock)
    harness = Harness(store, clock)
    await harness.say("wang-store", "我的订单页面打不开")
    yield harness
    await store.close()


@pytest.mark.parametrize("command", [
    "/ticket show T-99999999999999999999",  # beyond a 64-bit integer
    "/ticket show T-9999999999",  # beyond a 32-bit integer
    "/ticket sla #2147483648",
    "/ticket note T-99999999999999999999 looked at it",
    "/ticket priority 99999999999999999999 P1",
    "/ticket claim T-000000000000000000000000000099999999999",
])
async def test_a_number_out_of_range_is_no_such_ticket(bot, command):
    await bot.say(AGENT, command, bot.channel())
    number = command.split()[2].lstrip("#").upper().removeprefix("T-").lstrip("0")
    assert bot.last_text("triage", visible_to=AGENT) == f"There is no ticket T-{int(number):06d}."


@pytest.mark.parametrize("action", ["tb:claim:99999999999999999999:1", "tb:ack:9999999999:1",
                                    "tb:view:99999999999999999999:more"])
async def test_a_press_naming_a_number_out_of_range_is_not_valid(bot, action):
    event = ButtonPressed(delivery_id=f"press-{action}", actor=bot.actor(AGENT), conversation=bot.channel(),
                          action=action)
    await bot.router.receive(event)
    await bot.dispatcher.drain()
    assert bot.last_text("triage", visible_to=AGENT) == "That choice is not valid."


@pytest.mark.parametrize(("said", "title"), [
    ("/ticket new printer\x00 on fire", "printer on fire"),
    ("/ticket new \x07bell\x1b[31m red\x7f", "bell[31m red"),
    ("/ticket new lone \ud800surrogate", "lone surrogate"),
])
async def test_control_characters_are_stripped_from_a_title(bot, said, title):
    await bot.say(AGENT, said, bot.channel())
    assert (await bot.ticket(2)).title == title


async def test_control_characters_are_stripped_from_a_customer_message_and_a_note(bot):
    await bot.say("acme-buyer", "发票\x00开错了\x01")
    assert (await bot.ticket(2)).title == "发票开错了"
    await bot.say(AGENT, "/ticket note T-000001 checked\x00 the logs", bot.channel())
    notes = [entry.text for entry in await bot.timeline() if entry.kind == "note"]
    assert notes == ["checked the logs"]


async def test_a_title_too_long_for_a_ticket_is_refused_with_a_usage_answer(bot):
    await bot.say(AGENT, "/ticket new " + "长" * 501, bot.channel())
    assert "at most 200 characters" in bot.last_text("triage", visible_to=AGENT)
    assert await bot.ticket(2) is None


@pytest.fixture
async def console(each_database_url, aiohttp_client, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", each_database_url)
    app = await build_app(Settings(), config=load_config(EXAMPLE_CONFIG))
    return await aiohttp_client(app)


@pytest.mark.parametrize("path", ["/console/api/send", "/console/api/press"])
async def test_a_console_delivery_id_too_long_is_a_bad_request(console, path):
    body = {"as": AGENT, "conversation": AGENT, "text": "hello", "action": "tb:claim:1:1", "id": "x" * 201}
    response = await console.post(path, json=body)
    assert response.status == 400
    fine = await console.post(path, json={**body, "id": "x" * 200})
    assert fine.status == 200
