"""The console's side for the tests: what the page reads from the JSON API."""

from __future__ import annotations

import asyncio
import re


async def messages(client, viewer: str) -> list[dict]:
    response = await client.get("/console/api/messages", params={"as": viewer, "since": "0"})
    assert response.status == 200
    return (await response.json())["messages"]


CUSTOMER, AGENT = "wang-store", "alice"


async def eventually(check, timeout: float = 10.0):
    """Poll like the page does until `check()` returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "the console never showed it"
        await asyncio.sleep(0.05)


async def send(client, who: str, conversation: str, text: str, **extra) -> dict:
    response = await client.post("/console/api/send", json={"as": who, "conversation": conversation, "text": text, **extra})
    assert response.status == 200, await response.text()
    return await response.json()


def control(html: str, verb: str) -> str:
    """The data-action of the card control for `verb` (claim, priority, …)."""
    match = re.search(rf'data-action="(tb:ticket:{verb}:\d+:\d+)"', html)
    assert match, f"no {verb} control on the card"
    return match.group(1)
