"""Console history lives in the database: a restart keeps it, and an open page can tell a new log from its own."""

from __future__ import annotations

import pytest

from bot.app import SERVICES, build_app
from bot.config import Settings, load_config
from bot.platforms.console import PAGE_LIMIT
from tests.harness import EXAMPLE_CONFIG
from tests.platforms.console_world import AGENT, CUSTOMER, control, send
from tests.waiting import eventually

CONFIG = load_config(EXAMPLE_CONFIG)


@pytest.fixture
def start(database_url, aiohttp_client, monkeypatch):  # database_url first: it outlives the apps
    """Start (or restart) the app on a database, as `make run` does."""
    async def start(url: str):
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.delenv("HOST", raising=False)
        monkeypatch.delenv("CONSOLE_TOKEN", raising=False)
        return await aiohttp_client(await build_app(Settings(), config=CONFIG))
    return start


async def poll(client, viewer: str, since: int = 0) -> dict:
    """What the page's poll gets: messages changed after `since`, the log's newest change number, its epoch."""
    response = await client.get("/console/api/messages", params={"as": viewer, "since": str(since)})
    assert response.status == 200
    return await response.json()


def said(data: dict, text: str) -> list[dict]:
    return [m for m in data["messages"] if text in m["html"]]


async def test_history_and_an_open_page_survive_a_restart_on_the_same_database(start, database_url):
    first = await start(database_url)
    await send(first, CUSTOMER, CUSTOMER, "我的订单页面打不开")
    await eventually(lambda: _has(first, CUSTOMER, "T-000001"))
    await eventually(lambda: _has(first, AGENT, "tb:ticket:claim"))
    await settled(first)
    customer_before, agent_before = await poll(first, CUSTOMER), await poll(first, AGENT)
    await first.close()

    second = await start(database_url)
    customer_after, agent_after = await poll(second, CUSTOMER), await poll(second, AGENT)
    assert customer_after["messages"] == customer_before["messages"], "the customer's DM reads the same"
    assert agent_after["messages"] == agent_before["messages"], "the triage channel reads the same"
    assert len(customer_after["messages"]) >= 2
    assert agent_after["epoch"] == agent_before["epoch"] and agent_after["seq"] == agent_before["seq"]

    # The page opened before the restart keeps polling from where it was, and sees what happens next.
    seen = customer_before["seq"]
    assert (await poll(second, CUSTOMER, seen))["messages"] == []
    await send(second, CUSTOMER, CUSTOMER, "还是打不开")
    await eventually(lambda: _has(second, AGENT, "还是打不开"))
    await settled(second)
    news = await poll(second, CUSTOMER, seen)
    assert said(news, "还是打不开") and all(m["seq"] > seen for m in news["messages"])

    # A card posted before the restart is still pressed and updated in place: same ref, a newer change.
    [before] = [m for m in agent_before["messages"] if m["card"] and m["conversation"] == "triage"]
    [card] = [m for m in (await poll(second, AGENT))["messages"] if m["ref"] == before["ref"]]  # as the page has it now
    response = await second.post("/console/api/press", json={
        "as": AGENT, "conversation": "triage", "ref": card["ref"], "action": control(card["html"], "claim")})
    assert response.status == 200

    async def updated():
        return [m for m in (await poll(second, AGENT, agent_before["seq"]))["messages"]
                if m["ref"] == card["ref"] and "处理中" in m["html"]]
    [fresh] = await eventually(updated)
    assert fresh["seq"] > card["seq"]


async def test_a_page_can_tell_that_the_log_it_read_is_gone(start, tmp_path):
    old = await start(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    await send(old, CUSTOMER, CUSTOMER, "页面打不开")
    await eventually(lambda: _has(old, CUSTOMER, "T-000001"))
    await settled(old)
    page = await poll(old, CUSTOMER)  # what an open tab holds
    assert (await poll(old, CUSTOMER, page["seq"]))["epoch"] == page["epoch"], "same log: same epoch"
    await old.close()

    new = await start(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")  # a fresh database, e.g. after `make clean`
    answer = await poll(new, CUSTOMER, page["seq"])
    # The page's rule (app.js): another epoch, or a newest change below its own, means reload from scratch.
    assert answer["epoch"] != page["epoch"]
    assert answer["seq"] < page["seq"]
    assert answer["messages"] == []


async def test_a_long_history_reaches_a_new_page_in_pages(start, database_url):
    client = await start(database_url)
    log = client.app[SERVICES].store  # written straight into the log: what a long afternoon leaves
    for n in range(PAGE_LIMIT + 3):
        await log.console_post({"conversation": CUSTOMER, "thread": None, "html": f"line {n}", "card": False,
                                "ephemeral_user": None, "author": "王记小店", "bot": False}, keep=10_000)
    first = await poll(client, CUSTOMER)
    assert len(first["messages"]) == PAGE_LIMIT and first["more"] is True
    since = max(m["seq"] for m in first["messages"])
    rest = await poll(client, CUSTOMER, since)
    assert [m["html"] for m in rest["messages"]] == [f"line {n}" for n in range(PAGE_LIMIT, PAGE_LIMIT + 3)]
    assert rest["more"] is False


async def settled(client) -> None:
    """Wait until everything the bot has to say is said (the outbox is empty)."""
    async def done():
        return all(row.status != "pending" and row.status != "sending"
                   for row in await client.app[SERVICES].store.outbox_rows())
    await eventually(done)


async def _has(client, viewer: str, text: str) -> bool:
    return bool(said(await poll(client, viewer), text))
