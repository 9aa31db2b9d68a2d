"""Fixtures of the platform suites beyond those every suite shares (tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.platforms.wecom_world import AES_KEY, TOKEN, AibotFake


@pytest.fixture
async def aibot(start_wecom):
    """(test client, fake WeCom with a response_url endpoint, its server): the app with the 智能机器人 on."""
    fake = AibotFake()
    client, server = await start_wecom(fake, routes=[("/aibot/response/{key}", fake.response_url)],
                                       env={"WECOM_AIBOT_TOKEN": TOKEN, "WECOM_AIBOT_ENCODING_AES_KEY": AES_KEY})
    return client, fake, server
