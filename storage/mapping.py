"""Rows ↔ domain objects."""

from __future__ import annotations

from datetime import datetime

from bot.events import Conversation, Platform
from bot.tickets import Identity, Impact, Priority, Status, Ticket, Tier, TimelineEntry, Visibility
from storage.tables import TicketRow, TimelineRow


def conversation_key(conversation: Conversation | None) -> str | None:
    """'platform|conversation|thread' — an indexable identity of a conversation or thread."""
    if conversation is None:
        return None
    return f"{conversation.platform.value}|{conversation.id}|{conversation.thread_id or ''}"


def _conv(data: dict | None) -> Conversation | None:
    return Conversation.model_validate(data) if data else None


def _dump(conversation: Conversation | None) -> dict | None:
    return conversation.model_dump(mode="json") if conversation else None


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
        "customer_conv_key": conversation_key(ticket.customer_conversation),
        "agent_thread": _dump(ticket.agent_thread),
        "agent_thread_key": conversation_key(ticket.agent_thread),
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "first_response_at": ticket.first_response_at,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "last_customer_message_at": ticket.last_customer_message_at,
        "respond_by": ticket.respond_by,
        "resolve_by": ticket.resolve_by,
        "sla_paused_at": ticket.sla_paused_at,
        "sla_pauses": [[start.isoformat(), end.isoformat()] for start, end in ticket.sla_pauses],
        "next_due_at": ticket.next_due_at,
        "escalation_acked": ticket.escalation_acked,
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
        sla_pauses=[(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in row.sla_pauses or []],
        next_due_at=row.next_due_at,
        escalation_acked=row.escalation_acked,
    )


def timeline_from_row(row: TimelineRow) -> TimelineEntry:
    """The domain timeline entry of a row."""
    return TimelineEntry(
        id=row.id, ticket_id=row.ticket_id, kind=row.kind, actor=row.actor, platform=Platform(row.platform),
        at=row.at, before=row.before, after=row.after, text=row.text, visibility=Visibility(row.visibility),
    )
