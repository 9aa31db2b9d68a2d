"""DingTalk on the wire: signed robot callbacks posted to /dingtalk/callback, and what the bot then sent to the fake
OpenAPI and sessionWebhooks (tests/platforms/dingtalk_world.py)."""

from __future__ import annotations

import pytest

from bot.app import SERVICES
from bot.platforms import Malformed
from bot.platforms.dingtalk import Forged, check_signed, sign, to_event
from bot.ports import TicketQuery
from tests.platforms.dingtalk_world import TRIAGE, card_text, fixture
from tests.waiting import eventually


def test_the_signature_matches_the_documented_vector():
    assert sign("1577262236757", "test_app_secret") == "/Woi6Em/MOB9+gjlx34yrbrk3re3GBpawHYBDelEVhs="
    check_signed(timestamp="1577262236757", signature="/Woi6Em/MOB9+gjlx34yrbrk3re3GBpawHYBDelEVhs=",
                 secret="test_app_secret", now_ms=1577262236757 + 3_599_000)
    with pytest.raises(Forged):
        check_signed(timestamp="1577262236757", signature="/Woi6Em/MOB9+gjlx34yrbrk3re3GBpawHYBDelEVhs=",
                     secret="test_app_secret", now_ms=1577262236757 + 3_601_000)


def test_a_group_message_becomes_a_command_with_the_colleague_as_a_neutral_mention():
    event = to_event(fixture("group_message_mentioning_a_colleague"))
    assert event.text == "工单 指派 T-000001 @staff-zhao"
    assert (event.conversation.id, event.conversation.kind.value) == ("cidTriageGroup==", "group")
    assert (event.actor.user_id, event.actor.display_name, event.actor.external) == ("staff-linfang", "林芳", False)
    assert event.delivery_id == "msg:msgFIXTURE0001"


def test_an_outsider_is_known_by_sender_id_and_a_picture_comes_as_a_file_to_fetch():
    event = to_event(fixture("external_customer_single_chat"))
    assert event.actor.user_id == "$:LWCP_v1:$wangStoreOutsider" and event.actor.external
    assert event.conversation.id == "$:LWCP_v1:$wangStoreOutsider"
    assert event.text == "订单页面打不开"
    assert [(f.ref, f.mime) for f in event.files] == [("dlc001", "image/png")]


def test_a_voice_note_is_its_recognized_text_and_a_kind_the_bot_cannot_use_says_so():
    body = fixture("external_customer_single_chat")
    body.update(msgtype="audio", content={"duration": 3, "downloadCode": "dlc9", "recognition": "页面打不开"})
    assert (to_event(body).text, to_event(body).unusable) == ("页面打不开", None)
    body.update(content={"duration": 3, "downloadCode": "dlc9"})
    assert to_event(body).unusable == "voice"
    body.update(msgtype="picture", content={})
    with pytest.raises(Malformed):
        to_event(body)


async def tickets(world) -> int:
    async with world.client.app[SERVICES].store.unit() as uow:
        return len(await uow.list_tickets(TicketQuery()))


async def test_a_customer_in_a_single_chat_opens_a_ticket_answered_through_the_session_webhook(dingtalk):
    response = await dingtalk.say("staff-outsider", "我的订单页面打不开", nick="王记小店")
    assert response.status == 200
    answer = await eventually(lambda: [t for t in dingtalk.fake.hook_texts("staff-outsider") if "T-000001" in t])
    assert "已为您创建工单" in answer[0]
    card = (await eventually(lambda: dingtalk.fake.cards_in(TRIAGE)))[0]
    assert card["cardTemplateId"] == "StandardCard" and card["robotCode"] == "dingtestappkey"
    assert "我的订单页面打不开" in card_text(card) and "tb:ticket:claim:1:" in card_text(card)
    assert card["_token"] == "TOKEN1"


