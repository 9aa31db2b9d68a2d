"""ORM rows. The timeline is append-only; deliveries are the inbox, outbox rows the messages to send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.db import metadata


class UTCDateTime(TypeDecorator):
    """Aware datetimes stored as UTC; SQLite hands back naive values, so UTC is re-attached on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = metadata
    type_annotation_map = {
        datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON(), list[list[str]]: JSON(),
    }


# The open statuses as literal SQL: a partial index serves a query only when the query repeats its
# predicate exactly (SQLite compares the expressions; a bound parameter would not match).
OPEN_STATUS_VALUES = ("in_progress", "new", "triaged", "waiting_colleague", "waiting_customer")
NOT_CLOSED_PREDICATE = text("status <> 'closed'")
OPEN_PREDICATE = text("status IN ({})".format(", ".join(f"'{value}'" for value in OPEN_STATUS_VALUES)))
# A status line that takes a resolved or closed ticket back to work (a reopen, or the customer writing again).
REOPEN_PREDICATE = text("kind = 'status' AND \"before\" IN ('resolved', 'closed') "
                        "AND \"after\" NOT IN ('resolved', 'closed')")

REPLY_PREDICATE = text("kind = 'reply'")


class TicketRow(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(4))
    category: Mapped[str] = mapped_column(String(64))
    product_module: Mapped[str | None] = mapped_column(String(128))
    impact: Mapped[str] = mapped_column(String(32))
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    customer_tier: Mapped[str] = mapped_column(String(16))
    customer_language: Mapped[str | None] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(128))
    department: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list[str]] = mapped_column(default=list)
    requester_platform: Mapped[str] = mapped_column(String(16))
    requester_user_id: Mapped[str] = mapped_column(String(200))
    source: Mapped[dict[str, Any]] = mapped_column()
    customer_conversation: Mapped[dict[str, Any] | None] = mapped_column()
    agent_thread: Mapped[dict[str, Any] | None] = mapped_column()
    # Both conversations' parts again as plain indexed columns: a reply is matched to its ticket by
    # equality of (platform, conversation, thread), not by looking inside JSON. thread NULL = no thread.
    customer_conv_platform: Mapped[str | None] = mapped_column(String(16))
    customer_conv_id: Mapped[str | None] = mapped_column(String(255))
    customer_conv_thread: Mapped[str | None] = mapped_column(String(255))
    agent_conv_platform: Mapped[str | None] = mapped_column(String(16))
    agent_conv_id: Mapped[str | None] = mapped_column(String(255))
    agent_conv_thread: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    first_response_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    last_customer_message_at: Mapped[datetime | None] = mapped_column()
    respond_by: Mapped[datetime | None] = mapped_column()
    resolve_by: Mapped[datetime | None] = mapped_column()
    sla_paused_at: Mapped[datetime | None] = mapped_column()
    sla_pauses: Mapped[list[list[str]]] = mapped_column(default=list)  # [[start, end], …] ISO strings
    # The sweep's index: tickets whose next reminder/escalation (or re-evaluation) is due.
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)
    escalation_acked: Mapped[str | None] = mapped_column(String(200))
    # Derived from the deadlines on every save (storage.sla_index): the running deadline and when the ticket
    # counts as at risk, so the breaching list is an index range, not a scan of the open tickets.
    sla_due_at: Mapped[datetime | None] = mapped_column()
    sla_risk_at: Mapped[datetime | None] = mapped_column()
    sla_paused_risk_at: Mapped[datetime | None] = mapped_column()  # sla_risk_at of paused clocks only
    # Outcome facts for the managers' figures (bot.kpis): the response promise kept, FRT and TTR in seconds.
    response_due_at: Mapped[datetime | None] = mapped_column()
    frt_seconds: Mapped[int | None] = mapped_column(Integer)
    ttr_seconds: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        # Stats count per status and priority inside this index (closed = the rest of a whole-table count).
        # Partial, so that without planner statistics it never looks better to a list than the indexes below.
        Index("ix_tickets_status_priority", "status", "priority",
              sqlite_where=NOT_CLOSED_PREDICATE, postgresql_where=NOT_CLOSED_PREDICATE),
        # Open tickets in list order (most urgent first, then oldest): `list open` is the first rows of it.
        # (department and assignee after the order: the backlog's age buckets read it alone, scoped or not)
        Index("ix_tickets_open_queue", "priority", "created_at", "id", "department", "assignee",
              sqlite_where=OPEN_PREDICATE, postgresql_where=OPEN_PREDICATE),
        # The same per assignee: `list mine`, and `list unassigned` (assignee IS NULL).
        Index("ix_tickets_open_assignee", "assignee", "priority", "created_at", "id", "department",
              sqlite_where=OPEN_PREDICATE, postgresql_where=OPEN_PREDICATE),
        # Breaching: breached running clocks in deadline order; at-risk ones by the instant they became so.
        # (due, risk) serves the breached in deadline order, the paused (due NULL) by risk, and lets the
        # not-yet-breached be found in deadline order without reading rows; (risk) counts them all.
        Index("ix_tickets_sla_due", "sla_due_at", "sla_risk_at", "department"),
        Index("ix_tickets_sla_risk", "sla_risk_at"),
        # The paused clocks at risk alone (a handful among a million): `list breaching` reads them whole.
        Index("ix_tickets_sla_paused_risk", "sla_paused_risk_at"),
        Index("ix_tickets_requester", "requester_platform", "requester_user_id", "status"),
        # repeat_customer: one customer's tickets of the last days (storage.alerts).
        Index("ix_tickets_requester_created", "requester_platform", "requester_user_id", "created_at"),
        Index("ix_tickets_assignee_status", "assignee", "status"),
        Index("ix_tickets_customer_conv", "customer_conv_platform", "customer_conv_id", "customer_conv_thread"),
        Index("ix_tickets_agent_conv", "agent_conv_platform", "agent_conv_id", "agent_conv_thread"),
        # The managers' figures: each is a range of one of these over the period (storage.kpis); the columns after
        # the instant make FRT / TTR percentiles, resolved-per-agent and the top categories, modules and customers
        # index-only reads, and `department` (the scope of an agent's own stats, and of most digests) keeps them
        # so when scoped: read from the table, a week of a large desk is tens of thousands of random page reads.
        Index("ix_tickets_created_at", "created_at", "frt_seconds", "department", "category", "product_module",
              "customer_name"),
        Index("ix_tickets_resolved_at", "resolved_at", "ttr_seconds", "assignee", "department"),
        Index("ix_tickets_closed_at", "closed_at", "department"),
        # SLA attainment: the promises due in the period with what kept them, read from the index alone.
        Index("ix_tickets_response_due_at", "response_due_at", "first_response_at", "department"),
        Index("ix_tickets_resolve_by", "resolve_by", "resolved_at", "closed_at", "department"),
    )


