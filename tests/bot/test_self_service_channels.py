"""Which customers are offered articles: per channel beats per platform beats the switch; VIPs get a person."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.events import Conversation, ConversationKind, Platform
from bot.kb_config import SelfServiceConfig

SETTINGS = SelfServiceConfig.model_validate({
    "enabled": False,
    "platforms": {"slack": True},
    "channels": {"slack": {"C0NOISY": False, "dm": False},
                 "wecom": {"kf": True, "kf:wkVIPDESK": False, "dm": False},
                 "dingtalk": {"cidGROUP==": True}},
})


def _in(platform: str, conversation: str, kind: ConversationKind) -> Conversation:
    return Conversation(platform=Platform(platform), id=conversation, kind=kind)


@pytest.mark.parametrize(("where", "offered"), [
    (_in("slack", "C0SHARED", ConversationKind.CHANNEL), True),   # the platform's setting
    (_in("slack", "C0NOISY", ConversationKind.CHANNEL), False),   # its own id beats the platform
    (_in("slack", "D0CUST", ConversationKind.DM), False),         # every DM on Slack
    (_in("wecom", "kf:wkSHOP:wmCust", ConversationKind.DM), True),       # every 微信客服 account …
    (_in("wecom", "kf:wkVIPDESK:wmCust", ConversationKind.DM), False),   # … but the longer prefix wins
    (_in("wecom", "customer-w", ConversationKind.DM), False),            # app DMs: the kind
    (_in("wecom", "aibot:chat1", ConversationKind.GROUP), False),        # unnamed: the switch (off)
    (_in("dingtalk", "cidGROUP==", ConversationKind.GROUP), True),       # one group on a platform that is off
    (_in("dingtalk", "cidOTHER==", ConversationKind.GROUP), False),
    (_in("console", "wang-store", ConversationKind.DM), False),
])
def test_the_most_particular_entry_decides(where, offered):
    assert SETTINGS.on_for(where, vip=False) is offered


def test_vip_customers_get_a_person_wherever_they_write_unless_turned_on():
    shared = _in("dingtalk", "cidGROUP==", ConversationKind.GROUP)
    assert SETTINGS.on_for(shared, vip=True) is False
    assert SETTINGS.model_copy(update={"vip": True}).on_for(shared, vip=True) is True


@pytest.mark.parametrize(("channels", "problem"), [
    ({"teams": {"x": True}}, "teams"),
    ({"slack": {" ": True}}, "empty channel name"),
    ({"slack": {"C0X": "maybe"}}, "bool"),
])
def test_a_wrong_channel_entry_is_refused_by_name(channels, problem):
    with pytest.raises(ValidationError) as refused:
        SelfServiceConfig.model_validate({"channels": channels})
    assert problem in str(refused.value)
