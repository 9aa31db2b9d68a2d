"""Why a timeline entry happened, stored as data (a kind and its fields) and put into words only when read.

Entries used to carry English sentences ("rule 'VIP'", "round-robin in support") that the reader's side parsed
back with regexes. Now the entry's `detail` holds the fields; handlers/queries.py renders them in the reader's
language. Field values are stored keys (a rule's key, a department's key), never words.
"""

from __future__ import annotations

from enum import StrEnum


class How(StrEnum):
    """How an assignment came about."""

    REQUESTER = "requester"  # the person who opened the ticket named the assignee
    RULE = "rule"  # a routing rule's assignee
    ROUND_ROBIN = "round-robin"  # the department's rotation
    LEAST_LOADED = "least-loaded"  # the department's least-loaded agent


class LinkDirection(StrEnum):
    """Which way a link between two tickets of one conversation points."""

    FOLLOWS = "follows"  # this ticket continues the closed one named in `after`
    CONTINUED = "continued"  # this closed ticket continues in the one named in `after`


def assigned(how: How, *, rule: str | None = None, department: str | None = None) -> dict[str, str]:
    """The detail of an assignment: by the requester, by a rule (its key), or by a department's rotation."""
    detail = {"how": how.value}
    if rule:
        detail["rule"] = rule
    if department:
        detail["department"] = department
    return detail


def routed(rule: str, **effects: str | None) -> dict[str, str]:
    """The detail of a routing decision: the rule's key and what it set (category, department, priority, assignee)."""
    return {"rule": rule, **{name: value for name, value in effects.items() if value}}


def linked(direction: LinkDirection) -> dict[str, str]:
    """The detail of a link between tickets."""
    return {"link": direction.value}
