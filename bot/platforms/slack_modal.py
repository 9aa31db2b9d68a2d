"""Slack's side of the forms: a neutral Form → a modal (views.open), a view_submission → FormSubmitted."""

from __future__ import annotations

import json

from bot.events import Actor, Conversation, ConversationKind, FormKind, FormSubmitted, Platform
from cards.model import Form
from cards.slack import render_view

# Every form kind's callback id is its value (the intake's, `ticket_new`, is what the first modal used).
CALLBACKS = tuple(kind.value for kind in FormKind)


def _kind_of(channel_id: str) -> ConversationKind:
    return ConversationKind.DM if channel_id.startswith("D") else ConversationKind.CHANNEL


def form_view(form: Form, where: Conversation) -> dict:
    """The modal for `form`; where it was opened (channel, thread) and what it edits ride in private_metadata."""
    metadata = {"channel": where.id, "thread": where.thread_id,
                "subject": form.subject.id if form.subject else None, "version": form.version}
    return render_view(form, json.dumps(metadata, separators=(",", ":")))


def _value(state: dict) -> str:
    if state.get("type") == "static_select":
        return (state.get("selected_option") or {}).get("value") or ""
    value = state.get("value")
    return value if isinstance(value, str) else ""


def _number(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31 else None


def form_event(body: dict) -> FormSubmitted:
    """A view_submission → FormSubmitted: every input's value by block id ('' when left empty), in the conversation
    the form was opened from (else the person's DM); a resubmitted view (same id and hash) is one delivery."""
    view, user = body["view"], body["user"]
    values = (view.get("state") or {}).get("values") or {}
    fields = {block_id: _value(actions.get("value") or {}) for block_id, actions in values.items()
              if isinstance(actions, dict)}
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    meta = meta if isinstance(meta, dict) else {}
    channel = meta.get("channel") if isinstance(meta.get("channel"), str) else ""
    thread = meta.get("thread") if isinstance(meta.get("thread"), str) else None
    return FormSubmitted(
        delivery_id=f"view:{view['id']}:{view.get('hash', '')}",
        actor=Actor(platform=Platform.SLACK, user_id=user["id"], display_name=user.get("name", "")),
        conversation=Conversation(platform=Platform.SLACK, id=channel or user["id"],
                                  kind=_kind_of(channel) if channel else ConversationKind.DM,
                                  thread_id=thread if channel else None),
        form=view.get("callback_id", ""), fields=fields, subject_id=_number(meta.get("subject")),
        version=_number(meta.get("version")))
