"""The CSAT survey on resolve: the card in the customer's conversation, numbered replies, a comment, a change within
the window, the polite refusal after it, expiry, Not solved → reopened, and one survey per resolution."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.config import ConfigError, load_config
from bot.csat import CsatConfig
from bot.tickets import Status, TimelineKind
from cards.model import Button
from tests.harness import EXAMPLE_CONFIG, Harness

CUSTOMER, AGENT = "wang-store", "alice"


async def _resolved(store, clock, **csat) -> Harness:
    config = load_config(EXAMPLE_CONFIG)
    if csat:
        config = config.model_copy(update={"csat": CsatConfig(**csat)})
    bot = Harness(store, clock, config)
    await bot.say(CUSTOMER, "我的订单页面打不开")
    await bot.say(AGENT, "/ticket claim T-000001", bot.channel())
    await bot.say(AGENT, "/ticket resolve T-000001 请清除缓存", bot.channel())
    return bot


def _survey_card(bot: Harness):
    cards = [m for m in bot.cards(CUSTOMER) if "满意" in m.card.title]
    assert cards, "the customer got no survey"
    return cards[-1]


def _csat_lines(entries) -> list[dict]:
    return [dict(e.detail, text=e.text or "") for e in entries if e.kind is TimelineKind.CSAT]


async def test_resolve_sends_the_survey_in_the_customers_language_with_a_scale_and_not_solved(store, clock):
    bot = await _resolved(store, clock)
    card = _survey_card(bot).card
    assert card.title == "您对本次服务满意吗？"
    assert [b.label for b in card.actions] == ["1", "2", "3", "4", "5", "还没解决"]
    hint = next(f.value for f in card.fields if f.label == "或直接回复数字")  # for whoever cannot press (a field: shown everywhere)
    assert "1-5" in hint and "0" in hint


async def test_a_typed_number_rates_then_the_next_message_is_the_comment(store, clock):
    bot = await _resolved(store, clock)
    await bot.say(CUSTOMER, "4")
    assert "4 / 5" in bot.last_text(CUSTOMER)
    assert (await bot.ticket()).status is Status.RESOLVED, "a rating is not a message that reopens the ticket"
    await bot.say(CUSTOMER, "回复很快，谢谢")
    assert "感谢" in bot.last_text(CUSTOMER)
    lines = _csat_lines(await bot.timeline())
    assert [(line["event"], line.get("score")) for line in lines] == [("rated", "4"), ("commented", "4")]
    assert lines[-1]["text"] == "回复很快，谢谢"
    assert (await bot.ticket()).status is Status.RESOLVED
    staff_card = bot.cards("triage")[-1].card
    assert any(f.value == "4 / 5 “回复很快，谢谢”" for f in staff_card.fields), staff_card.fields


async def test_a_second_press_within_the_window_changes_it_and_after_the_window_is_refused(store, clock):
    bot = await _resolved(store, clock)
    await bot.press(CUSTOMER, _survey_card(bot), "rate4")
    clock.advance(minutes=5)
    await bot.press(CUSTOMER, _survey_card(bot), "rate5")
    assert "5 / 5" in bot.last_text(CUSTOMER)
    clock.advance(minutes=6)
    await bot.say(CUSTOMER, "1")
    refused = bot.last_text(CUSTOMER)
    assert "已评价" in refused and "10" in refused, refused
    assert _survey_card(bot).card.actions == (), "after the window the card (refreshed) offers no buttons"
    lines = _csat_lines(await bot.timeline())
    assert [(line["event"], line.get("score")) for line in lines] == [("rated", "4"), ("changed", "5")]
    assert (await bot.ticket()).status is Status.RESOLVED


async def test_someone_elses_press_on_the_survey_is_refused(store, clock):
    bot = await _resolved(store, clock)
    await bot.press("zhang-corp", _survey_card(bot), "rate1")
    assert _csat_lines(await bot.timeline()) == []


async def test_not_solved_reopens_the_ticket_and_tells_the_assignee(store, clock):
    bot = await _resolved(store, clock)
    await bot.say(CUSTOMER, "0")
    ticket = await bot.ticket()
    assert ticket.status is Status.TRIAGED
    assert "T-000001" in bot.last_text(CUSTOMER) and "重新" in bot.last_text(CUSTOMER)
    assert any("T-000001" in text and "not solved" in text.lower() or "未解决" in text for text in bot.texts(AGENT))
    assert [line["event"] for line in _csat_lines(await bot.timeline())] == ["not_solved"]


async def test_the_survey_expires(store, clock):
    bot = await _resolved(store, clock)
    clock.advance(days=8)
    await bot.press(CUSTOMER, _survey_card(bot), "rate5")
    assert "已结束" in bot.last_text(CUSTOMER) or "closed" in bot.last_text(CUSTOMER)
    await bot.say(CUSTOMER, "5")  # no longer an answer: it is a message like any other
    assert _csat_lines(await bot.timeline()) == []


async def test_the_three_point_scale(store, clock):
    bot = await _resolved(store, clock, scale="three")
    assert [b.label for b in _survey_card(bot).card.actions] == ["不满意", "一般", "满意", "还没解决"]
    await bot.say(CUSTOMER, "3")
    assert "满意 (5 / 5)" in bot.last_text(CUSTOMER)
    await bot.say(CUSTOMER, "7")  # not on the scale: it is the comment
    assert [line["event"] for line in _csat_lines(await bot.timeline())] == ["rated", "commented"]


async def test_one_survey_per_resolution(store, clock):
    bot = await _resolved(store, clock)
    await bot.say(CUSTOMER, "0")  # reopened
    clock.advance(hours=2)
    await bot.say(AGENT, "/ticket resolve T-000001 已修复", bot.channel())
    assert len([m for m in bot.cards(CUSTOMER) if "满意" in m.card.title]) == 2
    async with store.unit() as uow:
        survey = await uow.surveys().latest_of(bot.actor(CUSTOMER).platform, CUSTOMER)
    assert survey.rated_at is None, "the second resolution's survey waits for its own answer"



async def test_a_forged_or_odd_press_is_refused_and_changes_nothing(store, clock):
    bot = await _resolved(store, clock)
    card = _survey_card(bot)
    forged = card.card.actions[0].action.replace("rate1", "rate9")
    beyond = card.card.actions[0].action.replace(":rate1:1:", f":rate1:{2**40}:")
    for action in (forged, beyond):  # what only a hand-made request carries
        odd = replace(card, card=replace(card.card, actions=(Button("x", action),)))
        await bot.press(CUSTOMER, odd, action)
        assert "无效" in bot.last_text(CUSTOMER, visible_to=CUSTOMER)
    assert _csat_lines(await bot.timeline()) == []


async def test_a_retried_delivery_rates_once(store, clock):
    bot = await _resolved(store, clock)
    await bot.say(CUSTOMER, "4", delivery_id="same")
    await bot.say(CUSTOMER, "4", delivery_id="same")
    assert [line["event"] for line in _csat_lines(await bot.timeline())] == ["rated"]
    assert len([t for t in bot.texts(CUSTOMER) if "4 / 5" in t]) == 1


async def test_the_timeline_tells_the_rating_in_the_readers_words(store, clock):
    bot = await _resolved(store, clock)
    await bot.say(CUSTOMER, "2")
    await bot.say(CUSTOMER, "等了太久")
    await bot.say("linfang", "/ticket show T-000001", bot.channel())
    shown = bot.last_text("triage", visible_to="linfang")
    assert "客户评分 2 / 5" in shown and "客户的评价意见： “等了太久”" in shown, shown
    assert "csat" not in shown and "rated" not in shown
    await bot.say(AGENT, "/ticket show T-000001", bot.channel())
    assert "the customer rated it 2 / 5" in bot.last_text("triage", visible_to=AGENT)


async def test_not_solved_after_the_reopen_window_is_refused_and_the_survey_still_waits(store, clock):
    bot = await _resolved(store, clock, expire_days=30)
    await bot.say(AGENT, "/ticket close T-000001", bot.channel())
    clock.advance(days=8)  # the sample's reopen window is 7 days
    await bot.say(CUSTOMER, "0")
    assert "无法重新打开" in bot.last_text(CUSTOMER, visible_to=CUSTOMER)
    assert (await bot.ticket()).status is Status.CLOSED
    await bot.say(CUSTOMER, "3")  # still waiting: a score is taken
    assert [line["event"] for line in _csat_lines(await bot.timeline())] == ["rated"]


async def test_stats_show_the_csat_figures(store, clock):
    bot = await _resolved(store, clock)
    await bot.say(CUSTOMER, "4")
    await bot.say("linfang", "/ticket stats week", bot.channel())
    stats = bot.cards("triage")[-1].card
    # 4 of the one survey sent this week, answered: 4.0 / 5 and a 100 % response rate.
    assert any("4.0 / 5" in f.value and "100" in f.value for f in stats.fields), stats.fields


async def test_the_card_loses_its_buttons_when_the_window_ends_and_when_it_expires(store, clock):
    bot = await _resolved(store, clock)
    await bot.press(CUSTOMER, _survey_card(bot), "rate4")
    assert _survey_card(bot).card.actions, "still changeable"
    clock.advance(minutes=9)
    await bot.tick()
    assert _survey_card(bot).card.actions, "not yet"
    clock.advance(minutes=2)
    await bot.tick()
    card = _survey_card(bot)
    assert card.card.actions == () and card.card.footer == "感谢您的反馈！"
    redrawn = card.updates
    await bot.tick()
    assert _survey_card(bot).updates == redrawn, "re-drawn once"

    await bot.say(AGENT, "/ticket reopen T-000001", bot.channel())
    clock.advance(hours=1)
    await bot.say(AGENT, "/ticket resolve T-000001 再次修复", bot.channel())
    clock.advance(days=7, minutes=1)
    await bot.tick()
    expired = _survey_card(bot).card
    assert expired.actions == () and "已结束" in expired.footer


def test_a_bad_csat_section_is_named_by_check_config(tmp_path):
    for section, problem in (("{scale: ten}", "csat.scale"), ("{expire_days: 0}", "csat.expire_days"),
                             ("{change_minutes: -1}", "csat.change_minutes"), ("{remind: yes}", "csat.remind")):
        path = tmp_path / "bad.yaml"
        path.write_text(f"csat: {section}\n", encoding="utf-8")
        with pytest.raises(ConfigError) as raised:
            load_config(path)
        assert problem in str(raised.value), str(raised.value)
