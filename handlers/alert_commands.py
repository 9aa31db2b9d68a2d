"""The `alerts` subcommand's grammar (`/ticket alerts`, `工单 预警`) → a typed request."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.command_types import UsageError


def _(msgid: str) -> str:
    """Mark a msgid for extraction; translated when shown."""
    return msgid


@dataclass(frozen=True)
class ListAlerts:
    """`/ticket alerts`: the open alerts (the router hands it to handlers/alerts.py)."""


def parse_alerts(args: list[str]) -> ListAlerts:
    """Parse the words after `alerts`; it takes none (UsageError on anything more)."""
    if args:
        raise UsageError("alerts", _("'{token}' is not understood here: the command lists the open alerts."),
                         token=" ".join(args))
    return ListAlerts()
