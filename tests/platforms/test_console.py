"""The whole story through HTTP in the console, as a person clicks it after `make run`.

customer message → ticket → triage card → claim → priority → note → reply reaches the customer → resolve → close
"""

from __future__ import annotations

import base64

import pytest

from bot.app import SERVICES
from tests.platforms.console_world import AGENT, CUSTOMER, control, messages, send
from tests.waiting import eventually


async def triage_card(client):
    async def find():
        cards = [m for m in await messages(client, AGENT) if m["conversation"] == "triage" and m["card"]]
        return cards[-1] if cards else None
    return await eventually(find)


async def press(client, card: dict, verb: str, value: str | None = None):
    response = await client.post("/console/api/press", json={
        "as": AGENT, "conversation": "triage", "ref": card["ref"], "action": control(card["html"], verb), "value": value})
    assert response.status == 200, await response.text()


async def card_shows(client, text: str) -> dict:
    async def find():
        card = await triage_card(client)
        return card if text in card["html"] else None
    return await eventually(find)


async def test_whole_ticket_story_in_the_console(console):
    client = console
    personas = (await (await client.get("/console/api/personas")).json())["personas"]
    assert {"customer", "agent", "lead", "colleague", "manager"} <= {p["role"] for p in personas}

    await send(client, CUSTOMER, CUSTOMER, "我的订单页面打不开")
    answer = await eventually(lambda: _said(client, CUSTOMER, "T-000001"))
    assert "已为您创建工单" in answer

    card = await triage_card(client)
    assert "T-000001" in card["html"] and "我的订单页面打不开" in card["html"]

    await press(client, card, "claim")
    card = await card_shows(client, "处理中")  # the card was updated in place: same ref, new state
    assert card["ref"] == (await triage_card(client))["ref"]

    await press(client, card, "priority", "P1")
    card = await card_shows(client, "P1 · 高")

    await send(client, AGENT, "triage", "/ticket note T-000001 looks like the CDN")
    await send(client, AGENT, "triage", "/ticket reply T-000001 请清除浏览器缓存后再试")
    reply = await eventually(lambda: _said(client, CUSTOMER, "请清除浏览器缓存后再试"))
    assert "Alice Wang" in reply
    assert not any("CDN" in m["html"] for m in await messages(client, CUSTOMER)), "internal notes stay internal"

    await press(client, await triage_card(client), "resolve")
    await card_shows(client, "已解决")
    resolved = await eventually(lambda: _said(client, CUSTOMER, "已解决"))
    assert "T-000001" in resolved

    await press(client, await triage_card(client), "close")
    card = await card_shows(client, "已关闭")
    assert "tb:ticket:reopen" in card["html"] and "tb:ticket:claim" not in card["html"]

    services = client.app[SERVICES]
    async with services.store.unit() as uow:
        kinds = [e.kind for e in await uow.timeline(1)]
    assert kinds[0] == "created" and {"assigned", "priority", "note", "reply"} <= set(kinds)
    assert kinds.count("status") >= 2


async def _said(client, viewer: str, text: str) -> str | None:
    for message in await messages(client, viewer):
        if message["conversation"] == viewer and text in message["html"] and not message["card"]:
            return message["html"]
    return None


async def test_retried_send_with_same_id_has_one_effect(console):
    client = console
    first = await send(client, CUSTOMER, CUSTOMER, "页面打不开", id="client-1")
    second = await send(client, CUSTOMER, CUSTOMER, "页面打不开", id="client-1")
    assert first == {"ok": True} and second.get("duplicate") is True
    await eventually(lambda: _said(client, CUSTOMER, "T-000001"))
    humans = [m for m in await messages(client, CUSTOMER) if not m["bot"]]
    assert len(humans) == 1


@pytest.mark.parametrize("body", [{"as": "nobody", "conversation": "nobody", "text": "hi"},
                                  {"as": CUSTOMER, "conversation": CUSTOMER},
                                  {"as": CUSTOMER, "conversation": "someone-else", "text": "hi"}])
async def test_bad_console_requests_are_refused_and_change_nothing(console, body):
    response = await console.post("/console/api/send", json=body)
    assert response.status == 400
    assert await messages(console, CUSTOMER) == []


async def test_customer_does_not_see_triage_channel_nor_others_dms(console):
    await send(console, CUSTOMER, CUSTOMER, "页面打不开")
    await eventually(lambda: _said(console, CUSTOMER, "T-000001"))
    assert await messages(console, "acme-buyer") == [], "another customer sees nothing of it"
    assert {m["conversation"] for m in await messages(console, CUSTOMER)} == {CUSTOMER}, "no triage channel"
    assert any(m["conversation"] == "triage" for m in await messages(console, AGENT))
    response = await console.post("/console/api/send", json={"as": CUSTOMER, "conversation": "triage", "text": "hi"})
    assert response.status == 400, "customers cannot write in staff channels"


async def test_a_cards_picture_shows_on_the_page_as_a_data_url(console):
    from bot.events import Conversation, ConversationKind, Platform
    from cards.model import Card, Image
    from tests.fakes import TINY_PNG

    messenger = console.app[SERVICES].messengers[Platform.CONSOLE]
    triage = Conversation(platform=Platform.CONSOLE, id="triage", kind=ConversationKind.CHANNEL)
    ref = await messenger.upload_image(triage, Image(alt="open tickets per day", data=TINY_PNG))
    await messenger.post(triage, card=Card(title="Weekly digest", image=Image(alt="open tickets per day", ref=ref)))
    await messenger.post(triage, card=Card(title="Elsewhere", image=Image(alt="x", ref="https://evil.example/x.png")))
    html = [m["html"] for m in await messages(console, AGENT) if m["card"]]
    assert f'<img class="card-image" src="data:image/png;base64,{base64.b64encode(TINY_PNG).decode()}"' in html[0]
    assert 'alt="open tickets per day"' in html[0]
    assert "<img" not in html[1], "only pictures the console itself made are shown"
