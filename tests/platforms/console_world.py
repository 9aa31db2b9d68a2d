"""The console's side for the tests: what the page reads from the JSON API."""

from __future__ import annotations


async def messages(client, viewer: str) -> list[dict]:
    response = await client.get("/console/api/messages", params={"as": viewer, "since": "0"})
    assert response.status == 200
    return (await response.json())["messages"]
