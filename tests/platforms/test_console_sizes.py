"""The console keeps to the size of a chat app's message too: `/ticket show` of a ticket with long notes answers in
several messages, in order, none longer than what a person may type into the page."""

from __future__ import annotations

import html

from bot.platforms.console import TEXT_LIMIT
from tests.platforms.console_world import AGENT, CUSTOMER, messages, send
from tests.waiting import eventually


def _text(message: dict) -> str:
    return html.unescape(message["html"].replace("<br>", "\n"))


async def test_show_with_a_long_timeline_answers_in_several_messages_in_order(console):
    client = console
    await send(client, CUSTOMER, CUSTOMER, "打印机又坏了")
    await eventually(lambda: _card_in_triage(client))
    notes = [f"NOTE-{mark} " + ("检查了打印机的进纸器 checked the feeder " * 200)[:3_400] for mark in "ABC"]
    for note in notes:
        await send(client, AGENT, "triage", f"/ticket note T-000001 {note}")
    before = len(await _bot_texts(client, "triage"))
    await send(client, AGENT, "triage", "/ticket show T-000001")

    async def answer():
        texts = (await _bot_texts(client, "triage"))[before:]
        return texts if any("NOTE-C" in t for t in texts) and texts[-1].rstrip().endswith("”") else None
    texts = await eventually(answer)
    assert len(texts) >= 3 and all(len(text) <= TEXT_LIMIT for text in texts), [len(t) for t in texts]
    shown = "\n".join(texts)
    assert shown.index("NOTE-A") < shown.index("NOTE-B") < shown.index("NOTE-C"), "in order"
    assert all(note in shown for note in notes), "each note whole"


async def _bot_texts(client, conversation: str) -> list[str]:
    return [_text(m) for m in await messages(client, AGENT)
            if m["conversation"] == conversation and m["bot"] and not m["card"]]


async def _card_in_triage(client) -> bool:
    return any(m["conversation"] == "triage" and m["card"] for m in await messages(client, AGENT))
