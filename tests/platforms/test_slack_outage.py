"""Starting while Slack's API is down: verified requests are recorded and acknowledged, and processed once it
answers (Bolt's own authorization would refuse them all until its first auth.test succeeded)."""

from __future__ import annotations

import socket

from aiohttp import web

from tests.platforms.fake_slack import FakeSlack, start_fake_slack
from tests.platforms.slack_world import SlackWorld, slack_app

ALICE, CUSTOMER = "U0ALICE", "U0CUST"
DOWN = (500, {"ok": False, "error": "fatal_error"}, {})


def _answers_of(fake: FakeSlack, needle: str) -> list[str]:
    return [a.get("text", "") for m in ("chat.postMessage", "chat.postEphemeral") for a in fake.of(m)
            if needle in a.get("text", "")]


async def test_commands_during_an_auth_test_outage_are_acknowledged_and_processed_when_it_answers(
        database_url, aiohttp_client, aiohttp_server, monkeypatch):
    fake, base_url = await start_fake_slack(aiohttp_server)
    fake.failures["auth.test"] = [DOWN] * 1000  # down from before the start
    fake.failures["chat.postMessage"] = [DOWN] * 3  # the rest of the API is unwell too
    slack = SlackWorld(await aiohttp_client(await slack_app(base_url, database_url, monkeypatch)), fake)
    for n in range(3):
        response = await slack.command(ALICE, f"new printer {n} on fire")
        assert response.status == 200
        assert "no longer available" not in await response.text()
    response = await slack.say(CUSTOMER, "My invoice page is blank", "D0CUST")  # an event goes through Bolt
    assert response.status == 200 and "no longer available" not in await response.text()
    assert not fake.of("auth.test"), "not answered yet"
    del fake.failures["auth.test"]  # the API is back
    for n in range(3):
        await slack.eventually(lambda n=n: _answers_of(fake, f"printer {n} on fire"), timeout=20)
    await slack.eventually(lambda: _answers_of(fake, "T-000004"), timeout=20)
    tickets = {t for t in ("T-000001", "T-000002", "T-000003", "T-000004") if _answers_of(fake, t)}
    assert len(tickets) == 4 and not _answers_of(fake, "T-000005"), "each request once"
    await slack.eventually(lambda: fake.of("auth.test"), timeout=20)  # and the identity was learnt after all


async def test_commands_while_slack_refuses_connections_are_acknowledged_and_processed_when_it_is_back(
        database_url, aiohttp_client, aiohttp_server, monkeypatch):
    with socket.socket() as probe:  # a port where nothing listens yet: every connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    slack = SlackWorld(await aiohttp_client(await slack_app(f"http://127.0.0.1:{port}/api/", database_url, monkeypatch)),
                       None)
    for n in range(3):
        response = await slack.command(ALICE, f"new outage {n}")
        assert response.status == 200, await response.text()
    # Slack comes back where the client looks for it.
    fake = FakeSlack()
    api = web.Application()
    api.router.add_post("/api/{method}", fake.handle)
    await aiohttp_server(api, port=port)
    slack.fake = fake
    for n in range(3):
        await slack.eventually(lambda n=n: _answers_of(fake, f"outage {n}"), timeout=40)
