"""Neutral inbound events: what a platform adapter hands to the core, whatever the platform."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

# Control characters but tab, newline and carriage return, and lone surrogates: never meant by a person, and
# PostgreSQL refuses NUL (and an unpaired surrogate cannot be encoded), so they go before anything stores them.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(value: Any) -> Any:
    """`value` with control characters stripped from every string in it (dicts, lists and tuples too)."""
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    if isinstance(value, dict):
        return {clean_text(key): clean_text(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(clean_text(item) for item in value)
    return value


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

    @model_validator(mode="before")
    @classmethod
    def _clean(cls, data: Any) -> Any:
        # Every event is cleaned once where it enters the core, whatever the platform.
        return clean_text(data) if isinstance(data, dict) else data


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


class FileRef(_Frozen):
    """A file a message carries, as its platform describes it; `ref` is what the adapter fetches it by (a Slack
    url_private, a WeCom MediaId, a DingTalk downloadCode), never fetched by the core itself."""

    name: str
    mime: str = "application/octet-stream"
    size: int | None = None  # as the platform declares it, when it does (checked again while reading)
    ref: str


class MessagePosted(_Frozen):
    """Someone wrote text the bot can see: a DM, an @-mention, or a reply in a ticket thread."""

    type: Literal["message"] = "message"
    delivery_id: str
    actor: Actor
    conversation: Conversation
    text: str
    # False for ambient channel chatter the bot merely observes (only ticket-thread replies matter then).
    addressed: bool = True
    # The bot was named in it (an @-mention): words to the bot, so a leading command word is a command.
    mentioned: bool = False
    files: tuple[FileRef, ...] = ()  # pictures and files that came with the text (which may be empty)
    # What the message was when the bot cannot use it (a location, a sticker, a link card, a voice note without
    # recognized text): the sender is told what the bot takes, and the delivery is recorded like any other.
    unusable: str | None = None


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


class FormKind(StrEnum):
    """The forms the bot opens; a submission is routed by its kind (handlers/forms.py)."""

    INTAKE = "ticket_new"  # `/ticket new` without a title (the value is the Slack modal's callback id of old)
    REQUEST_ANSWER = "request_answer"  # a request card's Answer
    ARTICLE_EDIT = "article_edit"  # a knowledge-base article's Edit


class FormSubmitted(_Frozen):
    """A form (a Slack modal, the console's in-page form) was submitted; `fields` are plain strings by field name.

    `form` is its FormKind's value; `subject_id` and `version` name what it edits as seen when it opened.
    """

    type: Literal["form"] = "form"
    delivery_id: str
    actor: Actor
    conversation: Conversation
    form: str
    fields: dict[str, str]
    subject_id: int | None = None
    version: int | None = None


Event = MessagePosted | CommandIssued | ButtonPressed | FormSubmitted
