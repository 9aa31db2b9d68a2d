"""What a command asks for, typed: one dataclass per request, and the usage error a wrong one raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.requests import RequestAction
from bot.tickets import Action, Priority, format_number


def _(msgid: str) -> str:
    """Mark a msgid for extraction; translated when shown."""
    return msgid


@dataclass(frozen=True)
class NewTicket:
    title: str
    priority: Priority | None = None
    category: str | None = None
    assignee: str | None = None


@dataclass(frozen=True)
class ListTickets:
    scope: Literal["mine", "open", "unassigned", "breaching"] = "open"
    priority: Priority | None = None  # only this priority
    page: int = 1  # lists come a page at a time


@dataclass(frozen=True)
class Show:
    ticket_id: int


@dataclass(frozen=True)
class Assign:
    ticket_id: int
    target: str


@dataclass(frozen=True)
class Claim:
    ticket_id: int | None = None


@dataclass(frozen=True)
class SetPriority:
    ticket_id: int
    priority: Priority


@dataclass(frozen=True)
class SetCategory:
    ticket_id: int
    category: str


@dataclass(frozen=True)
class Note:
    ticket_id: int
    text: str


@dataclass(frozen=True)
class Reply:
    ticket_id: int
    text: str


@dataclass(frozen=True)
class Wait:
    ticket_id: int
    on: Literal["customer", "colleague"] = "customer"


@dataclass(frozen=True)
class Resume:
    ticket_id: int


@dataclass(frozen=True)
class Resolve:
    ticket_id: int
    summary: str | None = None


@dataclass(frozen=True)
class Close:
    ticket_id: int
    reason: str | None = None


@dataclass(frozen=True)
class Reopen:
    ticket_id: int
    reason: str | None = None


@dataclass(frozen=True)
class Sla:
    ticket_id: int


@dataclass(frozen=True)
class SendFile:
    ticket_id: int
    number: int | None = None  # the attachment's number in `show`; None lists them


@dataclass(frozen=True)
class Stats:
    period: str | None = None  # a period word or range (bot.kpis.parse_period); None with nothing asked
    scope: str | None = None  # an @-named department or person
    priority: Priority | None = None
    tier: str | None = None

    @property
    def bare(self) -> bool:
        """True for `/ticket stats` alone: today's quick counts."""
        return self == Stats()


@dataclass(frozen=True)
class Help:
    topic: str | None = None


@dataclass(frozen=True)
class Ask:
    ticket_id: int | None  # None: the ticket whose thread this is
    target: str
    text: str


@dataclass(frozen=True)
class ChangeRequest:
    request_id: int
    action: RequestAction
    text: str | None = None
    target: str | None = None  # whom a request is handed to


@dataclass(frozen=True)
class ListRequests:
    mine: bool = False


Command = (NewTicket | ListTickets | Show | Assign | Claim | SetPriority | SetCategory | Note | Reply | Wait | Resume
           | Resolve | Close | Reopen | Sla | SendFile | Stats | Help | Ask | ChangeRequest | ListRequests)


# Each request that changes a ticket: its lifecycle action and the field holding the action's argument.
_CHANGES: dict[type, tuple[Action, str | None]] = {
    Claim: (Action.CLAIM, None), Assign: (Action.ASSIGN, "target"), SetPriority: (Action.PRIORITY, "priority"),
    SetCategory: (Action.CATEGORY, "category"), Note: (Action.NOTE, "text"), Reply: (Action.REPLY, "text"),
    Resume: (Action.RESUME, None), Resolve: (Action.RESOLVE, "summary"), Close: (Action.CLOSE, "reason"),
    Reopen: (Action.REOPEN, "reason"),
}


def as_change(request: Command) -> tuple[Action, object] | None:
    """The lifecycle action a request asks for and its one argument; None for a request that changes nothing."""
    if isinstance(request, Wait):
        return (Action.WAIT_CUSTOMER if request.on == "customer" else Action.WAIT_COLLEAGUE), None
    found = _CHANGES.get(type(request))
    if found is None:
        return None
    action, argument = found
    return action, getattr(request, argument) if argument else None


class UsageError(Exception):
    """Wrong input for `subcommand` (None: unknown command); `problem` is a msgid with `params`."""

    def __init__(self, subcommand: str | None, problem: str, **params):
        super().__init__(problem.format(**params) if params else problem)
        self.subcommand = subcommand
        self.problem = problem
        self.params = params


class NoSuchTicket(UsageError):
    """A number no ticket can have (beyond what the database stores): answered like a ticket that is missing."""

    def __init__(self, subcommand: str, ticket_id: int):
        super().__init__(subcommand, _("There is no ticket {number}."), number=format_number(ticket_id))
