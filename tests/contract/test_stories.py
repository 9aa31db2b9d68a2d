"""One ticket story, the same on every platform: each driver speaks its platform's wire, the story does not change.

customer message → ticket → triage card → claim → priority → note → reply reaches the customer → resolve → close
"""

from __future__ import annotations

import asyncio
import html
import re

import pytest

from bot.app import SERVICES
from tests.platforms.console_world import messages
from tests.platforms.slack_world import action_id, card_text
from tests.platforms.wecom_world import card_event_xml, encrypted, text_xml


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


async def settled(app) -> bool:
    """Everything the bot meant to send has been sent — what a person sees before they click again."""
    rows = await app[SERVICES].store.outbox_rows()
    return all(row.status in ("sent", "dead") for row in rows)


class Driver:
    """What every platform driver offers; a press waits, like a person, for the card to show the latest state."""

    app = None

    async def press(self, verb, value=None):
        await eventually(lambda: settled(self.app))
        await self._press(verb, value)

    async def _press(self, verb, value=None):
        raise NotImplementedError


class ConsoleDriver(Driver):
    """The story through the console's HTTP API (what the page does)."""

    agent_name = "Alice Wang"

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

    async def _press(self, verb, value=None):
        card = await self.card()
        control = re.search(rf'data-action="(tb:ticket:{verb}:\d+:\d+)"', card["html"]).group(1)
        await self.client.post("/console/api/press", json={"as": "alice", "conversation": "triage", "ref": card["ref"],
                                                           "action": control, "value": value})

    async def command(self, text):
        await self.client.post("/console/api/send", json={"as": "alice", "conversation": "triage", "text": f"/ticket {text}"})

    async def agent_texts(self):
        return [html.unescape(m["html"]) for m in await messages(self.client, "alice")
                if m["conversation"] == "triage" and m["bot"] and not m["card"]]


class SlackDriver(Driver):
    """The story through signed Slack requests; what we see is what the real SDK sent to the fake API."""

    agent_name = "Alice Wang"

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

    async def _press(self, verb, value=None):
        card = self.world.triage_cards()[0]
        kind = "static_select" if value is not None else "button"
        await self.world.press("U0ALICE", card, action_id(card, verb), value=value, kind=kind)

    async def command(self, text):
        await self.world.command("U0ALICE", text)

    async def agent_texts(self):
        return self.world.texts_to("C0TRIAGE", "chat.postEphemeral")


class WeComDriver(Driver):
    """The story through encrypted WeCom callbacks. App group chats cannot carry interactive cards, so the
    agent asks for the card in their own app chat (`工单 查看`) and works it from there."""

    AGENT = "linfang"  # the lead 林芳 works in Chinese, like the shared triage channel of the other drivers
    agent_name = "林芳"

    def __init__(self, client, fake):
        self.client, self.fake = client, fake
        self.app = client.app
        self.n = 1000
        self.asked = False

    async def _post(self, xml: str):
        query, body = encrypted(xml)
        response = await self.client.post("/wecom/callback", params=query, data=body)
        assert response.status == 200

    async def _text(self, user: str, content: str):
        self.n += 1
        await self._post(text_xml(user, content, self.n))

    async def customer_says(self, text):
        await self._text("customer-w", text)

    async def customer_texts(self):
        return [b["text"]["content"] for p, _q, b in self.fake.calls
                if p == "message/send" and b.get("touser") == "customer-w" and b["msgtype"] == "text"]

    def _latest_card(self):
        cards = self.fake.cards(self.AGENT)
        return cards[-1][1]["template_card"] if cards else None

    async def card_text(self):
        if not self.asked:
            self.asked = True
            await self._text(self.AGENT, "工单 查看 T-000001")
        card = self._latest_card()
        if card is None:
            return ""
        keys = [b["key"] for b in card.get("button_list", [])] + [card.get("button_selection", {}).get("question_key", "")]
        rows = [f"{r['keyname']}: {r['value']}" for r in card["horizontal_content_list"]]
        return "\n".join([card["main_title"]["title"], card.get("sub_title_text", ""), *rows, *keys])

    async def _press(self, verb, value=None):
        card = self._latest_card()
        if value is None:
            key = next(b["key"] for b in card["button_list"] if b["key"].split(":")[2] == verb)
            xml = card_event_xml(self.AGENT, key, "RC", card["task_id"])
        else:
            key = card["button_selection"]["question_key"]
            xml = card_event_xml(self.AGENT, key, "RC", card["task_id"], question=key, option=value)
        await asyncio.sleep(0.002)  # events are told apart by sender + create time + key, as WeCom does
        await self._post(xml)

    async def command(self, text):
        await self._text(self.AGENT, f"工单 {text}")

    async def agent_texts(self):
        return [b["text"]["content"] for p, _q, b in self.fake.calls
                if p == "message/send" and b.get("touser") == self.AGENT and b["msgtype"] == "text"]


