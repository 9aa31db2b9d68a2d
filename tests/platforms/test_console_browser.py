"""The console page in a real (headless) browser: an open tab rides out a restart and reloads for a new log; unread
counts, each message's time and the narrow-window layout as a person sees them."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.app import build_app
from bot.config import Settings, load_config
from tests.harness import EXAMPLE_CONFIG
from tests.platforms.browser import Browser, find_browser

pytestmark = pytest.mark.skipif(find_browser() is None, reason="no headless Chromium on this machine")
CONFIG = load_config(EXAMPLE_CONFIG)
SHOWN = "document.getElementById('messages').innerText"


@pytest.fixture
def serve(database_url, aiohttp_server, monkeypatch):  # database_url first: it outlives the servers
    """Start the app on `url` at a fixed port, as a restart of `make run` does."""
    async def serve(url: str, port: int):
        monkeypatch.setenv("DATABASE_URL", url)
        for name in ("HOST", "CONSOLE_TOKEN", "CONSOLE_ENABLED"):
            monkeypatch.delenv(name, raising=False)
        return await aiohttp_server(await build_app(Settings(), config=CONFIG), host="127.0.0.1", port=port)
    return serve


@pytest.fixture
async def browser(tmp_path):
    """A headless Chromium with a fresh profile."""
    browser = await Browser.start(tmp_path / "profile")
    yield browser
    await browser.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _write(browser: Browser, text: str) -> None:
    """Type into the composer and press Enter, as the customer does."""
    await browser.evaluate(f"document.getElementById('text').value = {json.dumps(text)};"
                           "document.getElementById('composer').requestSubmit(); true")


async def _shows(browser: Browser, text: str) -> None:
    await browser.wait_for(f"{SHOWN}.includes({json.dumps(text)})")


async def test_an_open_tab_rides_out_a_restart_and_reloads_for_a_new_database(serve, browser, database_url, tmp_path):
    port = _free_port()
    first = await serve(database_url, port)
    await browser.goto(f"http://127.0.0.1:{port}/")
    await browser.evaluate("localStorage.setItem('ticketbot.persona', 'wang-store'); true")
    await browser.reload()
    await browser.wait_for("document.getElementById('persona').value === 'wang-store'")
    await _write(browser, "我的订单页面打不开")
    await _shows(browser, "T-000001")

    await first.close()  # the server goes away; the tab keeps polling
    await browser.wait_for("!document.getElementById('offline').hidden")

    second = await serve(database_url, port)  # back, on the same database
    await browser.wait_for("document.getElementById('offline').hidden")
    # The page may reload its view once more after the restart: wait for what a person would see, not one glance.
    await browser.wait_for(f"{SHOWN}.includes('T-000001') && {SHOWN}.includes('我的订单页面打不开')")  # the history
    await _write(browser, "还是打不开，截图在这里")
    await _shows(browser, "还是打不开，截图在这里")  # the tab is live: what is said now appears

    await second.close()
    await serve(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}", port)  # a new database: another log
    await browser.wait_for(f"!{SHOWN}.includes('T-000001')")  # the view was reloaded, not kept stale
    await _write(browser, "新的问题")
    await _shows(browser, "T-000001")  # the new log's first ticket answers in the same tab
    assert "还是打不开" not in await browser.evaluate(SHOWN)


async def _be(browser: Browser, persona: str) -> None:
    """Pick `persona` in the page's switcher, as a person does."""
    await browser.wait_for(f"[...document.getElementById('persona').options].some(o => o.value === {json.dumps(persona)})")
    await browser.evaluate(f"(() => {{ const p = document.getElementById('persona'); p.value = {json.dumps(persona)};"
                           "p.dispatchEvent(new Event('change')); return true; })()")
    await browser.wait_for(f"document.getElementById('persona').value === {json.dumps(persona)}")


async def _open(browser: Browser, conversation: str) -> None:
    """Click a conversation in the sidebar."""
    await browser.evaluate(f"[...document.querySelectorAll('aside li')].find(li => li.dataset.conversation === "
                           f"{json.dumps(conversation)}).click(); true")
    await browser.wait_for(f"document.querySelector('aside li.active').dataset.conversation === {json.dumps(conversation)}")


UNREAD = ("Object.fromEntries([...document.querySelectorAll('aside li')].map(li => [li.dataset.conversation, "
          "li.querySelector('.unread').hidden || !li.querySelector('.unread').offsetParent ? null "
          ": li.querySelector('.unread').innerText]))")


async def _unread(browser: Browser) -> dict:
    """What the sidebar shows beside each conversation: its unread count, or None."""
    return await browser.evaluate(UNREAD)


