"""SLA messages on DingTalk: a reminder reaches the assignee's 1:1 chat with the robot (text and card), and after
the breach the escalation reaches the escalation group — through the real sweep and outbox, on a fake clock."""

from __future__ import annotations

from bot.app import SERVICES
from bot.config import load_config
from tests.fakes import FakeClock
from tests.harness import EXAMPLE_CONFIG
from tests.platforms.dingtalk_world import ESCALATE, TRIAGE, card_text, start_dingtalk
from tests.waiting import eventually


def _one_minute_promises():
    config = load_config(EXAMPLE_CONFIG)
    for target in config.sla.targets.values():
        target.first_response, target.resolution, target.clock = "1m", None, "24x7"
    config.sla.overrides = []
    return config


async def test_a_reminder_reaches_the_assignee_and_the_breach_the_escalation_group(
        database_url, aiohttp_client, aiohttp_server, monkeypatch):
    clock = FakeClock()
    world = await start_dingtalk(database_url=database_url, aiohttp_client=aiohttp_client,
                                 aiohttp_server=aiohttp_server, monkeypatch=monkeypatch,
                                 config=_one_minute_promises(), clock=clock)
    sweep = world.client.app[SERVICES].sweep
    # Signed at the bot's (fake) time: DingTalk's timestamp must be within an hour of it.
    response = await world.post(world.message("staff-linfang", "工单 新建 打印机卡纸 @alice", group=TRIAGE),
                                timestamp=str(int(clock.now().timestamp() * 1000)))
    assert response.status == 200
    await eventually(lambda: world.fake.cards_in(TRIAGE))

    clock.advance(seconds=48)  # 80 % of the minute
    await sweep.tick()
    reminder = await eventually(lambda: [t for t in world.fake.texts_to_user("staff-alice") if "⏰" in t])
    assert "T-000001" in reminder[0]
    assert await eventually(lambda: [c for c in world.fake.cards_to("staff-alice") if "T-000001" in card_text(c)])

    clock.advance(seconds=15)  # the first response is overdue
    await sweep.tick()
    escalated = await eventually(lambda: [t for t in world.fake.texts_to_group(ESCALATE) if "T-000001" in t])
    assert "🚨" in escalated[0], escalated
    assert await eventually(lambda: [c for c in world.fake.cards_in(ESCALATE) if "T-000001" in card_text(c)])
