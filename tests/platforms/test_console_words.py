"""Issue 12 items 9 and 10: the console's words come from the catalog per persona, drop-downs keep their label."""

from __future__ import annotations

import html
import re

from tests.platforms.console_world import AGENT, CUSTOMER, messages, send
from tests.waiting import eventually


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


async def test_the_page_opens_as_the_persona_the_quick_start_begins_with(console):
    data = await (await console.get("/console/api/personas")).json()
    assert data["start"] == CUSTOMER  # README's step 1: as 王记小店 (a customer); it opened as Alice on #triage
    script = await (await console.get("/static/console/app.js")).text()
    assert "data.start" in script


async def test_who_each_persona_is_reads_in_the_readers_language(console):
    data = await (await console.get("/console/api/personas")).json()
    for language in ("zh-CN", "en"):
        words = data["chrome"][language]
        for persona in data["personas"]:
            assert words.get(f"role-{persona['role']}"), (language, persona["role"])
            assert words.get(f"lang-{persona['language']}"), (language, persona["language"])
    zh = data["chrome"]["zh-CN"]
    assert (zh["role-customer"], zh["role-agent"], zh["lang-en"]) == ("客户", "客服专员", "英文")
    alice = next(p for p in data["personas"] if p["user_id"] == AGENT)
    assert alice["department_names"] == {"zh-CN": "客服", "en": "Support"}
    script = await (await console.get("/static/console/app.js")).text()
    assert 'word("role-" + p.role)' in script and "${p.role}" not in script  # the raw "agent" is gone


def _bot_texts(found: list[dict], since: int = 0) -> list[str]:
    """What the bot said, as a person reads it (tags gone)."""
    return [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", m["html"]))).strip()
            for m in found[since:] if m["bot"]]


async def _answers(console, who: str, texts: list[str]) -> list[str]:
    """Send each text as `who` in their DM, each once the bot has answered the one before; the bot's words to them."""
    for text in texts:
        await send(console, who, who, text)

        async def answered(text=text):
            found = [m for m in await messages(console, who) if m["conversation"] == who]
            mine = max(i for i, m in enumerate(found) if not m["bot"] and text in m["html"])
            return any(m["bot"] for m in found[mine + 1:])
        await eventually(answered)
    return _bot_texts([m for m in await messages(console, who) if m["conversation"] == who])


async def test_one_ticket_reads_as_one_ticket(console):
    await send(console, CUSTOMER, CUSTOMER, "页面打不开")
    await _answers(console, AGENT, ["/ticket list"])

    async def listed():
        return [a for a in _bot_texts(await messages(console, AGENT)) if "T-000001 [" in a]
    assert (await eventually(listed))[0].startswith("1 ticket:")  # it said "1 tickets:"


async def test_an_action_not_possible_now_is_a_sentence_of_the_catalog(console):
    await send(console, CUSTOMER, CUSTOMER, "页面打不开")
    await _answers(console, AGENT, ["/ticket claim T-000001", "/ticket wait T-000001 colleague",
                                    "/ticket wait T-000001 colleague"])

    async def refused():
        return [a for a in _bot_texts(await messages(console, AGENT)) if "not possible" in a]
    refusal = (await eventually(refused))[0]
    assert "cannot Wait for colleague it" not in refusal
    assert "“Wait for colleague” is not possible now" in refusal and "Claim, " in refusal
    chinese = await _answers(console, "liming", ["工单 等待 T-000001 同事"])
    assert any("现在不能执行“等待同事”" in a and "、" in a for a in chinese), chinese


async def test_a_ticket_staff_open_shows_their_name(console):
    await send(console, "liming", "liming", "工单 新建 打印机坏了")

    async def card():
        return next((m for m in await messages(console, "liming") if m["card"]), None)
    shown = _bot_texts([await eventually(card)])[0]
    assert "客户 李明" in shown and "liming" not in shown  # it showed the raw id


# Latin letters a zh-CN reader may see: ticket numbers, priorities, the product's name, people's own names, and
# time zones (Asia/Shanghai), named where a time could be read in another.
ALLOWED_LATIN = re.compile(r"T-\d+|\bP[0-3]\b|ticketbot|Alice Wang|SLA|#\w+|@\w+|YYYY-MM-DD|\bvip\b"
                           r"|\b[A-Z][a-z]+/[A-Za-z_]+")


async def test_a_zh_cn_workspace_speaks_no_english(console):
    await send(console, CUSTOMER, CUSTOMER, "我的订单页面打不开")
    said = await _answers(console, "liming", [
        "工单 列表", "工单 认领 T-000001", "工单 等待 T-000001 同事", "工单 等待 T-000001 同事", "工单 继续 T-000001",
        "工单 优先级 T-000001 P1", "工单 查看 T-000001", "工单 时效 T-000001", "工单 统计", "工单 列表 我的",
        "工单 新建 打印机坏了 #bug", "工单 解决 T-000001", "工单 回复 T-000001 已修复，请刷新", "工单 解决 T-000001",
        "工单 关闭 T-000001", "工单 重开 T-000009", "工单 帮助"])
    said += _bot_texts(await messages(console, CUSTOMER))
    leaks = [(text, word) for text in said for word in re.findall(r"[A-Za-z]{3,}", ALLOWED_LATIN.sub(" ", text))]
    assert leaks == []


async def test_one_zone_per_reader_the_persons_own_on_the_page_and_in_the_bots_texts(database_url, aiohttp_client,
                                                                                      monkeypatch):
    from zoneinfo import ZoneInfo

    from bot.app import SERVICES, build_app
    from bot.config import Settings, load_config
    from tests.harness import EXAMPLE_CONFIG

    monkeypatch.setenv("DATABASE_URL", database_url)
    config = load_config(EXAMPLE_CONFIG)
    config.people = [p.model_copy(update={"timezone": "Europe/Berlin"}) if p.key == "alice" else p
                     for p in config.people]
    console = await aiohttp_client(await build_app(Settings(), config=config))
    data = await (await console.get("/console/api/personas")).json()
    zones = {p["user_id"]: p["timezone"] for p in data["personas"]}
    assert zones[AGENT] == "Europe/Berlin" and zones["liming"] == zones[CUSTOMER] == "Asia/Shanghai"
    script = await (await console.get("/static/console/app.js")).text()
    assert "timeZone: zone()" in script  # the page's stamps: the persona's zone, not the browser's

    await send(console, CUSTOMER, CUSTOMER, "页面打不开")
    await _answers(console, AGENT, ["/ticket sla T-000001"])

    async def clocks():
        return [a for a in _bot_texts(await messages(console, AGENT)) if "Opened:" in a]
    said = (await eventually(clocks))[0]
    async with console.app[SERVICES].store.unit() as uow:
        opened = (await uow.get_ticket(1)).created_at
    berlin = opened.astimezone(ZoneInfo("Europe/Berlin")).strftime("%m-%d %H:%M")
    assert f"Opened: {berlin}" in said and "Times are in Europe/Berlin." in said  # it used the workspace's zone
