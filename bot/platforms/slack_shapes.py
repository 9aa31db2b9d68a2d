"""Slack: the shapes of what Slack posts, checked at the boundary before anything (Bolt included) reads a body,
and what kind of request a body is (used by the bot, an app lifecycle event, or something it does not use).

A signed body of a shape Slack never sends (`"user": 1`, a `workflow_step_edit` without its `workflow_step`) is
Malformed: a 400 that changes nothing. The models are pydantic's, strict (no number read as a string) and open
(fields they do not name pass), so real payloads with fields added by Slack tomorrow still pass.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.platforms import Malformed

# The inner event types the bot works with, and the ones that end its access to a workspace.
MESSAGE_EVENTS = ("message", "app_mention")
LIFECYCLE_EVENTS = ("app_uninstalled", "tokens_revoked")


class Kind(StrEnum):
    """What the adapter does with a body."""

    COMMAND = "command"  # a slash command: straight to the router
    CHALLENGE = "challenge"  # url_verification: echo it
    USED = "used"  # interactivity or an event the bot listens to: through Bolt's listeners
    LIFECYCLE = "lifecycle"  # the app uninstalled or its token revoked: stop sending there
    UNUSED = "unused"  # anything else Slack may send (reactions, app home, shortcuts…): acknowledged, quietly


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Ref(_Shape):
    """{"id": …} objects: user, team, channel, enterprise."""

    id: str | None = None
    team_id: str | None = None
    enterprise_id: str | None = None
    name: str | None = None


class _Authorization(_Shape):
    enterprise_id: str | None = None
    team_id: str | None = None
    user_id: str | None = None
    is_enterprise_install: bool | None = None


class _Container(_Shape):
    channel_id: str | None = None
    message_ts: str | None = None
    thread_ts: str | None = None


class _Option(_Shape):
    value: str | None = None


class _Action(_Shape):
    action_id: str
    block_id: str | None = None
    type: str | None = None
    value: str | None = None
    selected_option: _Option | None = None
    selected_user: str | None = None
    action_ts: str | None = None


class _View(_Shape):
    id: str | None = None
    type: str | None = None
    callback_id: str | None = None
    hash: str | None = None
    team_id: str | None = None
    app_installed_team_id: str | None = None
    private_metadata: str | None = None
    state: dict | None = None


class _Item(_Shape):
    """What a reaction or a pin is about: Bolt reads its channel."""

    channel: str | None = None


class _Message(_Shape):
    """A message inside an event (message_changed's `message`, `previous_message`)."""

    user: str | None = None
    ts: str | None = None
    thread_ts: str | None = None


class _Event(_Shape):
    """The inner event. `user` and `channel` are objects in some events (team_join, channel_created)."""

    type: str
    subtype: str | None = None
    user: str | _Ref | None = None
    channel: str | _Ref | None = None
    text: str | None = None
    ts: str | None = None
    thread_ts: str | None = None
    event_ts: str | None = None
    bot_id: str | None = None
    team: str | None = None
    user_team: str | None = None
    channel_type: str | None = None
    item: _Item | None = None
    message: _Message | None = None
    previous_message: _Message | None = None
    tokens: dict | None = None  # tokens_revoked: {"oauth": [user ids], "bot": [bot user ids]}


class _Body(_Shape):
    """Every top-level field Bolt's context or the bot's listeners read, with the type Slack gives it."""

    type: str | None = None
    token: str | None = None
    team_id: str | None = None
    enterprise_id: str | None = None
    api_app_id: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    channel_id: str | None = None
    command: str | None = None
    text: str | None = None
    trigger_id: str | None = None
    response_url: str | None = None
    response_urls: list | None = None
    event_id: str | None = None
    callback_id: str | None = None
    is_enterprise_install: bool | str | None = None  # a form's "true", an event's true
    team: _Ref | None = None
    user: _Ref | None = None
    channel: _Ref | None = None
    enterprise: _Ref | None = None
    container: _Container | None = None
    view: _View | None = None
    event: _Event | None = None
    actions: list[_Action] | None = None
    authorizations: list[_Authorization] | None = None
    message: dict | None = None
    state: dict | None = None
    workflow_step: dict | None = None


class _UsedMessage(_Shape):
    """A message or app_mention the bot acts on: where, who and when are always there."""

    channel: str = Field(min_length=1)
    ts: str = Field(min_length=1)


def _required(body: dict) -> list[str]:
    """Fields a body of its type always carries that Bolt (or the bot) reads without looking."""
    kind, event, view = body.get("type"), body.get("event") or {}, body.get("view") or {}
    missing = []
    if kind == "event_callback" and "event" not in body:
        missing.append("event")
    if kind == "block_actions" and not body.get("actions"):
        missing.append("actions")
    if kind in ("view_submission", "view_closed") and "view" not in body:
        missing.append("view")
    # Workflow steps from apps: Bolt reads body["workflow_step"] (or the event's) as soon as it sees the type.
    if kind == "workflow_step_edit" or (kind == "view_submission" and view.get("type") == "workflow_step"):
        missing += [] if "workflow_step" in body else ["workflow_step"]
    if event.get("type") == "workflow_step_execute" and "workflow_step" not in event:
        missing.append("event.workflow_step")
    return missing


def check(body: dict) -> None:
    """Malformed unless `body` has the shape Slack gives such a body (types of the fields anything reads)."""
    try:
        _Body.model_validate(body)
        event = body.get("event") or {}
        if body.get("type") == "event_callback" and event.get("type") in MESSAGE_EVENTS and not event.get("subtype"):
            _UsedMessage.model_validate(event)
    except ValidationError as exc:
        raise Malformed("; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['type']}"
                                  for e in exc.errors()[:3])) from None
    if missing := _required(body):
        raise Malformed(f"{body.get('type')} without {', '.join(missing)}")


def kind_of(body: dict[str, Any], used_views: tuple[str, ...], used_actions: str) -> Kind:
    """What kind of request a checked body is, for the bot: `used_views` are the callback ids of its forms,
    `used_actions` the prefix of its controls' action ids."""
    kind = body.get("type")
    if "command" in body:
        return Kind.COMMAND
    if kind == "url_verification":
        return Kind.CHALLENGE
    if kind == "block_actions" and any(a["action_id"].startswith(used_actions) for a in body["actions"]):
        return Kind.USED
    if kind == "view_submission" and body["view"].get("callback_id") in used_views:
        return Kind.USED
    if kind == "event_callback":
        event_type = body["event"]["type"]
        if event_type in MESSAGE_EVENTS:
            return Kind.USED
        if event_type in LIFECYCLE_EVENTS:
            return Kind.LIFECYCLE
    return Kind.UNUSED


def describe(body: dict) -> str:
    """A short name of what a body is, for a log line (`event_callback/reaction_added`, `shortcut`)."""
    event = body.get("event")
    inner = f"/{event.get('type')}" if isinstance(event, dict) else ""
    return f"{body.get('type') or ('command' if 'command' in body else 'form')}{inner}"
