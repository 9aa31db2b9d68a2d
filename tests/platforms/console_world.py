"""The console's side for the tests: what the page reads from the JSON API."""

from __future__ import annotations

import re


async def messages(client, viewer: str) -> list[dict]:
    response = await client.get("/console/api/messages", params={"as": viewer, "since": "0"})
    assert response.status == 200
    return (await response.json())["messages"]


CUSTOMER, AGENT = "wang-store", "alice"




async def send(client, who: str, conversation: str, text: str, **extra) -> dict:
    response = await client.post("/console/api/send", json={"as": who, "conversation": conversation, "text": text, **extra})
    assert response.status == 200, await response.text()
    return await response.json()


def control(html: str, verb: str) -> str:
    """The data-action of the card control for `verb` (claim, priority, …)."""
    match = re.search(rf'data-action="(tb:ticket:{verb}:\d+:\d+)"', html)
    assert match, f"no {verb} control on the card"
    return match.group(1)
