"""One ticket story, the same on every platform: each driver speaks its platform's wire, the story does not change.

customer message → ticket → triage card → claim → priority → note → reply reaches the customer → resolve → close
"""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.app import SERVICES
from tests.test_console_e2e import console, messages  # noqa: F401  (fixture)
from tests.test_slack import action_id, card_text, slack  # noqa: F401  (fixture)


async def eventually(check, timeout: float = 10.0):
    """Poll an async or plain check until it is truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "the platform never showed it"
        await asyncio.sleep(0.05)


class ConsoleDriver:
    """The story through the console's HTTP API (what the page does)."""

    def __init__(self, client):
        self.client = client
        self.app = client.app

    async def customer_says(self, text):
        await self.client.post("/console/api/send", json={"as": "wang-store", "conversation": "wang-store", "text": text})

    async def customer_texts(self):
        return [m["html"] for m in await messages(self.client, "wang-store") if m["bot"] and not m["card"]]

    async def card(self):
        cards = [m for m in await messages(self.client, "alice") if m["conversation"] == "triage" and m["card"]]
        return cards[-1] if cards else None

    async def card_text(self):
        card = await self.card()
        return card["html"] if card else ""

    async def press(self, verb, value=None):
        card = await self.card()
        control = re.search(rf'data-action="(tb:{verb}:\d+:\d+)"', card["html"]).group(1)
        await self.client.post("/console/api/press", json={"as": "alice", "conversation": "triage", "ref": card["ref"],
                                                           "action": control, "value": value})

    async def command(self, text):
        await self.client.post("/console/api/send", json={"as": "alice", "conversation": "triage", "text": f"/ticket {text}"})


class SlackDriver:
    """The story through signed Slack requests; what we see is what the real SDK sent to the fake API."""

    def __init__(self, world):
        self.world = world
        self.app = world.client.app

    async def customer_says(self, text):
        await self.world.say("U0CUST", text, "D0CUST")

    async def customer_texts(self):
        return self.world.texts_to("D0CUST")

    async def card_text(self):
        cards = self.world.triage_cards()
        return card_text(cards[0]) if cards else ""

    async def press(self, verb, value=None):
        card = self.world.triage_cards()[0]
        kind = "static_select" if value is not None else "button"
        await self.world.press("U0ALICE", card, action_id(card, verb), value=value, kind=kind)

    async def command(self, text):
        await self.world.command("U0ALICE", text)


@pytest.fixture(params=["console", "slack"])
def driver(request):
    if request.param == "console":
        return ConsoleDriver(request.getfixturevalue("console"))
    return SlackDriver(request.getfixturevalue("slack"))


async def test_ticket_story(driver):
    await driver.customer_says("我的订单页面打不开")
    answer = await eventually(lambda: _having(driver.customer_texts(), "T-000001"))
    assert "已为您创建工单" in answer
    assert "我的订单页面打不开" in await eventually(driver.card_text)

    await driver.press("claim")
    await eventually(lambda: _contains(driver.card_text(), "处理中"))
    await driver.press("priority", "P1")
    await eventually(lambda: _contains(driver.card_text(), "P1 · 高"))

    await driver.command("note T-000001 looks like the CDN")
    await driver.command("reply T-000001 请清除浏览器缓存后再试")
    reply = await eventually(lambda: _having(driver.customer_texts(), "请清除浏览器缓存后再试"))
    assert "Alice Wang" in reply

    await driver.press("resolve")
    await eventually(lambda: _contains(driver.card_text(), "已解决"))
    assert await eventually(lambda: _having(driver.customer_texts(), "已解决"))
    await driver.press("close")
    closed = await eventually(lambda: _contains(driver.card_text(), "已关闭"))
    assert "tb:reopen" in closed and "tb:claim" not in closed
    assert not [t for t in await driver.customer_texts() if "CDN" in t], "internal notes never reach the customer"

    async with driver.app[SERVICES].store.unit() as uow:
        kinds = [e.kind for e in await uow.timeline(1)]
    assert kinds[0] == "created" and {"assigned", "priority", "note", "reply"} <= set(kinds)


async def _having(texts, fragment):
    return next((t for t in await texts if fragment in t), None)


async def _contains(text, fragment):
    value = await text
    return value if fragment in value else None
