"""Alerts on every platform: a customer's ticket raised to P0 → the director (周总) gets the alert card on that
platform → `工单 预警` lists it → Acknowledge → the card shows who acknowledged, and the list is empty again. What
each fake platform API received (the console, Slack, WeCom, DingTalk)."""

from __future__ import annotations

import html
import json

from tests.contract.drivers import (
    ConsoleDriver,
    DingTalkDriver,
    SlackDriver,
    eventually,
    press_in_dm,
)
from tests.platforms.console_world import messages
from tests.platforms.dingtalk_world import TRIAGE
from tests.platforms.dingtalk_world import card_text as dingtalk_card_text
from tests.platforms.slack_world import card_text
from tests.platforms.wecom_world import text_xml


class Director:
    """周总 on the story's platform: the alert cards in their DM, their `工单 预警`, their Acknowledge."""

    def __init__(self, driver):
        self.d = driver

    async def card_text(self) -> str:
        d = self.d
        if isinstance(d, ConsoleDriver):
            cards = [m for m in await messages(d.client, "zhou") if m["conversation"] == "zhou" and m["card"]]
            return html.unescape(cards[-1]["html"]) if cards else ""
        if isinstance(d, SlackDriver):
            cards = [c for c in d.world.fake.calls if c.status == 200 and c.args.get("channel") == "D0ZHOU"
                     and c.method in ("chat.postMessage", "chat.update") and c.args.get("blocks")]
            return card_text(cards[-1].args) if cards else ""
        if isinstance(d, DingTalkDriver):
            cards = d.world.fake.cards_to("staff-zhou")
            return dingtalk_card_text(cards[-1]) + json.dumps(cards[-1]["data"], ensure_ascii=False) if cards else ""
        cards = d.fake.cards("zhou")
        return json.dumps(cards[-1][1]["template_card"], ensure_ascii=False) if cards else ""

    async def asks_for_alerts(self) -> None:
        d = self.d
        if isinstance(d, ConsoleDriver):
            await d.client.post("/console/api/send", json={"as": "zhou", "conversation": "zhou", "text": "工单 预警"})
        elif isinstance(d, SlackDriver):
            await d.world.command("U0ZHOU", "预警")
        elif isinstance(d, DingTalkDriver):
            assert (await d.world.say("staff-zhou", "工单 预警", group=TRIAGE, nick="周总")).status == 200
        else:
            d.n += 1
            await d._post(text_xml("zhou", "工单 预警", d.n))

    async def texts(self) -> list[str]:
        d = self.d
        if isinstance(d, ConsoleDriver):
            return [html.unescape(m["html"]) for m in await messages(d.client, "zhou")
                    if m["conversation"] == "zhou" and m["bot"] and not m["card"]]
        if isinstance(d, SlackDriver):
            return d.world.texts_to("C0TRIAGE", "chat.postEphemeral")
        if isinstance(d, DingTalkDriver):
            return d.world.fake.texts_to_user("staff-zhou") + d.world.fake.hook_texts(TRIAGE)
        return [b["text"]["content"] for p, _q, b in d.fake.calls
                if p == "message/send" and b.get("touser") == "zhou" and b["msgtype"] == "text"]

    async def acknowledges(self) -> None:
        await press_in_dm(self.d, "zhou", "alert", "ack")


async def contains(text, fragment):
    """`text` (awaited) when it holds `fragment`, else None."""
    value = await text
    return value if fragment in value else None


async def having(texts, fragment):
    """The first of `texts` (awaited) that holds `fragment`, else None."""
    return next((t for t in await texts if fragment in t), None)


async def test_a_p0_alert_is_listed_and_acknowledged_on_every_platform(driver):
    director = Director(driver)
    await driver.customer_says("全站都打不开了")
    await eventually(lambda: having(driver.customer_texts(), "T-000001"))
    await driver.command("priority T-000001 P0")

    card = await eventually(lambda: contains(director.card_text(), "T-000001"))
    assert "🔥 P0 T-000001" in card and "全站都打不开了" in card and "A-000001" in card
    assert "tb:alert:ack:1:" in card, "the Acknowledge button"

    await director.asks_for_alerts()
    listed = await eventually(lambda: having(director.texts(), "未确认的预警"))
    assert "A-000001 🔥 P0 T-000001" in listed

    await director.acknowledges()
    acked = await eventually(lambda: contains(director.card_text(), "确认人"))
    assert "周总" in acked and "tb:alert:ack" not in acked, "updated in place: who acknowledged, no button"
    await director.asks_for_alerts()
    assert await eventually(lambda: having(director.texts(), "没有未确认的预警"))
    assert not [t for t in await driver.customer_texts() if "预警" in t or "A-000001" in t], "customers never see it"
