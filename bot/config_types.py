"""The YAML config's building blocks: checked value types (durations, time zones, hours …) and the strict section."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from bot.business_hours import (
    check_country,
    check_time_zone,
    parse_day,
    parse_duration,
    parse_hours,
    parse_weekdays,
)

Language = Literal["zh-CN", "en"]
Role = Literal["agent", "lead", "manager", "colleague"]


def _keeping(check) -> AfterValidator:
    """A validator that runs `check` (which raises ValueError) and keeps the value as written."""
    def validate(value):
        check(value)
        return value
    return AfterValidator(validate)


Duration = Annotated[str, _keeping(parse_duration)]
TimeZone = Annotated[str, _keeping(check_time_zone)]
Hours = Annotated[str, _keeping(parse_hours)]
Weekdays = Annotated[str, _keeping(parse_weekdays)]
Country = Annotated[str, _keeping(check_country)]
Day = Annotated[date, BeforeValidator(parse_day)]


class Strict(BaseModel):
    """A section of the YAML config: an unknown key is an error (a typo must not be ignored silently)."""

    model_config = ConfigDict(extra="forbid")
