"""WeCom on the wire: Tencent's published sample and freshly encrypted callbacks posted to the real endpoint;
the messenger talks to a local fake WeCom API and we assert on what it sent."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from bot.app import SERVICES
from tests.fakes import FakeClock
from tests.platforms.wecom_world import (
    FIXTURES,
    SAMPLE,
    FakeWeCom,
    card_event_xml,
    encrypted,
    text_xml,
)
from tests.waiting import eventually


async def test_url_verification_with_tencents_sample(wecom):
    client, _fake = wecom
    verify = SAMPLE["verify"]
    response = await client.get("/wecom/callback", params={k: verify[k] for k in ("msg_signature", "timestamp", "nonce", "echostr")})
    assert response.status == 200 and await response.text() == verify["plaintext"]
    forged = {**{k: verify[k] for k in ("timestamp", "nonce", "echostr")}, "msg_signature": "0" * 40}
    assert (await client.get("/wecom/callback", params=forged)).status == 403


@pytest.fixture
async def wecom_in_2014(start_wecom):
    """The app on a clock at the moment Tencent signed its sample (callbacks older than 5 minutes are refused)."""
    fake = FakeWeCom()
    client, _server = await start_wecom(fake, clock=FakeClock(datetime.fromtimestamp(int(SAMPLE["message"]["timestamp"]), UTC)))
    return client, fake


async def test_tencents_sample_message_opens_a_ticket(wecom_in_2014):
    client, fake = wecom_in_2014
    sample = SAMPLE["message"]
    response = await client.post("/wecom/callback", data=sample["body"],
                                 params={k: sample[k] for k in ("msg_signature", "timestamp", "nonce")})
    assert response.status == 200
    sent = await eventually(lambda: fake.sent(sample["from_user"]))
    assert "We opened ticket T-000001" in sent[0], "'hello' is English, so the answer is too"
    assert fake.calls[0][0] == "gettoken" and fake.calls[1][1]["access_token"] == "TOKEN1"


async def test_forged_callback_is_refused_and_changes_nothing(wecom):
    client, fake = wecom
    query, body = encrypted(text_xml("mycreate", "hello", 1))
    query["msg_signature"] = "f" * 40
    assert (await client.post("/wecom/callback", params=query, data=body)).status == 403
    await asyncio.sleep(0.2)
    assert fake.calls == []


async def test_redelivery_has_one_effect_and_commands_work_in_chinese(wecom):
    client, fake = wecom
    query, body = encrypted(text_xml("customer-1", "发票开错了", 42))
    for _ in range(3):  # WeCom retries when it did not hear back in 5 s
        assert (await client.post("/wecom/callback", params=query, data=body)).status == 200
    await eventually(lambda: fake.sent("customer-1"))
    await asyncio.sleep(0.3)
    assert len([t for t in fake.sent("customer-1") if "已为您创建工单" in t]) == 1, "one ticket, one answer"
    assert len(fake.sent("customer-1")) == 2  # the answer and the status card, once each
    query, body = encrypted(text_xml("alice.wang", "工单 列表", 43))  # an agent of the directory
    await client.post("/wecom/callback", params=query, data=body)
    listing = await eventually(lambda: [t for t in fake.sent("alice.wang") if "T-000001" in t and "发票开错了" in t])
    assert listing


async def test_expired_token_is_refreshed_once(wecom):
    client, fake = wecom
    fake.errors_for[("message/send", "customer-2")] = [42001]
    query, body = encrypted(text_xml("customer-2", "VPN 连不上", 7))
    await client.post("/wecom/callback", params=query, data=body)
    # The outbox sends to several conversations at once: follow the customer's own messages.
    def tokens():
        return [q.get("access_token") for path, q, b in fake.calls
                if path == "message/send" and b.get("touser") == "customer-2"]
    await eventually(lambda: len(tokens()) >= 2)
    assert tokens()[:2] == ["TOKEN1", "TOKEN2"], "the rejected call is made again with a fresh token"
    assert [path for path, _q, _b in fake.calls].count("gettoken") == 2


async def _card_for_li(client, fake) -> dict:
    """A customer's ticket T-000001, and its card sent to Li (an agent) by `工单 查看`."""
    query, body = encrypted(text_xml("customer-3", "打印机卡纸", 90))
    await client.post("/wecom/callback", params=query, data=body)
    await eventually(lambda: fake.sent("customer-3"))
    query, body = encrypted(text_xml("liming", "工单 查看 T-000001", 91))
    await client.post("/wecom/callback", params=query, data=body)
    [(_path, sent)] = await eventually(lambda: fake.cards("liming"))
    return sent["template_card"]


def _updates(fake) -> list[dict]:
    return [b for p, b in fake.cards("liming") if p == "message/update_template_card"]


def _fresh_cards(fake) -> list[dict]:
    return [b for p, b in fake.cards("liming") if p == "message/send"]


