"""The one codec for button / select action ids, shared by renderers and adapters."""

from __future__ import annotations

from dataclasses import dataclass

from bot.tickets import Action

PREFIX = "tb"


@dataclass(frozen=True)
class ActionRef:
    """A decoded action id: what to do, to which ticket, as seen at which version."""

    action: Action
    ticket_id: int
    version: int


def encode(action: Action, ticket_id: int, version: int) -> str:
    """'tb:claim:123:4' — short enough for every platform's id limits (Slack 255, WeCom 64)."""
    return f"{PREFIX}:{action.value}:{ticket_id}:{version}"


def decode(action_id: str) -> ActionRef | None:
    """The ActionRef in `action_id`, or None when it is not one of ours or malformed."""
    parts = action_id.split(":")
    # A fifth part names a variant of the same control (e.g. Slack's people picker beside the team list).
    if len(parts) not in (4, 5) or parts[0] != PREFIX:
        return None
    try:
        return ActionRef(Action(parts[1]), int(parts[2]), int(parts[3]))
    except ValueError:
        return None


ACK = "ack"
VIEW = "view"


def _decode_special(action_id: str, kind: str) -> tuple[int, str] | None:
    """(ticket id, last part) of 'tb:<kind>:<ticket>:<last>', else None."""
    parts = action_id.split(":")
    if len(parts) == 4 and parts[0] == PREFIX and parts[1] == kind and parts[2].isdigit():
        return int(parts[2]), parts[3]
    return None


def encode_ack(ticket_id: int, version: int) -> str:
    """'tb:ack:123:4' — "I'm on it" on an escalation: stops the next escalation levels."""
    return f"{PREFIX}:{ACK}:{ticket_id}:{version}"


def decode_ack(action_id: str) -> int | None:
    """The ticket id of an "I'm on it" action id, else None."""
    found = _decode_special(action_id, ACK)
    return found[0] if found else None


def encode_view(ticket_id: int, layout: str) -> str:
    """'tb:view:123:more' — show this copy of the ticket's card again, in `layout` (a platform's own word)."""
    return f"{PREFIX}:{VIEW}:{ticket_id}:{layout}"


def decode_view(action_id: str) -> tuple[int, str] | None:
    """(ticket id, layout) of a view action id, else None."""
    return _decode_special(action_id, VIEW)
