"""A manager's figures on every platform: `工单 统计 本周` answers with a card, and the scheduled digest reaches the
director (周总) by DM with its chart, uploaded the platform's way — what each fake platform API received (the console,
Slack, WeCom and DingTalk)."""

from __future__ import annotations

import base64
import json

import pytest

from bot.app import SERVICES
from bot.kpis import parse_period
from schedules.digests import DigestRunner
from tests.contract.drivers import PLATFORMS, eventually, on_platform, settled
from tests.platforms.console_world import messages
from tests.platforms.dingtalk_world import TRIAGE
from tests.platforms.dingtalk_world import card_text as dingtalk_card_text
from tests.platforms.wecom_world import encrypted, text_xml

PNG = b"\x89PNG\r\n\x1a\n"


def _runner(app) -> DigestRunner:
    services = app[SERVICES]
    return DigestRunner(store=services.store, config=services.config, directory=services.directory,
                        clock=services.store.clock, platforms=services.messengers, wake=services.dispatcher.wake)


async def _fire_daily(app) -> None:
    runner = _runner(app)
    digest = next(d for d in runner.config.digests if d.name == "daily-sla")
    # This week's figures: a period of its own (start-up may have claimed yesterday's missed run as skipped).
    week = parse_period("week", runner.clock.now(), runner.timezone(digest))
    assert await runner.send(digest, week) is not None
    await eventually(lambda: settled(app))


class ConsoleManager:
    def __init__(self, client):
        self.client, self.app = client, client.app

    async def ask(self, text):
        await self.client.post("/console/api/send", json={"as": "zhou", "conversation": "triage", "text": text})

    async def figures_card(self):
        cards = [m for m in await messages(self.client, "zhou") if m["conversation"] == "triage" and m["card"]]
        return cards[-1]["html"] if cards else None

    async def digest(self) -> tuple[str, bytes]:
        cards = [m for m in await messages(self.client, "zhou") if m["conversation"] == "zhou" and m["card"]]
        if not cards:
            return None
        html = cards[-1]["html"]
        encoded = html.split('src="data:image/png;base64,', 1)[1].split('"', 1)[0]
        return html, base64.b64decode(encoded)


class SlackManager:
    def __init__(self, world):
        self.world, self.app = world, world.client.app

    async def ask(self, text):
        await self.world.command("U0ZHOU", text.removeprefix("工单 "))

    async def figures_card(self):
        posts = [a for a in self.world.fake.of("chat.postMessage") if a.get("channel") == "C0TRIAGE" and a.get("blocks")]
        return json.dumps(posts[-1]["blocks"], ensure_ascii=False) if posts else None

    async def digest(self) -> tuple[str, bytes]:
        # The DM (conversations.open gave its id) with the card.
        posts = [a for a in self.world.fake.of("chat.postMessage") if a.get("channel") == "D0ZHOU" and a.get("blocks")]
        if not posts:
            return None
        post = posts[-1]
        blocks = post["blocks"] if isinstance(post["blocks"], list) else json.loads(post["blocks"])
        file_id = next(b["slack_file"]["id"] for b in blocks if b["type"] == "image")
        return json.dumps(blocks, ensure_ascii=False), self.world.fake.uploads[file_id]


class WeComManager:
    def __init__(self, client, fake):
        self.client, self.fake, self.app = client, fake, client.app
        self.msg_id = 4242

    async def ask(self, text):
        self.msg_id += 1  # each message a delivery of its own (one MsgId is one message)
        query, body = encrypted(text_xml("zhou", text, self.msg_id))
        assert (await self.client.post("/wecom/callback", params=query, data=body)).status == 200

    async def figures_card(self):
        cards = self.fake.cards("zhou")
        return json.dumps(cards[-1][1]["template_card"], ensure_ascii=False) if cards else None

    async def digest(self) -> tuple[str, bytes]:
        images = [b for p, _q, b in self.fake.calls if p == "message/send" and b.get("touser") == "zhou"
                  and b["msgtype"] == "image"]
        if not images:
            return None
        card = self.fake.cards("zhou")[-1][1]["template_card"]
        # What the template card cannot show follows it as text (rows past six, the lists under the figures).
        texts = [b["text"]["content"] for p, _q, b in self.fake.calls if p == "message/send"
                 and b.get("touser") == "zhou" and b["msgtype"] == "text"]
        return (json.dumps(card, ensure_ascii=False) + "\n".join(texts),
                self.fake.media[images[-1]["image"]["media_id"]][2])


class DingTalkManager:
    def __init__(self, world):
        self.world, self.app = world, world.client.app

    async def ask(self, text):
        assert (await self.world.say("staff-zhou", text, group=TRIAGE, nick="周总")).status == 200

    async def figures_card(self):
        cards = [c for c in self.world.fake.cards_in(TRIAGE) if "工单数据" in dingtalk_card_text(c)]
        return json.dumps(cards[-1]["data"], ensure_ascii=False) if cards else None

    async def digest(self) -> tuple[str, bytes]:
        cards = self.world.fake.cards_to("staff-zhou")
        if not cards:
            return None
        data = cards[-1]["data"]
        media = next(part["image"] for part in data["contents"] if part["type"] == "image")
        return json.dumps(data, ensure_ascii=False), self.world.fake.media[media]


@pytest.fixture(params=PLATFORMS)
def manager(request):
    """The story's manager on each platform in turn."""
    return on_platform(request, {"console": ConsoleManager, "slack": SlackManager, "wecom": WeComManager,
                                 "dingtalk": DingTalkManager})


async def test_a_manager_gets_figures_and_the_daily_digest_on_every_platform(manager):
    await manager.ask("工单 统计 本周")
    card = await eventually(manager.figures_card)
    assert "工单数据" in card and "全部工单" in card and "新建" in card

    await manager.ask("工单 新建 支付页面白屏 #bug")  # a ticket of the week, for the lists under the figures
    await eventually(lambda: settled(manager.app))
    await _fire_daily(manager.app)
    card, png = await eventually(manager.digest)
    assert "2026" in card
    assert "分类排行：" in card and "缺陷 1" in card, "the top lists reach the director on every platform"
    assert "数据简报“daily-sla”" in card and "部门：客服" in card and "首次响应达标" in card
    assert png.startswith(PNG) and len(png) > 10_000, "the chart, as uploaded"
