"""DingTalk Stream mode with the real dingtalk-stream client connected to a local fake gateway (port 0): frames
pushed over the WebSocket, acks checked, a redelivery without a second effect, a card press, a dropped socket."""

from __future__ import annotations

import pytest

from bot.app import SERVICES
from bot.ports import TicketQuery
from tests.platforms.dingtalk_world import APP_KEY, TRIAGE, card_text, control_id, start_dingtalk
from tests.waiting import eventually

MESSAGES = "/v1.0/im/bot/messages/get"
CARDS = "/v1.0/card/instances/callback"


@pytest.fixture
async def streaming(database_url, aiohttp_client, aiohttp_server, monkeypatch):
    world = await start_dingtalk(database_url=database_url, aiohttp_client=aiohttp_client,
                                 aiohttp_server=aiohttp_server, monkeypatch=monkeypatch,
                                 env={"DINGTALK_STREAM": "1"})
    await eventually(lambda: world.fake.sockets)
    return world


async def tickets(world) -> int:
    async with world.client.app[SERVICES].store.unit() as uow:
        return len(await uow.list_tickets(TicketQuery()))


async def test_the_client_subscribes_with_the_app_credentials_and_no_http_callback_is_mounted(streaming):
    [opened] = streaming.fake.opened
    assert (opened["clientId"], opened["clientSecret"]) == (APP_KEY, "test_app_secret")
    assert {s["topic"] for s in opened["subscriptions"]} == {MESSAGES, CARDS}
    response = await streaming.post(streaming.message("staff-outsider", "页面打不开"))
    assert response.status == 404, "in Stream mode DingTalk does not post to us"


async def test_a_robot_message_is_acked_once_recorded_and_a_redelivery_has_no_second_effect(streaming):
    fake = streaming.fake
    body = streaming.message("staff-outsider", "我的订单页面打不开")
    await fake.push("CALLBACK", MESSAGES, body, "frame-1")
    ack = await eventually(lambda: fake.acks.get("frame-1"))
    assert ack["code"] == 200 and ack["headers"]["contentType"] == "application/json"
    answer = await eventually(lambda: fake.hook_texts("staff-outsider"))
    assert "T-000001" in answer[0]
    await fake.push("CALLBACK", MESSAGES, body, "frame-2")  # DingTalk delivers the same msgId again
    assert (await eventually(lambda: fake.acks.get("frame-2")))["code"] == 200
    await eventually(lambda: fake.cards_in(TRIAGE))
    assert await tickets(streaming) == 1 and len(fake.hook_texts("staff-outsider")) == 1


async def test_a_card_press_over_the_stream_updates_the_card_in_place(streaming):
    fake = streaming.fake
    await fake.push("CALLBACK", MESSAGES, streaming.message("staff-outsider", "我的订单页面打不开"), "frame-1")
    [card] = await eventually(lambda: fake.cards_in(TRIAGE))
    press = streaming.card_callback("staff-linfang", card, control_id(card, "claim"))
    await fake.push("CALLBACK", CARDS, press, "frame-press")
    assert (await eventually(lambda: fake.acks.get("frame-press")))["code"] == 200
    await eventually(lambda: "处理中" in card_text(fake.cards_in(TRIAGE)[0]))
    assert fake.cards_in(TRIAGE)[0]["updates"] >= 1 and len(fake.cards_in(TRIAGE)) == 1


async def test_a_ping_is_echoed_and_a_malformed_body_refused_without_effect(streaming):
    fake = streaming.fake
    await fake.push("SYSTEM", "ping", {"opaque": "abc"}, "ping-1")
    ack = await eventually(lambda: fake.acks.get("ping-1"))
    assert ack["code"] == 200 and '"opaque": "abc"' in ack["data"]
    body = streaming.message("staff-outsider", "x")
    body["conversationType"] = "7"
    await fake.push("CALLBACK", MESSAGES, body, "bad-1")
    assert (await eventually(lambda: fake.acks.get("bad-1")))["code"] == 400
    assert await tickets(streaming) == 0


async def test_after_a_dropped_connection_the_client_reconnects_and_goes_on(streaming):
    fake = streaming.fake
    await fake.sockets[0].close()
    await eventually(lambda: len(fake.sockets) == 2)
    assert len(fake.opened) == 2, "a fresh ticket for the new connection"
    await fake.push("CALLBACK", MESSAGES, streaming.message("staff-outsider", "我的订单页面打不开"), "after-drop")
    assert (await eventually(lambda: fake.acks.get("after-drop")))["code"] == 200
    await eventually(lambda: fake.hook_texts("staff-outsider"))
