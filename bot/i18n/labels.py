"""Localized display labels for the domain's enums."""

from __future__ import annotations

from bot.tickets import Action, Impact, Priority, Status, Tier


def _(msgid: str) -> str:
    """Mark a msgid for extraction; translated later with a Translator."""
    return msgid


STATUS = {
    Status.NEW: _("New"),
    Status.TRIAGED: _("Triaged"),
    Status.IN_PROGRESS: _("In progress"),
    Status.WAITING_CUSTOMER: _("Waiting on customer"),
    Status.WAITING_COLLEAGUE: _("Waiting on colleague"),
    Status.RESOLVED: _("Resolved"),
    Status.CLOSED: _("Closed"),
}
ACTION = {
    Action.CLAIM: _("Claim"),
    Action.ASSIGN: _("Assign"),
    Action.PRIORITY: _("Priority"),
    Action.CATEGORY: _("Category"),
    Action.NOTE: _("Note"),
    Action.REPLY: _("Reply"),
    Action.WAIT_CUSTOMER: _("Wait for customer"),
    Action.WAIT_COLLEAGUE: _("Wait for colleague"),
    Action.RESUME: _("Resume"),
    Action.CUSTOMER_MESSAGE: _("Customer message"),
    Action.RESOLVE: _("Resolve"),
    Action.CLOSE: _("Close"),
    Action.REOPEN: _("Reopen"),
    Action.ASK: _("Ask a colleague"),
}
PRIORITY = {
    Priority.P0: _("P0 · critical"),
    Priority.P1: _("P1 · high"),
    Priority.P2: _("P2 · normal"),
    Priority.P3: _("P3 · low"),
}
IMPACT = {Impact.ONE_USER: _("One user"), Impact.DEPARTMENT: _("A department"), Impact.COMPANY: _("Whole company")}
TIER = {Tier.VIP: _("VIP"), Tier.NORMAL: _("Normal")}
CATEGORY = {
    "bug": _("Bug"),
    "billing": _("Billing"),
    "how-to": _("How-to"),
    "suggestion": _("Suggestion"),
    "other": _("Other"),
}


def status_label(status: Status, t) -> str:
    """'In progress' / '处理中'."""
    return t._(STATUS[status])


def action_label(action: Action, t) -> str:
    """The button or verb label of an action."""
    return t._(ACTION[action])


def priority_label(priority: Priority, t) -> str:
    """'P1 · high' / 'P1 · 高'."""
    return t._(PRIORITY[priority])


def impact_label(impact: Impact, t) -> str:
    """How many people are affected."""
    return t._(IMPACT[impact])


def tier_label(tier: Tier, t) -> str:
    """VIP / normal."""
    return t._(TIER[tier])


def category_label(category: str, t) -> str:
    """A known category's label; configured extra categories are shown as written."""
    return t._(CATEGORY[category]) if category in CATEGORY else category
