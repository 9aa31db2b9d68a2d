"""DingTalk interactive cards on the wire: the triage card as StandardCard data, a press (card callback) going
through the same handler as the command, and every copy of the card updated in place by its cardBizId."""

from __future__ import annotations

import json

from bot.platforms.dingtalk import card_press
from bot.subjects import Subject
from cards.dingtalk import parse_control, render_card_data
from cards.model import Button, Card, Field, Option, Select
from tests.platforms.dingtalk_world import FIXTURES, TRIAGE, card_text, control_id, fixture
from tests.waiting import eventually


def test_a_press_names_the_card_and_the_control_and_a_choice_carries_its_value():
    press = card_press(fixture("card_callback_claim"))
    assert (press.action, press.value, press.message_ref) == ("tb:ticket:claim:1:2", None, "t1-0123456789abcdef0123")
    assert (press.actor.user_id, press.conversation.id) == ("staff-alice", "cidTriageGroup==")
    choice = card_press(fixture("card_callback_priority_choice"))
    assert (choice.action, choice.value, choice.conversation.id) == ("tb:ticket:priority:1:3", "P1", "staff-alice")
    assert choice.delivery_id != press.delivery_id


def test_the_renderer_draws_buttons_and_a_row_of_options_per_choice():
    card = Card(title="T-000009 打印机卡纸", subject=Subject.ticket(9), version=4,
                fields=(Field("状态", "新建"),),
                actions=(Button("认领", "tb:ticket:claim:9:4", style="primary"),
                         Select("优先级", "tb:ticket:priority:9:4", (Option("P1 · 高", "P1"), Option("P2 · 中", "P2")),
                                initial="P2")))
    data = render_card_data(card)
    expected = json.loads((FIXTURES / "rendered_triage_card.json").read_text())
    assert data == expected
    ids = [a["id"] for part in data["contents"] for a in part.get("actions", [])]
    assert [parse_control(i) for i in ids] == [("tb:ticket:claim:9:4", None), ("tb:ticket:priority:9:4", "P1"),
                                               ("tb:ticket:priority:9:4", "P2")]


async def test_a_press_updates_every_copy_of_the_card_in_place(dingtalk):
    await dingtalk.say("staff-outsider", "我的订单页面打不开")
    [group_copy] = await eventually(lambda: dingtalk.fake.cards_in(TRIAGE))
    await dingtalk.say("staff-linfang", "工单 查看 T-000001")  # a second copy, in the lead's 1:1 chat
    [own_copy] = await eventually(lambda: dingtalk.fake.cards_to("staff-linfang"))
    assert own_copy["cardBizId"] != group_copy["cardBizId"]

    [customer_copy] = dingtalk.fake.cards_to("staff-outsider")  # the customer's own view, without buttons
    assert "tb:ticket" not in card_text(customer_copy)

    response = await dingtalk.press("staff-linfang", group_copy, "claim")
    assert response.status == 200

    def updated():
        cards = dingtalk.fake.cards()
        return cards if all(c["updates"] and "处理中" in card_text(c) for c in cards) else None
    cards = await eventually(updated)
    assert {c["cardBizId"] for c in cards} == {group_copy["cardBizId"], own_copy["cardBizId"],
                                              customer_copy["cardBizId"]}, "updated in place, no fresh card"

    await dingtalk.press("staff-linfang", dingtalk.fake.cards_to("staff-linfang")[0], "priority", "P1")
    await eventually(lambda: all("P1 · 高" in card_text(c) for c in dingtalk.fake.cards()))


async def test_a_press_on_a_card_drawn_at_an_older_version_changes_nothing_and_says_why(dingtalk):
    await dingtalk.say("staff-outsider", "我的订单页面打不开")
    [card] = await eventually(lambda: dingtalk.fake.cards_in(TRIAGE))
    stale = control_id(card, "claim")
    await dingtalk.say("staff-linfang", "工单 优先级 T-000001 P1", group=TRIAGE)
    await eventually(lambda: "P1 · 高" in card_text(dingtalk.fake.cards_in(TRIAGE)[0]))
    await dingtalk.post(dingtalk.card_callback("staff-liming", card, stale))
    told = await eventually(lambda: dingtalk.fake.texts_to_user("staff-liming"))
    assert "林芳" in told[-1], told
    assert "处理中" not in card_text(dingtalk.fake.cards_in(TRIAGE)[0])


async def test_in_http_mode_card_presses_come_back_to_the_url_registered_before_the_first_card(
        database_url, aiohttp_client, aiohttp_server, monkeypatch):
    from urllib.parse import urlsplit

    from tests.platforms.dingtalk_world import start_dingtalk

    world = await start_dingtalk(database_url=database_url, aiohttp_client=aiohttp_client,
                                 aiohttp_server=aiohttp_server, monkeypatch=monkeypatch,
                                 env={"DINGTALK_PUBLIC_URL": "https://bot.example.com/"})
    await world.say("staff-outsider", "我的订单页面打不开")
    [card] = await eventually(lambda: world.fake.cards_in(TRIAGE))
    [register] = [b for m, p, b in world.fake.calls if p == "card/callbacks/register"]
    assert register["callbackRouteKey"] == card["callbackRouteKey"] == "ticketbot"
    url = urlsplit(register["callbackUrl"])
    assert (url.scheme, url.netloc, url.path) == ("https", "bot.example.com", "/dingtalk/card")

    press = world.card_callback("staff-linfang", card, control_id(card, "claim"))
    forged = await world.client.post("/dingtalk/card?token=guessed", json=press)
    assert forged.status == 401
    assert (await world.client.post(f"/dingtalk/card?{url.query}", json={"msgId": "x"})).status == 400
    assert "处理中" not in card_text(world.fake.cards_in(TRIAGE)[0])
    assert (await world.client.post(f"/dingtalk/card?{url.query}", json=press)).status == 200
    await eventually(lambda: "处理中" in card_text(world.fake.cards_in(TRIAGE)[0]))