class TimelineRow(Base):
    """Append-only: no code path updates or deletes a timeline row."""

    __tablename__ = "timeline"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column()
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(16))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any] | None] = mapped_column()  # why, as data (bot/reasons.py)

    # Reopens (a resolved or closed ticket back to work) by time, for the managers' figures: a handful of rows.
    # Per ticket, its reopens and its replies to the customer: first-contact resolution counts them by index alone.
    __table_args__ = (Index("ix_timeline_reopens", "at", sqlite_where=REOPEN_PREDICATE,
                            postgresql_where=REOPEN_PREDICATE),
                      Index("ix_timeline_ticket_reopens", "ticket_id", sqlite_where=REOPEN_PREDICATE,
                            postgresql_where=REOPEN_PREDICATE),
                      Index("ix_timeline_ticket_replies", "ticket_id", sqlite_where=REPLY_PREDICATE,
                            postgresql_where=REPLY_PREDICATE))


class DeliveryRow(Base):
    """The inbox: one row per platform delivery id, written before the delivery is acknowledged."""

    __tablename__ = "deliveries"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column()
    received_at: Mapped[datetime] = mapped_column()
    processed_at: Mapped[datetime | None] = mapped_column(index=True)


class OutboxRow(Base):
    """A message to send, committed together with the change that caused it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[dict[str, Any]] = mapped_column()
    # "platform|conversation" (threads included): the stream whose order is kept. A collision of two
    # conversations could only make one wait for the other, never reorder or lose a message.
    target_key: Mapped[str] = mapped_column(String(400))
    text: Mapped[str | None] = mapped_column(Text)
    # The subject whose card this row posts or updates (None for plain text).
    subject_kind: Mapped[str | None] = mapped_column(String(16))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    placement_id: Mapped[int | None] = mapped_column(Integer)
    viewer_role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16))
    ephemeral_user: Mapped[str | None] = mapped_column(String(200))
    urgency: Mapped[int] = mapped_column(SmallInteger, default=0)  # bot.ports.Urgency: a backlog goes lowest first
    status: Mapped[str] = mapped_column(String(16))  # pending → sending → sent, or dead after the last try
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    lease_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column()
    message_ref: Mapped[str | None] = mapped_column(String(400))

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_target", "target_key", "status"),
    )


class CardPlacementRow(Base):
    """Where a subject's card (a ticket's, a request's …) was posted, so every copy can be re-rendered."""

    __tablename__ = "card_placements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)
    target: Mapped[dict[str, Any]] = mapped_column()
    # The target's parts as indexed columns: a thread started under this card (on platforms whose thread
    # id is the id of the message it hangs under) belongs to the ticket.
    target_platform: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(255))
    message_ref: Mapped[str] = mapped_column(String(400))
    viewer_role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column()

    __table_args__ = (Index("ix_card_placements_thread", "target_platform", "target_id", "message_ref"),
                      Index("ix_card_placements_subject", "subject_kind", "subject_id"))