async def _say(port: int, who: str, conversation: str, text: str) -> None:
    """Someone else writes, in a tab of their own (the console's API, as their page calls it)."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{port}/console/api/send",
                                json={"as": who, "conversation": conversation, "text": text, "id": uuid.uuid4().hex}) as r:
            assert r.status == 200, await r.text()


async def test_unread_counts_mark_what_arrived_elsewhere_and_clear_when_opened(serve, browser, database_url):
    port = _free_port()
    await serve(database_url, port)
    await browser.goto(f"http://127.0.0.1:{port}/")
    await _be(browser, "alice")
    await browser.wait_for("document.getElementById('title').innerText === '#triage'")
    assert await _unread(browser) == {"triage": None, "escalations": None, "alice": None}

    await _say(port, "wang-store", "wang-store", "我的订单页面打不开")  # a ticket, assigned to Alice
    await _shows(browser, "T-000001")  # its card in #triage, which is open: nothing unread there
    await browser.wait_for(f"({UNREAD}).alice === '1'")  # "New ticket T-000001 assigned to you" in her DM
    assert (await _unread(browser))["triage"] is None
    await _open(browser, "alice")
    await _shows(browser, "assigned to you")
    assert (await _unread(browser))["alice"] is None, "opening the DM clears its count"

    # From her DM Alice raises the priority: the card in #triage changes in place, nothing new is posted there.
    await _write(browser, "/ticket priority T-000001 P1")
    await _shows(browser, "P1")
    await browser.wait_for("document.querySelectorAll('#messages .msg').length === 3")  # her command and the answer
    await asyncio.sleep(1.5)  # the page polls every 0.7 s: it has heard of the card's change by now
    assert (await _unread(browser))["triage"] is None, "a card changing in place is nothing new to read"

    await _say(port, "linfang", "triage", "/ticket note T-000001 看一下 CDN")  # 林芳 writes in #triage
    await browser.wait_for(f"({UNREAD}).triage === '2'")  # her note and the bot's answer
    await _open(browser, "triage")
    assert (await _unread(browser))["triage"] is None
    shown = await browser.evaluate("[...document.querySelectorAll('#messages .msg')].map(m => m.innerText)")
    assert len(shown) == 3 and "P1 · 高" in shown[0] and "看一下 CDN" in shown[1], shown


async def test_unread_counts_start_over_with_a_new_database(serve, browser, database_url, tmp_path):
    port = _free_port()
    first = await serve(database_url, port)
    await browser.goto(f"http://127.0.0.1:{port}/")
    await _be(browser, "alice")
    for n in range(3):  # a few messages read in the old log's DM
        await _say(port, "alice", "alice", f"/ticket new 打印机坏了 {n}")
    await _open(browser, "alice")
    await browser.wait_for("document.querySelectorAll('#messages .msg.bot').length >= 3")
    await _open(browser, "triage")
    await first.close()
    await serve(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}", port)  # a new database: a new log
    await browser.wait_for(f"!{SHOWN}.includes('打印机坏了')")
    await _say(port, "wang-store", "wang-store", "我的订单页面打不开")
    # Its DM message is new in this log, whatever was read in the old one.
    await browser.wait_for(f"({UNREAD}).alice === '1'")


async def test_each_message_shows_its_time_in_the_readers_time_zone_and_language(serve, browser, database_url):
    port = _free_port()
    await serve(database_url, port)
    await browser.send("Emulation.setTimezoneOverride", timezoneId="Asia/Shanghai")
    await browser.goto(f"http://127.0.0.1:{port}/")
    await _be(browser, "wang-store")
    await _write(browser, "我的订单页面打不开")
    await browser.wait_for("document.querySelectorAll('#messages .msg').length >= 3")  # hers, the answer, the card
    times = "[...document.querySelectorAll('#messages .msg')].map(m => [m.querySelector('time')?.dateTime, " \
            "m.querySelector('time')?.innerText])"
    zone = ZoneInfo("Asia/Shanghai")
    shown = await browser.evaluate(times)
    for at, text in shown:  # the customer reads Chinese: a 24-hour clock, in the zone the browser is in
        assert at and text == datetime.fromisoformat(at).astimezone(zone).strftime("%H:%M"), (at, text)
    await _be(browser, "alice")
    await _shows(browser, "T-000001")
    for at, text in await browser.evaluate(times):  # Alice reads English: "02:09 PM"
        assert at and text == datetime.fromisoformat(at).astimezone(zone).strftime("%I:%M %p"), (at, text)


async def test_a_first_visit_opens_as_the_quick_starts_customer_with_times_in_the_personas_zone(serve, browser,
                                                                                                    database_url):
    port = _free_port()
    await serve(database_url, port)
    # The browser is in Los Angeles; the workspace (and so every persona of the sample) reads Shanghai time.
    await browser.send("Emulation.setTimezoneOverride", timezoneId="America/Los_Angeles")
    await browser.goto(f"http://127.0.0.1:{port}/")
    # README's step 1 begins as 王记小店, in her DM (it opened as Alice on an empty #triage).
    await browser.wait_for("document.getElementById('persona').value === 'wang-store'")
    await browser.wait_for("document.getElementById('title').innerText !== '#triage'")
    info = await browser.wait_for("document.getElementById('persona-info').innerText")
    assert "客户" in info and "Asia/Shanghai" in info and "customer" not in info, info  # roles in her words
    options = await browser.evaluate("[...document.getElementById('persona').options].map(o => o.innerText)")
    assert "王记小店 · 客户" in options and "Alice Wang · 客服专员" in options, options
    await _write(browser, "我的订单页面打不开")
    await browser.wait_for("document.querySelectorAll('#messages .msg').length >= 3")
    times = "[...document.querySelectorAll('#messages .msg')].map(m => [m.querySelector('time')?.dateTime, " \
            "m.querySelector('time')?.innerText, m.querySelector('time')?.title])"
    zone = ZoneInfo("Asia/Shanghai")
    for at, text, title in await browser.evaluate(times):  # the bot's texts and the stamps agree: Shanghai
        assert text == datetime.fromisoformat(at).astimezone(zone).strftime("%H:%M"), (at, text)
        assert "Asia/Shanghai" in title, title  # the zone named where the bare time could mislead


LAYOUT = """(() => {
  const box = (selector) => { const r = document.querySelector(selector).getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height}; };
  const messages = document.getElementById('messages');
  return {aside: box('aside'), main: box('main'), composer: box('#composer'), messages: box('#messages'),
          width: innerWidth, height: innerHeight, pageHeight: document.documentElement.scrollHeight,
          pageWidth: document.documentElement.scrollWidth, scrolls: messages.scrollHeight > messages.clientHeight,
          atBottom: messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40};
})()"""


async def _window(browser: Browser, width: int, height: int = 800) -> dict:
    await browser.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                       mobile=False)
    return await browser.wait_for(f"innerWidth === {width} && {LAYOUT}")


@pytest.mark.parametrize("persona", ["wang-store", "alice"])
async def test_a_narrow_window_puts_the_sidebar_above_and_keeps_the_composer_in_view(serve, browser, database_url,
                                                                                    persona):
    port = _free_port()
    await serve(database_url, port)
    await browser.goto(f"http://127.0.0.1:{port}/")
    await _be(browser, persona)
    for n in range(14):  # a long conversation: more than a screen
        await _say(port, persona, persona, "/ticket help" if persona == "alice" else f"还是打不开 {n}")
    await _open(browser, persona)
    await browser.wait_for("document.querySelectorAll('#messages .msg').length >= 14")

    wide = await _window(browser, 1280)
    assert wide["aside"]["right"] <= wide["main"]["left"], "side by side"
    assert wide["aside"]["top"] == wide["main"]["top"] == 0
    narrow = await _window(browser, 420)
    assert narrow["aside"]["bottom"] <= narrow["main"]["top"], "the sidebar is a bar above the conversation"
    assert narrow["aside"]["width"] == narrow["main"]["width"] == narrow["width"], narrow
    assert narrow["pageWidth"] <= narrow["width"], "nothing sticks out sideways"
    # One screen: the messages scroll inside, the composer stays where a person types.
    assert narrow["pageHeight"] <= narrow["height"], narrow
    assert narrow["composer"]["bottom"] <= narrow["height"] and narrow["composer"]["top"] >= narrow["aside"]["bottom"]
    assert narrow["scrolls"] and narrow["messages"]["height"] > 200, narrow
    await _write(browser, "/ticket help" if persona == "alice" else "第十五条")
    await browser.wait_for(f"({LAYOUT}).atBottom && document.querySelectorAll('#messages .msg').length >= 15")


async def _press(browser: Browser, label: str) -> None:
    """Click the button `label` on the card in view, once it shows."""
    find = f"[...document.querySelectorAll('#messages .card button')].find(b => b.innerText.trim() === {json.dumps(label)})"
    await browser.wait_for(f"!!{find}")
    await browser.evaluate(f"{find}.click(); true")


async def test_the_readme_quick_start_in_a_browser(serve, browser, database_url):
    """README's "Quick start", step by step, as it reads on a fresh database."""
    port = _free_port()
    await serve(database_url, port)
    await browser.goto(f"http://127.0.0.1:{port}/")
    await _be(browser, "wang-store")  # 1. the customer sees only their DM
    assert list(await _unread(browser)) == ["wang-store"]
    await _write(browser, "我的订单页面打不开")
    await _shows(browser, "已为您创建工单 T-000001")

    await _be(browser, "alice")  # 2. the triage card speaks the workspace language, the page Alice's
    await browser.wait_for("document.getElementById('title').innerText === '#triage'")
    await _shows(browser, "T-000001")
    assert await browser.evaluate("document.getElementById('send').innerText") == "Send"
    labels = await browser.evaluate("[...document.querySelectorAll('#messages .sel-label')].map(l => l.innerText)")
    assert "优先级" in labels
    await _press(browser, "认领")
    await browser.wait_for(f"{SHOWN}.includes('处理中')")
    await browser.evaluate("(() => { const s = [...document.querySelectorAll('#messages select')]"
                           ".find(x => x.dataset.action.includes(':priority:')); s.value = 'P1';"
                           "s.dispatchEvent(new Event('change')); return true; })()")
    await browser.wait_for(f"{SHOWN}.includes('P1 · 高')")
    await _write(browser, "/ticket note T-000001 looks like the CDN")
    await _shows(browser, "Internal note added")
    await _write(browser, "/ticket reply T-000001 Please clear your cache")
    await _shows(browser, "Reply sent")

    await _write(browser, "/ticket ask T-000001 @finance 请核对发票金额 截止 2h")  # 3. ask Finance
    await _shows(browser, "Asked 赵会计 (R-000001)")
    await _be(browser, "zhao")  # Finance's contact: the request card in their DM
    await _open(browser, "zhao")
    await _shows(browser, "R-000001 · 关于 T-000001 的问题")
    await _press(browser, "接受 / 我来处理")
    await browser.wait_for(f"{SHOWN}.includes('处理中')")
    await _write(browser, "金额无误")
    await _shows(browser, "你对 R-000001 的答复已记录在 T-000001")
    await _be(browser, "alice")
    await _shows(browser, "answered R-000001 on T-000001: 金额无误")

    await _be(browser, "wang-store")  # 4. the reply arrived, the note did not
    await _shows(browser, "Please clear your cache")
    assert "looks like the CDN" not in await browser.evaluate(SHOWN)
    await _write(browser, "好了，谢谢")
    await _shows(browser, "好了，谢谢")

    await _be(browser, "alice")  # 5. resolve, close: every copy follows
    await _shows(browser, "好了，谢谢")  # it landed on the ticket (in the card's thread)
    await _press(browser, "解决")
    await browser.wait_for(f"{SHOWN}.includes('已解决')")
    await _press(browser, "关闭")
    await browser.wait_for(f"{SHOWN}.includes('已关闭')")
    await _be(browser, "wang-store")
    await _shows(browser, "已关闭")
    await _write(browser, "/ticket help")  # what a customer can do, not the staff's commands
    await _shows(browser, "/ticket reopen")
    assert "/ticket assign" not in await browser.evaluate(SHOWN)


