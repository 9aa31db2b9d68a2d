"""The `digests:` section of the config: scheduled figures for managers, validated with the rest of the file.

```yaml
digests:
  - name: daily-sla
    to: [director, lin]                # people of the directory: each gets it by DM, in their language
    channels: {slack: C0123}           # and/or channels (in the workspace language)
    schedule: "0 9 * * mon-fri"        # any five-field cron, in `timezone` (default: business_hours.timezone)
    period: yesterday                  # today | yesterday | week | last-week | month | last-month
    scope: {department: support}       # or {agent: li} / {priority: P1} / {tier: vip}; default all
    skip_holidays: true                # business days of the calendar only: none on 国庆, one on a 调休 Saturday
    catch_up_within: 6h                # a run missed while the bot was down is sent at start-up within this
```
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo, field_validator

from bot.business_hours import check_time_zone, parse_duration
from bot.events import Platform
from bot.kpis import PERIOD_WORDS, PeriodKind, Scope
from bot.tickets import Priority, Tier

_CRON_FIELD = re.compile(r"^[\w*/,\-?#LW]+$")


class DigestScope(BaseModel):
    """Which tickets a digest counts (at most one of each)."""

    model_config = ConfigDict(extra="forbid")

    department: str | None = None
    agent: str | None = None
    tier: Tier | None = None
    priority: Priority | None = None

    def scope(self) -> Scope:
        """The KPI scope."""
        return Scope(department=self.department, agent=self.agent, tier=self.tier, priority=self.priority)


class DigestConfig(BaseModel):
    """One scheduled digest."""

    model_config = ConfigDict(extra="forbid")

    name: str
    to: list[str] = []
    channels: dict[Platform, str] = {}
    schedule: str
    period: str = "yesterday"
    scope: DigestScope = DigestScope()
    skip_holidays: bool = False
    timezone: str | None = None
    catch_up_within: str = "6h"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(r"[\w.\-]{1,100}", value):
            raise ValueError(f"digest name {value!r}: letters, digits, '.', '-' and '_' only (it names the runs)")
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        fields = value.split()
        if len(fields) != 5 or not all(_CRON_FIELD.match(field) for field in fields):
            raise ValueError(f"schedule {value!r}: five cron fields are needed (minute hour day month weekday)")
        return value

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        if PERIOD_WORDS.get(value.strip().lower()) in (None, PeriodKind.RANGE):
            raise ValueError(f"period {value!r}: use today, yesterday, week, last-week, month or last-month")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            check_time_zone(value)
        return value

    @field_validator("catch_up_within")
    @classmethod
    def _grace(cls, value: str) -> str:
        parse_duration(value)
        return value


def _references(digests: list[DigestConfig], info: ValidationInfo) -> list[DigestConfig]:
    """Names unique; recipients, departments and agents known (the fields above `digests` are validated first)."""
    people = {p.key for p in info.data.get("people", [])}
    departments = {d.key for d in info.data.get("departments", [])}
    seen: set[str] = set()
    for index, digest in enumerate(digests):
        if digest.name in seen:
            raise ValueError(f"{index}.name: a second digest named {digest.name!r}")
        seen.add(digest.name)
        for key in digest.to:
            if key not in people:
                raise ValueError(f"{index}.to: unknown person {key!r}")
        if digest.scope.department and digest.scope.department not in departments:
            raise ValueError(f"{index}.scope.department: unknown department {digest.scope.department!r}")
        if digest.scope.agent and digest.scope.agent not in people:
            raise ValueError(f"{index}.scope.agent: unknown person {digest.scope.agent!r}")
        if not digest.to and not digest.channels:
            raise ValueError(f"{index}: a digest needs recipients (`to`) or `channels`")
    return digests


Digests = Annotated[list[DigestConfig], AfterValidator(_references)]
