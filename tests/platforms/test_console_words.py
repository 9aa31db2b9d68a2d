"""Issue 12 items 9 and 10: the console's words come from the catalog per persona, drop-downs keep their label."""

from __future__ import annotations

import re

from tests.platforms.console_world import AGENT, CUSTOMER, eventually, messages, send


async def test_the_page_words_are_served_in_each_persona_language(console):
    data = await (await console.get("/console/api/personas")).json()
    languages = {p["language"] for p in data["personas"]}
    assert {"en", "zh-CN"} <= languages
    assert data["chrome"]["zh-CN"]["channels"] == "频道" and data["chrome"]["en"]["channels"] == "Channels"
    assert data["chrome"]["zh-CN"]["send"] == "发送"
    page = await (await console.get("/")).text()
    for hook in ('id="channels-heading"', 'id="no-personas"', 'id="send"'):
        assert hook in page


async def test_a_drop_down_showing_its_value_keeps_its_label(console):
    await send(console, CUSTOMER, CUSTOMER, "页面打不开")

    async def card():
        return next((m for m in await messages(console, AGENT) if m["card"] and m["conversation"] == "triage"), None)
    html = (await eventually(card))["html"]
    select = re.search(r'<span class="sel-label">([^<]+)</span><select class="sel" data-action="tb:ticket:priority', html)
    assert select and select.group(1) in ("Priority", "优先级"), html


async def test_messages_carry_the_time_the_page_shows(console):
    await send(console, CUSTOMER, CUSTOMER, "页面打不开")
    shown = await messages(console, CUSTOMER)
    assert shown and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d", m["at"]) for m in shown)
    script = await (await console.get("/static/console/app.js")).text()
    assert "clockTime(m.at)" in script and "unread" in script
