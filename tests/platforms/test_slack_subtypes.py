"""Slack message subtypes, decided one by one: a file share and a thread broadcast are messages like any other;
edits, deletions, other bots' and system messages are acknowledged and ignored on purpose."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.app import SERVICES

CUSTOMER, ALICE = "U0CUST", "U0ALICE"


async def test_a_file_share_dm_opens_the_ticket_with_its_text(slack):
    # The most ordinary thing a customer does: a screenshot with a line of text. Before, the whole message was lost.
    response = await slack.event(slack.fixture("event_file_share_dm"))
    assert response.status == 200
    answer = await slack.eventually(lambda: [t for t in slack.texts_to("D0CUST") if "T-000001" in t])
    assert "T-000001" in answer[0]
    card = (await slack.eventually(slack.triage_cards))[0]
    assert "付款页面报错" in json.dumps(card["blocks"], ensure_ascii=False)


async def test_a_broadcast_reply_in_a_ticket_thread_reaches_the_customer(slack):
    await slack.say(CUSTOMER, "The payment page fails", "D0CUST")
    card = (await slack.eventually(slack.triage_cards))[0]
    body = json.loads(json.dumps(slack.fixture("event_thread_broadcast_reply")).replace("CARD_TS", card["ts"]))
    assert (await slack.event(body)).status == 200
    reply = await slack.eventually(lambda: [t for t in slack.texts_to("D0CUST") if "We fixed the payment page" in t])
    assert not reply[0].lower().startswith("reply:")
    async with slack.client.app[SERVICES].store.unit() as uow:
        assert ("reply", "We fixed the payment page, please try again") in [(e.kind, e.text)
                                                                            for e in await uow.timeline(1)]


@pytest.mark.parametrize("scenario", ["event_message_changed", "event_message_deleted", "event_bot_message",
                                      "event_channel_join"])
async def test_edits_deletions_bots_and_system_messages_are_ignored_on_purpose(slack, scenario):
    assert (await slack.event(slack.fixture(scenario))).status == 200
    await asyncio.sleep(0.3)
    assert slack.fake.of("chat.postMessage") == [] and slack.fake.of("chat.postEphemeral") == []
    async with slack.client.app[SERVICES].store.unit() as uow:
        assert await uow.get_ticket(1) is None
