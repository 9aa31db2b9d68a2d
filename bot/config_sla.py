"""The YAML config's SLA sections: business calendars, targets per priority, overrides, escalation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from bot.business_hours import build_calendar
from bot.config_types import Country, Day, Duration, Hours, Strict, TimeZone, Weekdays
from bot.events import Platform
from bot.tickets import Priority, Status, Tier


class BusinessHoursConfig(Strict):
    """A business calendar: time zone, weekly hours with an optional lunch break, holidays."""

    timezone: TimeZone = "Asia/Shanghai"
    hours: Hours = "09:00-18:00"
    lunch: Hours | None = None
    weekdays: Weekdays = "mon-fri"
    country: Country | None = "CN"
    extra_holidays: list[Day] = []
    extra_workdays: list[Day] = []

    @model_validator(mode="after")
    def _builds(self) -> BusinessHoursConfig:
        # What the fields cannot tell alone (a lunch outside the hours): build the calendar as serve will.
        build_calendar(**self.model_dump())
        return self


class TargetConfig(Strict):
    """One priority's promise: durations like 15m, 4h, 3d; `business` clocks count only open hours."""

    first_response: Duration | None = None
    resolution: Duration | None = None
    clock: Literal["24x7", "business"] = "business"


def _default_targets() -> dict[Priority, TargetConfig]:
    return {
        Priority.P0: TargetConfig(first_response="15m", resolution="4h", clock="24x7"),
        Priority.P1: TargetConfig(first_response="1h", resolution="24h", clock="24x7"),
        Priority.P2: TargetConfig(first_response="4h", resolution="3d", clock="business"),
        Priority.P3: TargetConfig(first_response="8h", resolution=None, clock="business"),
    }


class SlaOverride(Strict):
    """Tighter (or looser) targets for a customer tier and/or a department."""

    tier: Tier | None = None
    department: str | None = None
    targets: dict[Priority, TargetConfig]


class EscalationLevel(Strict):
    """One step of the escalation chain: whom to tell, how long after the breach."""

    after: Duration = "0m"
    to: str  # assignee | lead | department_head | manager | a person key


class SlaConfig(Strict):
    """SLA policy, reminders and escalations."""

    targets: dict[Priority, TargetConfig] = Field(default_factory=_default_targets)
    overrides: list[SlaOverride] = []
    paused_statuses: list[Status] = [Status.WAITING_CUSTOMER]
    reminders: list[float] = [0.5, 0.8]
    # Outside business hours only the other priorities' reminders go out; these wait for the morning.
    quiet_priorities: list[Priority] = [Priority.P2, Priority.P3]
    escalation: list[EscalationLevel] = [
        EscalationLevel(after="0m", to="assignee"),
        EscalationLevel(after="30m", to="lead"),
        EscalationLevel(after="2h", to="department_head"),
        EscalationLevel(after="4h", to="manager"),
    ]
    escalation_channels: dict[Platform, str] = {}
    # Deprecated: read as alerts.p0_created.to (bot/config_alerts.py), with a note from check-config.
    notify_on_p0: list[str] = []
    sweep_seconds: float = Field(default=1.0, gt=0)
    # Extra calendars by name, and which department counts on which.
    calendars: dict[str, BusinessHoursConfig] = {}
    department_calendars: dict[str, str] = {}