@pytest.fixture(params=["console", "slack", "wecom"])
def driver(request):
    if request.param == "console":
        return ConsoleDriver(request.getfixturevalue("console"))
    if request.param == "slack":
        return SlackDriver(request.getfixturevalue("slack"))
    return WeComDriver(*request.getfixturevalue("wecom"))


async def test_ticket_story(driver):
    await driver.customer_says("我的订单页面打不开")
    answer = await eventually(lambda: _having(driver.customer_texts(), "T-000001"))
    assert "已为您创建工单" in answer
    assert "我的订单页面打不开" in await eventually(lambda: _contains(driver.card_text(), "T-000001"))

    await driver.press("claim")
    await eventually(lambda: _contains(driver.card_text(), "处理中"))
    await driver.press("priority", "P1")
    await eventually(lambda: _contains(driver.card_text(), "P1 · 高"))

    await driver.command("note T-000001 looks like the CDN")
    await driver.command("reply T-000001 请清除浏览器缓存后再试")
    reply = await eventually(lambda: _having(driver.customer_texts(), "请清除浏览器缓存后再试"))
    assert driver.agent_name in reply

    await driver.press("resolve")
    await eventually(lambda: _contains(driver.card_text(), "已解决"))
    assert await eventually(lambda: _having(driver.customer_texts(), "已解决"))
    await driver.press("close")
    closed = await eventually(lambda: _contains(driver.card_text(), "已关闭"))
    assert "tb:ticket:reopen" in closed and "tb:ticket:claim" not in closed
    assert not [t for t in await driver.customer_texts() if "CDN" in t], "internal notes never reach the customer"

    async with driver.app[SERVICES].store.unit() as uow:
        kinds = [e.kind for e in await uow.timeline(1)]
    assert kinds[0] == "created" and {"assigned", "priority", "note", "reply"} <= set(kinds)


async def test_nothing_closes_silently(driver):
    """A close without an answer asks for a reason; the customer hears of the close and where they write next."""
    await driver.customer_says("我的订单页面打不开")
    await eventually(lambda: _having(driver.customer_texts(), "T-000001"))
    await eventually(lambda: _contains(driver.card_text(), "T-000001"))

    await driver.press("close")
    asked = await eventually(lambda: _having(driver.agent_texts(), " T-000001 <"))  # the command to type
    assert "<reason>" in asked or "<原因>" in asked, asked
    assert "已关闭" not in await driver.card_text(), "nothing changed"

    await driver.command("close T-000001 已电话联系解决")
    told = await eventually(lambda: _having(driver.customer_texts(), "已关闭"))
    assert "T-000001" in told and "已电话联系解决" in told
    await eventually(lambda: _contains(driver.card_text(), "已关闭"))

    await driver.customer_says("还是打不开")
    linked = await eventually(lambda: _having(driver.customer_texts(), "T-000002"))
    assert "T-000001" in linked and "已关闭" in linked


async def _having(texts, fragment):
    return next((t for t in await texts if fragment in t), None)


async def _contains(text, fragment):
    value = await text
    return value if fragment in value else None


async def test_knowledge_base_story(driver):
    """Search the knowledge base, send an article to the customer (their first answer), save the solved ticket."""
    from bot.kb import ArticleDraft, ArticleVisibility

    async with driver.app[SERVICES].store.unit() as uow:
        await uow.kb.add_article(ArticleDraft(title="发票抬头开错了如何重开", problem="电子发票上的公司名称写错了",
                                              solution="在「我的订单 → 发票详情」点击申请换开",
                                              visibility=ArticleVisibility.PUBLIC), author="lin")
    await driver.customer_says("发票抬头写错了，能重新开吗")
    await eventually(lambda: _having(driver.customer_texts(), "T-000001"))

    await driver.command("kb 公司名称 写错")
    found = await eventually(lambda: _having(driver.agent_texts(), "“公司名称 写错”"))
    assert "KB-1 发票抬头开错了如何重开" in found and "电子发票上的公司名称写错了" in found, "with the passage that matched"
    await driver.command("kb send T-000001 KB-1")
    sent = await eventually(lambda: _having(driver.customer_texts(), "申请换开"))
    assert "KB-1" in sent and driver.agent_name in sent

    await driver.command("resolve T-000001 已换开")
    await eventually(lambda: _having(driver.customer_texts(), "已换开"))
    await driver.command("kb save T-000001")
    await eventually(lambda: _having(driver.agent_texts(), "KB-2"))
    async with driver.app[SERVICES].store.unit() as uow:
        ticket = await uow.get_ticket(1)
        [reply] = [e for e in await uow.timeline(1) if e.kind == "reply"]
        draft = await uow.kb.get_article(2)
    assert ticket.first_response_at is not None and reply.detail == {"article": "KB-1"}
    assert draft.problem == "发票抬头写错了，能重新开吗" and draft.source_tickets == (1,)
