"""The console page in a real (headless) browser: an open tab rides out a restart and reloads for a new log."""

from __future__ import annotations

import json
import socket

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
    await browser.evaluate("localStorage.setItem('ticketbot.persona', 'wang-store'); location.reload(); true")
    await browser.wait_for("document.readyState === 'complete' && document.getElementById('persona').value === 'wang-store'")
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
