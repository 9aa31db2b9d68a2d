"""Files in the console page in a real (headless) browser: a screenshot dropped on the conversation and one chosen
with the attach button reach the agent, who sees the picture inline (fetched for their persona)."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest

from bot.app import build_app
from bot.config import Settings, load_config
from tests.harness import EXAMPLE_CONFIG
from tests.platforms.browser import Browser, find_browser

pytestmark = pytest.mark.skipif(find_browser() is None, reason="no headless Chromium on this machine")
PNG = (Path(__file__).resolve().parent.parent / "fixtures" / "files" / "screenshot.png").read_bytes()
SHOWN = "document.getElementById('messages').innerText"
# A File of the screenshot's bytes, built in the page as a person's file manager would hand it over.
FILE = (f"new File([Uint8Array.from(atob({json.dumps(base64.b64encode(PNG).decode())}), c => c.charCodeAt(0))], "
        "{name}, {{type: 'image/png'}})")


@pytest.fixture
async def page(database_url, aiohttp_server, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("HOST", "CONSOLE_TOKEN", "CONSOLE_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await aiohttp_server(await build_app(Settings(), config=load_config(EXAMPLE_CONFIG)), host="127.0.0.1", port=port)
    browser = await Browser.start(tmp_path / "profile")
    await browser.goto(f"http://127.0.0.1:{port}/")
    yield browser
    await browser.close()


async def _be(browser: Browser, persona: str) -> None:
    await browser.wait_for(f"[...document.getElementById('persona').options].some(o => o.value === {json.dumps(persona)})")
    await browser.evaluate(f"(() => {{ const p = document.getElementById('persona'); p.value = {json.dumps(persona)};"
                           "p.dispatchEvent(new Event('change')); return true; })()")
    await browser.wait_for(f"document.getElementById('persona').value === {json.dumps(persona)}")


async def test_a_dropped_screenshot_and_an_attached_one_show_inline_for_the_agent(page):
    await _be(page, "wang-store")
    await page.evaluate("document.getElementById('text').value = '付款页面报错，截图如下'; true")
    await page.evaluate(f"(() => {{ const dt = new DataTransfer(); dt.items.add({FILE.format(name=json.dumps('drop.png'))});"
                        "document.querySelector('main').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, "
                        "bubbles: true, cancelable: true})); return true; })()")
    await page.wait_for(f"{SHOWN}.includes('已为您创建工单 T-000001')")
    await page.wait_for(f"{SHOWN}.includes('drop.png')")
    # The attach button's file chooser, as the page sees it when a person picks a file.
    await page.evaluate(f"(() => {{ const dt = new DataTransfer(); dt.items.add({FILE.format(name=json.dumps('chosen.png'))});"
                        "const input = document.getElementById('file-input'); input.files = dt.files;"
                        "input.dispatchEvent(new Event('change')); return true; })()")
    await page.wait_for(f"{SHOWN}.includes('chosen.png')")
    await _be(page, "alice")
    loaded = ("[...document.querySelectorAll('#messages img[data-attachment]')]"
              ".filter(i => i.complete && i.naturalWidth === 1).length")
    assert await page.wait_for(f"{loaded} >= 1")
