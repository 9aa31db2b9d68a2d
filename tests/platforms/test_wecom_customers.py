"""A customer in WeCom app chat hears what is meant for them: replies, waiting and resolution in words, not a
new copy of the ticket's card on every triage change (their copy, a text_notice, cannot be updated in place)."""

from __future__ import annotations

import asyncio

from tests.platforms.wecom_world import card_event_xml, encrypted, text_xml
from tests.waiting import eventually

CUSTOMER = "customer-7"


async def _say(client, user: str, text: str, msg_id: int) -> None:
    query, body = encrypted(text_xml(user, text, msg_id))
    assert (await client.post("/wecom/callback", params=query, data=body)).status == 200


def _to_customer(fake) -> list[dict]:
    return [body for path, _q, body in fake.calls if path == "message/send" and body.get("touser") == CUSTOMER]


async def _quiet(fake, what, count: int) -> None:
    """Wait until `what(fake)` has `count` items, then a moment longer for anything more to arrive."""
    await eventually(lambda: len(what(fake)) >= count)
    await asyncio.sleep(0.5)


async def test_a_wecom_customer_hears_replies_waiting_and_resolution_in_words_not_triage(wecom):
    client, fake = wecom
    await _say(client, CUSTOMER, "发票开错了", 1)
    await _quiet(fake, _to_customer, 2)
    opened = _to_customer(fake)
    assert [m["msgtype"] for m in opened] == ["text", "template_card"]  # the answer, and the ticket's card once
    assert opened[1]["template_card"]["card_type"] == "text_notice"

    # Triage: priority, category, a claim, and a click on a card that has moved on (stale).
    for n, command in enumerate(["工单 优先级 T-000001 P1", "工单 分类 T-000001 billing", "工单 认领 T-000001"], 10):
        await _say(client, "liming", command, n)
    await eventually(lambda: [t for t in fake.sent("liming") if "认领" in t])
    query, body = encrypted(card_event_xml("liming", "tb:ticket:priority:1:1", "RC-stale", "task-stale",
                                           question="tb:ticket:priority:1:1", option="P0"))
    await client.post("/wecom/callback", params=query, data=body)
    await asyncio.sleep(1.0)
    assert _to_customer(fake) == opened  # each of these sent the customer a new copy of the card

    # What is meant for them arrives, in words.
    await _say(client, "liming", "工单 回复 T-000001 已为您重开发票，请查收", 20)
    await _say(client, "liming", "工单 等待 T-000001 客户", 21)
    await _say(client, "liming", "工单 解决 T-000001 发票已重开", 22)
    await _quiet(fake, _to_customer, len(opened) + 4)
    later = _to_customer(fake)[len(opened):]
    # Three answers in words, then the satisfaction survey the resolution brings: no copy of the ticket's card.
    assert [m["msgtype"] for m in later] == ["text", "text", "text", "template_card"], later
    assert later[3]["template_card"]["main_title"]["title"] != opened[1]["template_card"]["main_title"]["title"]
    words = [m["text"]["content"] for m in later[:3]]
    assert "已为您重开发票" in words[0]
    assert "T-000001" in words[1] and "等" in words[1]  # we wait for their answer: said so
    assert "已解决" in words[2] and "发票已重开" in words[2]
