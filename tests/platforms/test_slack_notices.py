"""SLA notices on the wire: what a sweep says while an earlier notice still waits for the DM joins that message."""

from __future__ import annotations

import asyncio

from bot.app import SERVICES
from bot.config import load_config
from tests.fakes import FakeClock
from tests.harness import EXAMPLE_CONFIG
from tests.platforms.slack_world import start_slack

ALICE, ALICE_DM = "U0ALICE", "D0ALICE"


def _one_minute_promises():
    """The sample config with every priority due for a first response within a minute, around the clock."""
    config = load_config(EXAMPLE_CONFIG)
    for target in config.sla.targets.values():
        target.first_response, target.resolution, target.clock = "1m", None, "24x7"
    config.sla.overrides = []
    return config


async def test_a_notice_joins_the_earlier_one_still_waiting_for_the_dm(database_url, aiohttp_client, aiohttp_server,
                                                                       monkeypatch):
    clock = FakeClock()
    slack = await start_slack(database_url=database_url, aiohttp_client=aiohttp_client, aiohttp_server=aiohttp_server,
                              monkeypatch=monkeypatch, config=_one_minute_promises(), clock=clock)
    sweep = slack.client.app[SERVICES].sweep
    await slack.command(ALICE, "new App crashes on start @alice")
    await slack.eventually(slack.triage_cards)
    await asyncio.sleep(0.5)  # what the new ticket sent has gone

    def to_dm(with_blocks: bool):
        return [a for a in slack.fake.of("chat.postMessage") if a.get("channel") == ALICE_DM
                and bool(a.get("blocks")) is with_blocks]

    # Slack holds Alice's DM back for 30 s (its rate limit): the 80 % reminder waits, unsent.
    slack.fake.fail_next("chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"})
    clock.advance(seconds=48)
    await sweep.tick()
    await slack.eventually(lambda: [c for c in slack.fake.calls if c.status == 429])
    await asyncio.sleep(2)  # a few seconds later the next sweep finds the response deadline passed
    clock.advance(seconds=12)
    await sweep.tick()
    await slack.eventually(lambda: [a for a in slack.fake.of("chat.postMessage") if a.get("channel") == "C0ESCALATE"])
    assert to_dm(False) == [], "the DM is still held back"

    clock.advance(seconds=30)  # the DM may be written to again
    [message] = await slack.eventually(lambda: to_dm(False))
    assert "⏰ T-000001" in message["text"] and "🚨" in message["text"], message["text"]
    await slack.eventually(lambda: to_dm(True))
    await asyncio.sleep(1.5)  # nothing else follows
    assert len(to_dm(False)) == 1 and len(to_dm(True)) == 1, "one message with both lines, and one card"
