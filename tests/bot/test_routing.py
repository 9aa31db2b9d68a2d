"""Routing rules: ordered, first match wins."""

from __future__ import annotations

import pytest

from bot.config import AppConfig
from bot.events import Conversation, Platform
from bot.routing import route
from bot.tickets import Identity, Priority, Ticket, Tier

CONFIG = AppConfig.model_validate({
    "departments": [{"key": "support", "name": {"en": "Support"}}, {"key": "finance", "name": {"en": "Finance"}}],
    "people": [{"key": "li", "name": "Li", "roles": ["agent"], "department": "support"}],
    "routing": [
        {"name": "money", "match": {"keywords": ["发票", "invoice"]}, "then": {"category": "billing", "department": "finance"}},
        {"name": "payments", "match": {"product_module": "payments"}, "then": {"assignee": "li"}},
        {"name": "vip", "match": {"customer_tier": "vip"}, "then": {"raise_priority": True, "notify_account_manager": True}},
    ],
})


def _ticket(title="", description="", module=None, tier=Tier.NORMAL, priority=Priority.P2):
    return Ticket(title=title, description=description, product_module=module, customer_tier=tier, priority=priority,
                  requester=Identity(Platform.CONSOLE, "u"), source=Conversation(platform=Platform.CONSOLE, id="u"))


@pytest.mark.parametrize(
    ("ticket", "rule", "department", "category", "assignee", "priority"),
    [
        (_ticket("需要开发票"), "money", "finance", "billing", None, None),
        (_ticket("Where is my INVOICE?"), "money", "finance", "billing", None, None),
        (_ticket("help", "the invoice is wrong"), "money", "finance", "billing", None, None),
        (_ticket("card declined", module="payments"), "payments", None, None, "li", None),
        (_ticket("slow", tier=Tier.VIP), "vip", None, None, None, Priority.P1),
        (_ticket("down", tier=Tier.VIP, priority=Priority.P0), "vip", None, None, None, Priority.P0),
        # First match wins: a VIP asking about an invoice goes to Finance and is not raised.
        (_ticket("invoice", tier=Tier.VIP), "money", "finance", "billing", None, None),
        (_ticket("printer broken"), None, None, None, None, None),
    ],
)
def test_first_matching_rule_decides(ticket, rule, department, category, assignee, priority):
    decision = route(ticket, CONFIG.routing)
    assert (decision.rule, decision.department, decision.category, decision.assignee, decision.priority) == (
        rule, department, category, assignee, priority)