async def test_card_clicks_go_through_the_handlers_and_update_in_place_with_each_clicks_code(wecom):
    client, fake = wecom
    card = await _card_for_li(client, fake)
    assert card["card_type"] == "button_interaction" and card["main_title"]["title"].startswith("T-000001")
    claim = next(b["key"] for b in card["button_list"] if b["key"].startswith("tb:ticket:claim:"))
    query, body = encrypted(card_event_xml("liming", claim, "RC-click-1", card["task_id"]))
    await client.post("/wecom/callback", params=query, data=body)
    [update] = await eventually(lambda: _updates(fake))
    assert update["response_code"] == "RC-click-1", "the click's own code updates the clicked card"
    assert update["template_card"]["task_id"] == card["task_id"], "an update keeps the card's name"
    assert any(row["value"] == "处理中" for row in update["template_card"]["horizontal_content_list"])
    # A second click brings a second code: the card is updated in place again, no new message.
    priority = update["template_card"]["button_selection"]["question_key"]
    query, body = encrypted(card_event_xml("liming", priority, "RC-click-2", card["task_id"], question=priority,
                                           option="P1"))
    await client.post("/wecom/callback", params=query, data=body)
    second = await eventually(lambda: _updates(fake)[1:])
    assert second[0]["response_code"] == "RC-click-2"
    assert second[0]["template_card"]["button_selection"]["selected_id"] == "P1"
    assert len(_fresh_cards(fake)) == 1


async def test_a_change_without_a_code_left_sends_a_fresh_card_and_remembers_it(wecom):
    client, fake = wecom
    card = await _card_for_li(client, fake)
    claim = next(b["key"] for b in card["button_list"] if b["key"].startswith("tb:ticket:claim:"))
    query, body = encrypted(card_event_xml("liming", claim, "RC-click-1", card["task_id"]))
    await client.post("/wecom/callback", params=query, data=body)
    await eventually(lambda: _updates(fake))
    # A command changes the ticket: the clicked card's code is spent, so a fresh card goes out …
    query, body = encrypted(text_xml("liming", "工单 优先级 T-000001 P0", 92))
    await client.post("/wecom/callback", params=query, data=body)
    fresh = await eventually(lambda: _fresh_cards(fake)[1:])
    assert fresh[0]["template_card"]["task_id"] != card["task_id"]
    # … and is remembered: the next change updates that one with the code its send returned.
    query, body = encrypted(text_xml("liming", "工单 优先级 T-000001 P1", 93))
    await client.post("/wecom/callback", params=query, data=body)
    updates = await eventually(lambda: _updates(fake)[1:])
    codes = {path_body[1].get("response_code") for path_body in fake.cards("liming")}
    assert updates[0]["template_card"]["task_id"] == fresh[0]["template_card"]["task_id"]
    assert updates[0]["response_code"] in codes and updates[0]["response_code"].startswith("RC")
    assert len(_fresh_cards(fake)) == 2


async def test_an_expired_code_falls_back_to_a_fresh_card(wecom):
    client, fake = wecom
    card = await _card_for_li(client, fake)
    claim = next(b["key"] for b in card["button_list"] if b["key"].startswith("tb:ticket:claim:"))
    fake.errors_for[("message/update_template_card", "liming")] = [40188]  # response_code expired (72 h) or already used
    query, body = encrypted(card_event_xml("liming", claim, "RC-old", card["task_id"]))
    await client.post("/wecom/callback", params=query, data=body)
    fresh = await eventually(lambda: _fresh_cards(fake)[1:])
    assert any(row["value"] == "处理中" for row in fresh[0]["template_card"]["horizontal_content_list"])
    assert [b["response_code"] for b in _updates(fake)] == ["RC-old"], "tried in place once, then anew"


CARD_FIXTURE = FIXTURES / "template_card_staff_view_new_ticket.json"


def _stable(body: dict) -> dict:
    """A sent card without what changes from run to run: its task id and the SLA clock text."""
    card = json.loads(json.dumps(body))
    card["template_card"]["task_id"] = "<task_id>"
    card["template_card"]["main_title"]["desc"] = "<sla clock>"
    return card


async def test_the_staff_card_matches_the_captured_template_card(wecom):
    client, fake = wecom
    await _card_for_li(client, fake)
    [(_path, sent)] = fake.cards("liming")
    assert _stable(sent) == json.loads(CARD_FIXTURE.read_text(encoding="utf-8"))


def _button(card: dict, prefix: str) -> str:
    return next(b["key"] for b in card["button_list"] if b["key"].startswith(prefix))


async def _click(client, xml: str) -> None:
    query, body = encrypted(xml)
    assert (await client.post("/wecom/callback", params=query, data=body)).status == 200


