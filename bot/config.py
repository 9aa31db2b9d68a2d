"""The YAML config (validated by pydantic): the directory, routing, intake, lifecycle, SLA; load_config.

Its sections live beside it by capability (bot/config_types.py: checked value types; bot/config_sla.py: calendars and
SLA); the environment's half (secrets, platforms, where to listen) is bot/settings.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, PrivateAttr, ValidationError, model_validator

from bot.attachments import AttachmentLimits
from bot.config_alerts import AlertsConfig, P0CreatedRule, recipient_problems
from bot.config_requests import RequestsConfig
from bot.config_sla import BusinessHoursConfig, SlaConfig
from bot.config_types import Duration, Language, Role, Strict, TimeZone
from bot.csat import CsatConfig
from bot.digest_config import Digests
from bot.events import Platform
from bot.kb_config import KbConfig
from bot.routing import RoutingRule

# The environment's settings, re-exported while the platform adapters still import them from here.
from bot.settings import (  # noqa: F401
    DingTalkSettings,
    Settings,
    SlackSettings,
    WeComAibotSettings,
    WeComSettings,
    normalize_database_url,
)
from bot.tickets import Priority, Tier


class DepartmentConfig(Strict):
    """A team that owns tickets (Support) or is asked for help (Finance, R&D…)."""

    key: str
    name: dict[Language, str]
    aliases: list[str] = []
    assignment: Literal["round_robin", "least_loaded"] = "round_robin"
    head: str | None = None
    # Who answers requests to the department (falling back to its head), and how long they usually take.
    contacts: list[str] = []
    response_time: Duration | None = None


class PersonConfig(Strict):
    """Someone of ours: an agent, lead, manager or a colleague of another department."""

    key: str
    name: str
    roles: list[Role] = Field(min_length=1)
    department: str
    language: Language | None = None
    identities: dict[Platform, str] = {}
    timezone: TimeZone | None = None  # where this person reads times; the workspace's (business_hours) if unset


class CustomerConfig(Strict):
    """A known customer account; unknown people who write to the bot are normal-tier customers."""

    key: str
    name: str
    tier: Tier = Tier.NORMAL
    account_manager: str | None = None
    language: Language | None = None
    identities: dict[Platform, list[str] | str] = {}


class IntakeConfig(Strict):
    """How customer messages become tickets."""

    join_window_minutes: int = Field(default=24 * 60, ge=0)
    default_priority: Priority = Priority.P2
    default_department: str = "support"


class LifecycleConfig(Strict):
    """Lifecycle knobs the transition table leaves to configuration."""

    reopen_window_days: int = Field(default=7, ge=0)


class AppConfig(Strict):
    """The whole YAML file."""

    language: Language = "zh-CN"
    categories: list[str] = ["bug", "billing", "how-to", "suggestion", "other"]
    product_modules: list[str] = []
    departments: list[DepartmentConfig] = []
    people: list[PersonConfig] = []
    customers: list[CustomerConfig] = []
    routing: list[RoutingRule] = []
    intake: IntakeConfig = IntakeConfig()
    lifecycle: LifecycleConfig = LifecycleConfig()
    business_hours: BusinessHoursConfig = BusinessHoursConfig()
    sla: SlaConfig = SlaConfig()
    requests: RequestsConfig = RequestsConfig()
    csat: CsatConfig = CsatConfig()  # the survey on resolve (bot/csat.py)
    # Per platform, the conversation id where triage cards are posted.
    triage_channels: dict[Platform, str] = {}
    kb: KbConfig = KbConfig()  # the knowledge base: synonyms, suggestions, self-service (bot/kb_config.py)
    attachments: AttachmentLimits = AttachmentLimits()  # size, count per message and types of files taken in
    digests: Digests = []  # scheduled figures for managers (bot.digest_config); last: it checks the people above
    alerts: AlertsConfig = AlertsConfig()  # alert rules (bot/config_alerts.py); sla.notify_on_p0 folds into p0_created
    _deprecations: list[str] = PrivateAttr(default_factory=list)

    @property
    def deprecations(self) -> list[str]:
        """Old keys still read, each with where it moved (check-config prints them)."""
        return list(self._deprecations)

    @model_validator(mode="after")
    def _references_exist(self) -> AppConfig:
        departments = {d.key for d in self.departments}
        people = {p.key for p in self.people}
        problems: list[str] = []
        for i, person in enumerate(self.people):
            if person.department not in departments:
                problems.append(f"people.{i}.department: unknown department '{person.department}'")
        for i, dept in enumerate(self.departments):
            if dept.head and dept.head not in people:
                problems.append(f"departments.{i}.head: unknown person '{dept.head}'")
            for contact in dept.contacts:
                if contact not in people:
                    problems.append(f"departments.{i}.contacts: unknown person '{contact}'")
        for i, cust in enumerate(self.customers):
            if cust.account_manager and cust.account_manager not in people:
                problems.append(f"customers.{i}.account_manager: unknown person '{cust.account_manager}'")
        keys: dict[str, int] = {}
        for i, rule in enumerate(self.routing):
            if rule.key in keys:
                # The timeline names a rule by its key: two rules of one key could not be told apart there.
                problems.append(f"routing.{i}.key: '{rule.key}' is routing.{keys[rule.key]}'s already; "
                                "give each rule its own name or key")
            keys.setdefault(rule.key, i)
            then = rule.then
            if then.department and then.department not in departments:
                problems.append(f"routing.{i}.then.department: unknown department '{then.department}'")
            if then.assignee and then.assignee not in people:
                problems.append(f"routing.{i}.then.assignee: unknown person '{then.assignee}'")
            if then.category and then.category not in self.categories:
                problems.append(f"routing.{i}.then.category: unknown category '{then.category}'")
            for who in then.notify:
                if who not in people:
                    problems.append(f"routing.{i}.then.notify: unknown person '{who}'")
        if self.departments and self.intake.default_department not in departments:
            problems.append(f"intake.default_department: unknown department '{self.intake.default_department}'")
        for who in self.sla.notify_on_p0:
            if who not in people:
                problems.append(f"sla.notify_on_p0: unknown person '{who}'")
        self._fold_notify_on_p0(problems)
        groups = set(self.product_modules if self.alerts.volume_growth is None
                     or self.alerts.volume_growth.by == "product_module" else self.categories)
        problems += recipient_problems(self.alerts, people, groups)
        for i, level in enumerate(self.sla.escalation):
            if level.to not in ("assignee", "lead", "department_head", "manager") and level.to not in people:
                problems.append(f"sla.escalation.{i}.to: unknown person or role '{level.to}'")
        for dept, name in self.sla.department_calendars.items():
            if name not in self.sla.calendars:
                problems.append(f"sla.department_calendars.{dept}: unknown calendar '{name}'")
        if problems:
            raise ValueError("; ".join(problems))
        return self


    def _fold_notify_on_p0(self, problems: list[str]) -> None:
        """`sla.notify_on_p0` is the old name of `alerts.p0_created.to`: still read, with a note where it moved."""
        old = self.sla.notify_on_p0
        if not old:
            return
        if self.alerts.p0_created is None:
            self.alerts.p0_created = P0CreatedRule(to=list(old))
            self._deprecations.append(f"sla.notify_on_p0 is deprecated: it is read as alerts.p0_created.to {old}; "
                                      "move it there")
        elif list(old) != self.alerts.p0_created.to:
            problems.append("sla.notify_on_p0: deprecated, and alerts.p0_created.to says otherwise; keep only "
                            "alerts.p0_created.to")


class ConfigError(Exception):
    """The config file is missing or invalid; the message names the file, the key and the problem."""


class StartupError(Exception):
    """serve cannot start (its port is taken, its database does not answer); the message is one line."""


def load_config(path: str | Path | None) -> AppConfig:
    """Read and validate the YAML config; no path means built-in defaults."""
    if path is None:
        return AppConfig()
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date like 2026-13-01 that YAML reads as one
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    try:
        return AppConfig.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"]) or "(top level)"
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"{path}: {key}: {message}")
        raise ConfigError("\n".join(lines)) from None
