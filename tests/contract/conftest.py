"""The contract suite's one `driver` fixture: every story runs once per platform."""

from __future__ import annotations

import pytest

from tests.contract.drivers import (
    PLATFORMS,
    ConsoleDriver,
    DingTalkDriver,
    SlackDriver,
    WeComDriver,
    on_platform,
)


@pytest.fixture(params=PLATFORMS)
def driver(request):
    """The story's driver on the console, Slack, WeCom and DingTalk in turn."""
    return on_platform(request, {"console": ConsoleDriver, "slack": SlackDriver, "wecom": WeComDriver,
                                 "dingtalk": DingTalkDriver})
