"""Ordered routing rules: first match wins, and the rule is recorded on the timeline by its key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from pydantic import PlainValidator, model_validator

from bot.config_types import Strict
from bot.i18n import SUPPORTED
from bot.tickets import Priority, Ticket, Tier


def _rule_name(value):
    """A rule's name as written: text, or text per language ({en: …, zh-CN: …}); ValueError says what is wrong."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("a rule's name cannot be empty")
        return value
    if not isinstance(value, dict):
        raise ValueError("give the rule's name as text, or per language: {en: …, zh-CN: …}")
    if not value:
        raise ValueError("give the rule's name in at least one language (zh-CN, en)")
    for language, text in value.items():
        if language not in SUPPORTED:
            raise ValueError(f"unknown language '{language}' (use zh-CN or en)")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"the name in '{language}' must be text")
    return dict(value)


RuleName = Annotated[str | dict[str, str], PlainValidator(_rule_name)]


class RuleMatch(Strict):
    """What a routing rule looks at; every given condition must hold."""

    keywords: list[str] = []
    product_module: str | None = None
    customer_tier: Tier | None = None
    category: str | None = None


class RuleEffect(Strict):
    """What a matching routing rule does."""

    category: str | None = None
    department: str | None = None
    assignee: str | None = None
    priority: Priority | None = None
    raise_priority: bool = False
    notify: list[str] = []
    notify_account_manager: bool = False


class RoutingRule(Strict):
    """One ordered routing rule: first match wins; the timeline names it by its `key`, readers by its name."""

    name: RuleName
    # What a ticket's timeline stores, so each reader sees the name in their own language (and a reworded name
    # keeps its old entries when the key stays): by default the name itself, or its English one.
    key: str | None = None
    match: RuleMatch
    then: RuleEffect

    @model_validator(mode="after")
    def _default_key(self) -> RoutingRule:
        if not self.key:
            name = self.name
            self.key = name if isinstance(name, str) else name.get("en") or next(iter(name.values()))
        return self

    def title(self, language: str) -> str:
        """The rule's name in `language`, else in the other language."""
        if isinstance(self.name, str):
            return self.name
        return self.name.get(language) or next(iter(self.name.values()))


@dataclass(frozen=True)
class RoutingDecision:
    """What the first matching rule (if any) decided for a new ticket; `rule` is its key."""

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
            rule=rule.key,
            category=then.category,
            department=then.department,
            assignee=then.assignee,
            priority=priority,
            notify=tuple(then.notify),
            notify_account_manager=then.notify_account_manager,
        )
    return RoutingDecision()


def rule_title(rules: list[RoutingRule], key: str, language: str) -> str:
    """The name of the rule a timeline stored as `key`, in `language`; the key itself once no rule has it."""
    rule = next((r for r in rules if r.key == key), None)
    return rule.title(language) if rule is not None else key
