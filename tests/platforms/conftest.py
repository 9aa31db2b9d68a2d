"""Fixtures of the platform suites beyond those every suite shares (tests/conftest.py)."""

from __future__ import annotations

import pytest
from aiohttp import web

from bot.events import Platform
from bot.platforms.dingtalk_api import DingTalkApi
from bot.platforms.dingtalk_messenger import DingTalkMessenger, SessionWebhooks
from bot.platforms.wecom_api import WeComApi
from bot.platforms.wecom_messenger import MemberPacer, WeComMessenger
from tests.harness import Harness
from tests.platforms.dingtalk_world import APP_KEY, SECRET, FakeDingTalk
from tests.platforms.wecom_world import AES_KEY, TOKEN, AibotFake, FakeWeCom


@pytest.fixture
async def aibot(start_wecom):
    """(test client, fake WeCom with a response_url endpoint, its server): the app with the 智能机器人 on."""
    fake = AibotFake()
    client, server = await start_wecom(fake, routes=[("/aibot/response/{key}", fake.response_url)],
                                       env={"WECOM_AIBOT_TOKEN": TOKEN, "WECOM_AIBOT_ENCODING_AES_KEY": AES_KEY})
    return client, fake, server


@pytest.fixture
async def wecom_bot(store, clock, aiohttp_server):
    """A Harness whose dispatcher also sends to WeCom: the real messenger against a fake API, paced on the fake clock."""
    fake = FakeWeCom()
    api = web.Application()
    api.router.add_get("/cgi-bin/gettoken", fake.gettoken)
    api.router.add_post("/cgi-bin/{path:.+}", fake.api)
    server = await aiohttp_server(api)
    messenger = WeComMessenger(api=WeComApi(base_url=str(server.make_url("/cgi-bin/")), corp_id="corp", secret="s"),
                               agent_id=218, pacer=MemberPacer(monotonic=lambda: clock.now().timestamp()))
    bot = Harness(store, clock)
    bot.dispatcher.messengers[Platform.WECOM] = messenger
    yield bot, fake
    await messenger.close()


@pytest.fixture
async def dingtalk_bot(store, clock, aiohttp_server):
    """A Harness whose dispatcher also sends to DingTalk: the real messenger against a fake OpenAPI, paced and
    its sessionWebhooks timed on the fake clock."""
    fake = FakeDingTalk()
    fake.server = await aiohttp_server(fake.routes())
    base = str(fake.server.make_url("")).rstrip("/")
    api = DingTalkApi(base_url=base, oapi_base_url=base, app_key=APP_KEY, app_secret=SECRET)
    messenger = DingTalkMessenger(api=api, robot_code=APP_KEY, monotonic=lambda: clock.now().timestamp(),
                                  sessions=SessionWebhooks(store, clock=lambda: clock.now().timestamp()))
    bot = Harness(store, clock)
    bot.dispatcher.messengers[Platform.DINGTALK] = messenger
    yield bot, fake
    await messenger.close()
