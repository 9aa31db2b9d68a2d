"""Protocols the handlers depend on, by capability: sending, tickets, the store, the clock and the Context.

Modules import what they use from here; a new capability gets a small module of its own in this package (and its
port stays out of the UnitOfWork union unless every handler needs it).
"""

from bot.ports.context import Clock, Context, SystemClock
from bot.ports.inbound import Ack, Inbox
from bot.ports.sending import (
    CardPlacement,
    Found,
    MessageSink,
    Messenger,
    OutboxItem,
    Outgoing,
    OutgoingKind,
    Pacing,
    PacingDelay,
    SendError,
    SentLookup,
    Urgency,
)
from bot.ports.store import (
    DeliveryLog,
    NotificationClaims,
    Outbox,
    OutboxQueue,
    Placements,
    SharedState,
    TicketBookmarks,
    TicketStore,
    UnitOfWork,
    Units,
)
from bot.ports.tickets import AlreadyProcessed, StaleTicket, TicketQueries, TicketQuery, Tickets, Timeline

__all__ = [
    "Ack", "AlreadyProcessed", "CardPlacement", "Clock", "Context", "DeliveryLog", "Found", "Inbox", "MessageSink", "Messenger",
    "NotificationClaims", "Outbox", "OutboxItem", "OutboxQueue", "Outgoing", "OutgoingKind", "Pacing", "PacingDelay",
    "Placements", "SendError", "SentLookup", "SharedState", "StaleTicket", "SystemClock", "TicketBookmarks",
    "TicketQueries", "TicketQuery", "TicketStore", "Tickets", "Timeline", "UnitOfWork", "Units", "Urgency",
]
