"""Ordered routing rules: first match wins, and the reason is recorded on the timeline."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import RoutingRule
from bot.tickets import Priority, Ticket


@dataclass(frozen=True)
class RoutingDecision:
    """What the first matching rule (if any) decided for a new ticket."""

    rule: str | None = None
    category: str | None = None
    department: str | None = None
    assignee: str | None = None
    priority: Priority | None = None
    notify: tuple[str, ...] = field(default=())
    notify_account_manager: bool = False


def _matches(rule: RoutingRule, ticket: Ticket) -> bool:
    match = rule.match
    if match.keywords:
        haystack = f"{ticket.title}\n{ticket.description}".casefold()
        if not any(word.casefold() in haystack for word in match.keywords):
            return False
    if match.product_module and (ticket.product_module or "").casefold() != match.product_module.casefold():
        return False
    if match.customer_tier and ticket.customer_tier != match.customer_tier:
        return False
    if match.category and ticket.category != match.category:
        return False
    # A rule with no condition at all would swallow everything; treat it as a catch-all on purpose.
    return True


def route(ticket: Ticket, rules: list[RoutingRule]) -> RoutingDecision:
    """Apply the first rule that matches `ticket`; an empty decision when none does."""
    for rule in rules:
        if not _matches(rule, ticket):
            continue
        then = rule.then
        priority = then.priority
        if then.raise_priority:
            priority = (priority or ticket.priority).raised()
        return RoutingDecision(
            rule=rule.name,
            category=then.category,
            department=then.department,
            assignee=then.assignee,
            priority=priority,
            notify=tuple(then.notify),
            notify_account_manager=then.notify_account_manager,
        )
    return RoutingDecision()