async def test_forged_and_stale_callbacks_are_refused_and_change_nothing(dingtalk):
    forged = await dingtalk.post(dingtalk.message("staff-outsider", "页面打不开"), secret="not-the-secret")
    stale = await dingtalk.post(dingtalk.message("staff-outsider", "页面打不开"), age_ms=3_700_000)
    unsigned = await dingtalk.client.post("/dingtalk/callback", json=dingtalk.message("staff-outsider", "x"))
    assert (forged.status, stale.status, unsigned.status) == (401, 401, 401)
    assert await tickets(dingtalk) == 0 and dingtalk.fake.calls == [] and dingtalk.fake.hooks == []


async def test_a_signed_but_malformed_body_is_a_400_that_changes_nothing(dingtalk):
    body = dingtalk.message("staff-outsider", "页面打不开")
    body["conversationType"] = "9"
    assert (await dingtalk.post(body)).status == 400
    body = dingtalk.message("staff-outsider", "页面打不开")
    body["atUsers"] = "everyone"
    assert (await dingtalk.post(body)).status == 400
    assert await tickets(dingtalk) == 0


async def test_a_redelivered_message_has_one_effect(dingtalk):
    body = dingtalk.message("staff-outsider", "我的订单页面打不开")
    assert (await dingtalk.post(body)).status == 200
    assert (await dingtalk.post(body)).status == 200
    await eventually(lambda: dingtalk.fake.hook_texts("staff-outsider"))
    await eventually(lambda: dingtalk.fake.cards_in(TRIAGE))
    assert await tickets(dingtalk) == 1
    assert len(dingtalk.fake.hook_texts("staff-outsider")) == 1


async def test_with_the_session_webhook_expired_a_member_is_answered_through_the_openapi(dingtalk):
    await dingtalk.say("staff-outsider", "我的订单页面打不开", webhook_ms=30_000)  # expires within the margin
    answer = await eventually(lambda: dingtalk.fake.texts_to_user("staff-outsider"))
    assert "T-000001" in answer[0] and dingtalk.fake.hooks == []
    [call] = [b for m, p, b in dingtalk.fake.calls if p == "robot/oToMessages/batchSend" and "staff-outsider" in b["userIds"]]
    assert call["robotCode"] == "dingtestappkey" and call["userIds"] == ["staff-outsider"]


async def test_an_outsider_whose_webhook_expired_is_not_retried_forever(dingtalk):
    await dingtalk.say(None, "我的订单页面打不开", sender_id="$:LWCP_v1:$outsider", external=True, webhook_ms=30_000)
    await eventually(lambda: dingtalk.fake.cards_in(TRIAGE))
    rows = await eventually(lambda: _dead(dingtalk, 2))  # the answer, and the customer's copy of the card
    assert all(r.attempts == 1 and "sessionWebhook has expired" in r.last_error for r in rows)
    assert dingtalk.fake.texts_to_user("$:LWCP_v1:$outsider") == [], "the OpenAPI cannot reach an outsider"


async def _dead(world, count: int):
    rows = await world.client.app[SERVICES].store.outbox_rows()
    dead = [r for r in rows if r.status == "dead"]
    return dead if len(dead) == count else None


async def test_an_outsider_in_a_group_is_answered_in_the_group_and_staff_in_their_own_chat(dingtalk):
    group = "cidExternalGroup=="
    await dingtalk.say(None, "工单 认领 T-000001", group=group, sender_id="$:LWCP_v1:$outsider", external=True)
    answer = await eventually(lambda: dingtalk.fake.hook_texts(group))
    assert "T-000001" in answer[0], "a customer may not claim: told in the group, the only place they can read"
    await dingtalk.say("staff-chen", "工单 认领 T-000001", group=group)
    told = await eventually(lambda: dingtalk.fake.texts_to_user("staff-chen"))
    assert "T-000001" in told[0] and len(dingtalk.fake.hook_texts(group)) == 1
