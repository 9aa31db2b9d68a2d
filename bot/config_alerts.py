"""The YAML config's `alerts:` section: each rule with its thresholds and recipients (README, *Alert rules*).

A recipient is a person's key or a role the rule can resolve: `lead` (the leads of the ticket's department, else of
the intake department), `department_head`, and per rule `assignee`, `account_manager` or `owner`. A threshold that
would alert on every ticket (a repeat of one, growth of 0 %, a backlog of 0) is refused here, with why.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from bot.business_hours import parse_duration
from bot.config_types import Duration, Strict

COMMON_ROLES = ("lead", "department_head")


class P0CreatedRule(Strict):
    """A ticket is opened as P0, or raised to P0: its director or department head is told at once."""

    to: list[str] = Field(default=["department_head"], min_length=1)

    roles: ClassVar[tuple[str, ...]] = (*COMMON_ROLES, "assignee")


class RepeatCustomerRule(Strict):
    """At least `min_tickets` tickets from one customer within `days`: a churn-risk alert to the account manager."""

    min_tickets: int = 4  # the seeds' "more than 3"
    days: int = Field(default=7, ge=1)
    to: list[str] = Field(default=["account_manager"], min_length=1)
    otherwise: list[str] = []  # for a customer without an account manager (an unknown one): e.g. the lead

    roles: ClassVar[tuple[str, ...]] = (*COMMON_ROLES, "account_manager")

    @field_validator("min_tickets")
    @classmethod
    def _not_every_ticket(cls, value: int) -> int:
        if value <= 1:
            raise ValueError(f"{value} would alert on every ticket a customer opens; use 2 or more "
                             "(the seeds' rule: 4, more than 3 in 7 days)")
        return value


class VolumeGrowthRule(Strict):
    """A category or product module growing more than `growth_pct` % week over week for `weeks` weeks running."""

    by: Literal["product_module", "category"] = "product_module"
    owners: dict[str, str] = Field(min_length=1)  # module (or category) → the person who owns it
    growth_pct: float = 20.0
    weeks: int = Field(default=3, ge=1, le=12)
    min_tickets: int = Field(default=5, ge=1)  # the latest week at least: 1 → 2 tickets is no trend
    to: list[str] = Field(default=["owner"], min_length=1)  # the owner and, say, the quality lead

    roles: ClassVar[tuple[str, ...]] = (*COMMON_ROLES, "owner")

    @field_validator("growth_pct")
    @classmethod
    def _growth(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(f"{value:g} % would alert on every week that does not shrink; use a growth above 0 "
                             "(the seeds' rule: 20)")
        return value


class BacklogRule(Strict):
    """Open tickets above `open_above`, or a ticket unassigned longer than `unassigned_older_than`: the lead."""

    open_above: int | None = None
    unassigned_older_than: Duration | None = None
    to: list[str] = Field(default=["lead"], min_length=1)

    roles: ClassVar[tuple[str, ...]] = COMMON_ROLES

    @field_validator("open_above")
    @classmethod
    def _open(cls, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise ValueError(f"{value} would alert whenever a single ticket is open; use 1 or more")
        return value

    @field_validator("unassigned_older_than")
    @classmethod
    def _age(cls, value: str | None) -> str | None:
        if value is not None:
            days, time = parse_duration(value)
            if days == 0 and time.total_seconds() == 0:
                raise ValueError(f"{value} would alert on every unassigned ticket at once; use e.g. 2h")
        return value

    @model_validator(mode="after")
    def _something(self) -> BacklogRule:
        if self.open_above is None and self.unassigned_older_than is None:
            raise ValueError("set open_above, unassigned_older_than or both")
        return self


class LowCsatRule(Strict):
    """A survey answered with a score of at most `max_score`: the lead and the assignee, with the comment."""

    max_score: int = Field(default=2, ge=1)
    to: list[str] = Field(default=["lead", "assignee"], min_length=1)

    roles: ClassVar[tuple[str, ...]] = (*COMMON_ROLES, "assignee")

    @field_validator("max_score")
    @classmethod
    def _not_every_score(cls, value: int) -> int:
        if value >= 5:
            raise ValueError(f"{value} would alert on every rating (scores are 1–5); use 4 or less (e.g. 2)")
        return value


class AlertsConfig(Strict):
    """The rules that are on (a rule left out is off) and how often the periodic ones are looked at."""

    p0_created: P0CreatedRule | None = None
    repeat_customer: RepeatCustomerRule | None = None
    volume_growth: VolumeGrowthRule | None = None
    backlog: BacklogRule | None = None
    low_csat: LowCsatRule | None = None
    check_every: Duration = "10m"  # volume_growth and backlog are evaluated this often (each alert fires once)

    @field_validator("check_every")
    @classmethod
    def _some_time(cls, value: str) -> str:
        days, time = parse_duration(value)
        if days == 0 and time.total_seconds() == 0:
            raise ValueError(f"{value} would look at the rules without pause; use e.g. 10m")
        return value

    def rules(self) -> dict[str, Strict]:
        """The rules that are on, by name."""
        return {name: rule for name in RULE_NAMES if (rule := getattr(self, name)) is not None}


RULE_NAMES = ("p0_created", "repeat_customer", "volume_growth", "backlog", "low_csat")


def recipient_problems(alerts: AlertsConfig, people: set[str], groups: set[str]) -> list[str]:
    """Unknown recipients, and owners of unknown modules or categories, as check-config lines."""
    problems = []
    for name, rule in alerts.rules().items():
        for field in ("to", "otherwise"):
            for who in getattr(rule, field, ()):
                if who not in people and who not in rule.roles:
                    problems.append(f"alerts.{name}.{field}: unknown person or role '{who}' (a person's key, or "
                                    f"one of: {', '.join(rule.roles)})")
    growth = alerts.volume_growth
    if growth is not None:
        for group, owner in growth.owners.items():
            if group not in groups:
                problems.append(f"alerts.volume_growth.owners.{group}: unknown {growth.by.replace('_', ' ')} "
                                f"'{group}'")
            if owner not in people:
                problems.append(f"alerts.volume_growth.owners.{group}: unknown person '{owner}'")
    return problems
