"""Rows ↔ domain objects."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_

from bot.events import Conversation, Platform
from bot.ports import CardPlacement, Outgoing, OutgoingKind, Urgency
from bot.subjects import Subject, SubjectKind, Viewer
from bot.tickets import (
    Identity,
    Impact,
    Priority,
    Status,
    Ticket,
    Tier,
    TimelineEntry,
    TimelineKind,
    Visibility,
)
from storage.sla_index import sla_marks
from storage.tables import CardPlacementRow, OutboxRow, TicketRow, TimelineRow


def conversation_columns(prefix: str, conversation: Conversation | None) -> dict[str, str | None]:
    """The `<prefix>_platform/_id/_thread` column values of a conversation (all None without one)."""
    return {
        f"{prefix}_platform": conversation.platform.value if conversation else None,
        f"{prefix}_id": conversation.id if conversation else None,
        f"{prefix}_thread": conversation.thread_id if conversation else None,
    }


def same_conversation(prefix: str, conversation: Conversation) -> ColumnElement[bool]:
    """WHERE the `<prefix>_*` columns name exactly `conversation` (no thread matches only no thread)."""
    platform, conversation_id, thread = (getattr(TicketRow, f"{prefix}_{part}") for part in ("platform", "id", "thread"))
    # `== None` renders IS NULL, so a whole conversation never matches one of its threads.
    return and_(platform == conversation.platform.value, conversation_id == conversation.id,
                thread == conversation.thread_id)


def target_key(target: Conversation) -> str:
    """The outbox stream a message belongs to: its platform and conversation, threads included."""
    return f"{target.platform.value}|{target.id}"


def _conv(data: dict | None) -> Conversation | None:
    return Conversation.model_validate(data) if data else None


def _dump(conversation: Conversation | None) -> dict | None:
    return conversation.model_dump(mode="json") if conversation else None


def _iso_utc(moment: datetime) -> str:
    # Inside JSON the UTCDateTime column type cannot help: normalise to UTC here, as it does.
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the database; use aware UTC datetimes")
    return moment.astimezone(UTC).isoformat()


def _from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def ticket_values(ticket: Ticket) -> dict:
    """Column values for a ticket (everything but id and version)."""
    return {
        "title": ticket.title,
        "description": ticket.description,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "category": ticket.category,
        "product_module": ticket.product_module,
        "impact": ticket.impact.value,
        "customer_name": ticket.customer_name,
        "customer_tier": ticket.customer_tier.value,
        "customer_language": ticket.customer_language,
        "assignee": ticket.assignee,
        "department": ticket.department,
        "tags": list(ticket.tags),
        "requester_platform": ticket.requester.platform.value,
        "requester_user_id": ticket.requester.user_id,
        "source": _dump(ticket.source),
        "customer_conversation": _dump(ticket.customer_conversation),
        **conversation_columns("customer_conv", ticket.customer_conversation),
        "agent_thread": _dump(ticket.agent_thread),
        **conversation_columns("agent_conv", ticket.agent_thread),
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "first_response_at": ticket.first_response_at,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "last_customer_message_at": ticket.last_customer_message_at,
        "respond_by": ticket.respond_by,
        "resolve_by": ticket.resolve_by,
        "sla_paused_at": ticket.sla_paused_at,
        "sla_pauses": [[_iso_utc(start), _iso_utc(end)] for start, end in ticket.sla_pauses],
        "next_due_at": ticket.next_due_at,
        "escalation_acked": ticket.escalation_acked,
        "response_due_at": ticket.response_due_at, "frt_seconds": ticket.frt_seconds,
        "ttr_seconds": ticket.ttr_seconds,
        **sla_marks(ticket),  # derived from the deadlines above, for the breaching list's indexes
    }


def ticket_from_row(row: TicketRow) -> Ticket:
    """The domain ticket of a row."""
    return Ticket(
        id=row.id,
        version=row.version,
        title=row.title,
        description=row.description,
        status=Status(row.status),
        priority=Priority(row.priority),
        category=row.category,
        product_module=row.product_module,
        impact=Impact(row.impact),
        customer_name=row.customer_name,
        customer_tier=Tier(row.customer_tier),
        customer_language=row.customer_language,
        assignee=row.assignee,
        department=row.department,
        tags=list(row.tags or []),
        requester=Identity(Platform(row.requester_platform), row.requester_user_id),
        source=_conv(row.source),
        customer_conversation=_conv(row.customer_conversation),
        agent_thread=_conv(row.agent_thread),
        created_at=row.created_at,
        updated_at=row.updated_at,
        first_response_at=row.first_response_at,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        last_customer_message_at=row.last_customer_message_at,
        respond_by=row.respond_by,
        resolve_by=row.resolve_by,
        sla_paused_at=row.sla_paused_at,
        sla_pauses=[(_from_iso(start), _from_iso(end)) for start, end in row.sla_pauses or []],
        next_due_at=row.next_due_at,
        escalation_acked=row.escalation_acked,
        response_due_at=row.response_due_at, frt_seconds=row.frt_seconds, ttr_seconds=row.ttr_seconds,
    )


def timeline_from_row(row: TimelineRow) -> TimelineEntry:
    """The domain timeline entry of a row."""
    return TimelineEntry(
        id=row.id, ticket_id=row.ticket_id, kind=TimelineKind(row.kind), actor=row.actor, platform=Platform(row.platform),
        at=row.at, before=row.before, after=row.after, text=row.text, visibility=Visibility(row.visibility),
        detail=row.detail,
    )


def placement_from_row(row: CardPlacementRow) -> CardPlacement:
    """The domain placement of a row."""
    return CardPlacement(row.id, Subject(SubjectKind(row.subject_kind), row.subject_id),
                         Conversation.model_validate(row.target), row.message_ref, Viewer(row.viewer_role), row.language)


def subject_of(kind: str | None, subject_id: int | None) -> Subject | None:
    """The subject named by a row's (subject_kind, subject_id) columns, if any."""
    return Subject(SubjectKind(kind), subject_id) if kind and subject_id is not None else None


def outbox_values(message: Outgoing) -> dict:
    """Column values describing an outgoing message (status and timing are the outbox's business)."""
    return {
        "kind": message.kind.value, "target": message.target.model_dump(mode="json"),
        "target_key": target_key(message.target), "text": message.text,
        "subject_kind": message.subject.kind.value if message.subject else None,
        "subject_id": message.subject.id if message.subject else None,
        "placement_id": message.placement_id, "viewer_role": message.viewer_role, "language": message.language,
        "ephemeral_user": message.ephemeral_user, "urgency": int(message.urgency),
    }


def outgoing_from_row(row: OutboxRow) -> Outgoing:
    """The message an outbox row asks to send."""
    return Outgoing(
        kind=OutgoingKind(row.kind), target=Conversation.model_validate(row.target), text=row.text,
        subject=subject_of(row.subject_kind, row.subject_id), placement_id=row.placement_id, viewer_role=Viewer(row.viewer_role),
        language=row.language, ephemeral_user=row.ephemeral_user, urgency=Urgency(row.urgency),
    )