class NotificationClaimRow(Base):
    """A notification of the deadline sweep (SLA reminder, escalation …) that fired: the primary key makes it fire
    once per subject, whatever the replicas."""

    __tablename__ = "notification_claims"

    subject_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fired_at: Mapped[datetime] = mapped_column()
    sent: Mapped[bool] = mapped_column(default=True)  # False: skipped because a later one superseded it


class KeyValueRow(Base):
    """Small named state, e.g. the last agent chosen by round-robin."""

    __tablename__ = "kv"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SharedStateRow(Base):
    """A platform adapter's small state that every replica must see (e.g. the 智能机器人's reply streams)."""

    __tablename__ = "shared_state"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ConsoleMessageRow(Base):
    """A message of the local web console (its platform API), kept so history outlives the process."""

    __tablename__ = "console_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # the message's ref
    # The change counter pages poll by: a new one on every post and every update of a card.
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    conversation: Mapped[str] = mapped_column(String(255))
    thread: Mapped[str | None] = mapped_column(String(255))
    html: Mapped[str] = mapped_column(Text)
    card: Mapped[bool] = mapped_column()
    ephemeral_user: Mapped[str | None] = mapped_column(String(255))
    author: Mapped[str] = mapped_column(String(200))
    bot: Mapped[bool] = mapped_column()
    posted_at: Mapped[datetime] = mapped_column()


OPEN_REQUEST_PREDICATE = text("status IN ('open', 'accepted')")


class RequestRow(Base):
    """A cross-department request on a ticket (bot.requests.Request)."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    asker: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    asked_person: Mapped[str | None] = mapped_column(String(200))
    asked_department: Mapped[str | None] = mapped_column(String(64))
    deadline: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(200))
    asked_from: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    settled_at: Mapped[datetime | None] = mapped_column()
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)  # the deadline sweep's bookmark

    __table_args__ = (
        # A ticket's requests (its card lists the open ones; the status follows when the last is settled).
        Index("ix_requests_ticket", "ticket_id", "status"),
        # `requests`: a colleague's own open ones, and their department's, most urgent (earliest deadline) first;
        # `requests mine`: the asker's outgoing ones. Partial: settled requests are most of the table.
        Index("ix_requests_open_person", "asked_person", "deadline", "id",
              sqlite_where=OPEN_REQUEST_PREDICATE, postgresql_where=OPEN_REQUEST_PREDICATE),
        Index("ix_requests_open_department", "asked_department", "deadline", "id",
              sqlite_where=OPEN_REQUEST_PREDICATE, postgresql_where=OPEN_REQUEST_PREDICATE),
        Index("ix_requests_open_asker", "asker", "deadline", "id",
              sqlite_where=OPEN_REQUEST_PREDICATE, postgresql_where=OPEN_REQUEST_PREDICATE),
    )


# Tables that live in modules of their own (digest runs, the knowledge base, attachments), imported here so that
# this metadata has them.
from storage import alert_tables, attachment_tables, csat_tables, digest_tables, kb_tables  # noqa: E402,F401