async def test_a_click_applies_the_button_and_leaves_an_unchanged_drop_down_alone(wecom):
    client, fake = wecom
    card = await _card_for_li(client, fake)
    priority = card["button_selection"]["question_key"]
    # WeCom sends what the drop-down shows with every click: P2, as it was.
    await _click(client, card_event_xml("liming", _button(card, "tb:ticket:claim:"), "RC-1", card["task_id"],
                                        question=priority, option="P2"))
    [update] = await eventually(lambda: _updates(fake))
    rows = {row["keyname"]: row["value"] for row in update["template_card"]["horizontal_content_list"]}
    assert rows["状态"] == "处理中" and rows["处理人"] == "李明" and rows["优先级"] == "P2 · 普通"


async def test_more_shows_every_choice_and_saving_applies_the_changed_ones(wecom):
    client, fake = wecom
    card = await _card_for_li(client, fake)
    priority = card["button_selection"]["question_key"]
    # Li picks P1 in the drop-down and presses "More…": the priority changes and the card shows all choices.
    await _click(client, card_event_xml("liming", _button(card, "tb:ticket:view:"), "RC-1", card["task_id"],
                                        question=priority, option="P1"))
    [expanded] = await eventually(lambda: _updates(fake))
    choices = expanded["template_card"]
    assert choices["card_type"] == "multiple_interaction" and expanded["response_code"] == "RC-1"
    assert choices["task_id"] == card["task_id"]
    selects = {c["title"]: c for c in choices["select_list"]}
    assert set(selects) == {"优先级", "指派", "分类"}
    assert selects["优先级"]["selected_id"] == "P1"
    assert len(selects["指派"]["option_list"]) <= 10
    # Li chooses a category and takes the ticket from Alice, leaves P1, and saves: both change, buttons come back.
    li = next(o["id"] for o in selects["指派"]["option_list"] if o["text"] == "李明")
    picked = {selects["优先级"]["question_key"]: "P1", selects["分类"]["question_key"]: "bug",
              selects["指派"]["question_key"]: li}
    await _click(client, card_event_xml("liming", choices["submit_button"]["key"], "RC-2", card["task_id"],
                                        choices=picked, card_type="multiple_interaction"))
    saved = await eventually(lambda: [u for u in _updates(fake)[1:] if u["response_code"] == "RC-2"])
    back = saved[-1]["template_card"]
    assert back["card_type"] == "button_interaction"
    rows = {row["keyname"]: row["value"] for row in back["horizontal_content_list"]}
    assert (rows["优先级"], rows["分类"], rows["处理人"]) == ("P1 · 高", "缺陷", "李明")
    assert len(_fresh_cards(fake)) == 1, "every step updated the one card in place"


async def test_saving_choices_on_a_card_someone_else_changed_changes_nothing(wecom):
    client, fake = wecom
    card = await _card_for_li(client, fake)
    await _click(client, card_event_xml("liming", _button(card, "tb:ticket:view:"), "RC-1", card["task_id"]))
    [expanded] = await eventually(lambda: _updates(fake))
    selects = {c["title"]: c["question_key"] for c in expanded["template_card"]["select_list"]}
    # Meanwhile Alice raises the priority by command.
    await _click(client, text_xml("alice.wang", "工单 优先级 T-000001 P0", 501))
    await eventually(lambda: [t for t in fake.sent("alice.wang") if "P0" in t])
    await _click(client, card_event_xml("liming", expanded["template_card"]["submit_button"]["key"], "RC-2",
                                        card["task_id"], choices={selects["优先级"]: "P3", selects["分类"]: "bug"},
                                        card_type="multiple_interaction"))
    told = await eventually(lambda: [t for t in fake.sent("liming") if "Alice Wang" in t and "T-000001" in t])
    assert told
    await asyncio.sleep(0.3)
    before = len(_fresh_cards(fake))
    await _click(client, text_xml("liming", "工单 查看 T-000001", 502))
    shown = await eventually(lambda: _fresh_cards(fake)[before:])
    rows = {row["keyname"]: row["value"] for row in shown[0]["template_card"]["horizontal_content_list"]}
    assert rows["优先级"].startswith("P0") and rows["分类"] == "其他", "the stale choices were not applied"


async def test_a_day_old_callback_is_refused_and_changes_nothing(wecom):
    client, fake = wecom
    query, body = encrypted(text_xml("customer-9", "发票开错了", 9001), age=24 * 3600)
    assert (await client.post("/wecom/callback", params=query, data=body)).status == 403
    query, body = encrypted(text_xml("customer-9", "发票开错了", 9002), age=-24 * 3600)
    assert (await client.post("/wecom/callback", params=query, data=body)).status == 403, "nor one from tomorrow"
    await asyncio.sleep(0.2)
    assert fake.calls == []
    async with client.app[SERVICES].store.unit() as uow:
        assert await uow.get_ticket(1) is None
    query, body = encrypted(text_xml("customer-9", "发票开错了", 9003), age=60)  # a minute late: within the window
    assert (await client.post("/wecom/callback", params=query, data=body)).status == 200
    await eventually(lambda: fake.sent("customer-9"))
