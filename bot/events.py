"""Neutral inbound events: what a platform adapter hands to the core, whatever the platform."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict


class Platform(StrEnum):
    """A chat platform the bot speaks on; the console is the local fourth one."""

    CONSOLE = "console"
    SLACK = "slack"
    WECOM = "wecom"
    DINGTALK = "dingtalk"


class ConversationKind(StrEnum):
    """Where a message was said: a direct message, a group chat or a channel."""

    DM = "dm"
    GROUP = "group"
    CHANNEL = "channel"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Actor(_Frozen):
    """Who did something, as the platform names them."""

    platform: Platform
    user_id: str
    display_name: str = ""
    # True when the platform says this person belongs to another organisation (e.g. Slack Connect).
    external: bool = False


class Conversation(_Frozen):
    """A place messages can be posted: a DM, group or channel, optionally one thread in it."""

    platform: Platform
    id: str
    kind: ConversationKind = ConversationKind.DM
    thread_id: str | None = None

    def thread(self, thread_id: str | None) -> Conversation:
        """The same conversation narrowed to a thread (or widened to the whole conversation with None)."""
        return self.model_copy(update={"thread_id": thread_id})


class MessagePosted(_Frozen):
    """Someone wrote text the bot can see: a DM, an @-mention, or a reply in a ticket thread."""

    type: Literal["message"] = "message"
    delivery_id: str
    actor: Actor
    conversation: Conversation
    text: str
    # False for ambient channel chatter the bot merely observes (only ticket-thread replies matter then).
    addressed: bool = True


class CommandIssued(_Frozen):
    """An explicit command (e.g. Slack's `/ticket …`); `text` is everything after the command word."""

    type: Literal["command"] = "command"
    delivery_id: str
    actor: Actor
    conversation: Conversation
    text: str


class ButtonPressed(_Frozen):
    """A button or select on one of our cards was used; `action` is encoded by cards.actions."""

    type: Literal["button"] = "button"
    delivery_id: str
    actor: Actor
    conversation: Conversation
    action: str
    value: str | None = None
    # The platform's reference to the message holding the card, so the press can refresh that copy.
    message_ref: str | None = None
    # Set where a press hands out a new reference to its card (WeCom: a fresh single-use update code):
    # the stable name of the pressed card message; its stored placement then takes `message_ref`.
    card_id: str | None = None
    # A card that submits several choices at once (WeCom's multiple_interaction): (action, value) pairs.
    choices: tuple[tuple[str, str], ...] = ()


class FormSubmitted(_Frozen):
    """A form (e.g. a Slack modal) was submitted; `fields` are already plain strings by field name."""

    type: Literal["form"] = "form"
    delivery_id: str
    actor: Actor
    conversation: Conversation
    form: str
    fields: dict[str, str]


Event = MessagePosted | CommandIssued | ButtonPressed | FormSubmitted