FORM = "document.querySelector('#form-layer form.tb-form')"


async def _submit(browser: Browser, **fields: str) -> None:
    """Fill the open form's fields and press its submit button, as a person does."""
    assignments = "".join(f"{FORM}.querySelector('[name={name}]').value = {json.dumps(value)};"
                          for name, value in fields.items())
    await browser.evaluate(f"(() => {{ {assignments} {FORM}.querySelector('[type=submit]').click(); return true; }})()")


async def test_a_colleague_answers_a_request_in_the_form_over_the_conversation(serve, browser, database_url):
    port = _free_port()
    await serve(database_url, port)
    await _say(port, "wang-store", "wang-store", "发票金额不对")
    await _say(port, "alice", "triage", "/ticket ask T-000001 @finance 请核对发票金额 截止 2h")
    await browser.goto(f"http://127.0.0.1:{port}/")
    await _be(browser, "zhao")
    await _open(browser, "zhao")
    await _shows(browser, "R-000001 · 关于 T-000001 的问题")
    await _press(browser, "答复")
    shown = await browser.wait_for(f"!document.getElementById('form-layer').hidden && {FORM}.innerText")
    assert "答复 R-000001" in shown and "请核对发票金额" in shown, shown
    assert await browser.evaluate("document.activeElement.name") == "answer", "the first field has the cursor"

    await _submit(browser, answer="   ")  # blank: told beside the field, in his language; nothing recorded
    error = f"{FORM}.querySelector('.form-error[data-error-for=answer]').innerText"
    assert await browser.wait_for(error) == "请填写“您的答复”。"
    await _submit(browser, answer="金额无误", attachment="见对账单")
    await browser.wait_for("document.getElementById('form-layer').hidden")
    await _shows(browser, "已答复")  # the request card, redrawn in place
    await _be(browser, "alice")
    await _shows(browser, "answered R-000001 on T-000001: 金额无误")
