"""The YAML config's `requests:` section: how cross-department requests remind, escalate and default."""

from __future__ import annotations

from pydantic import Field

from bot.config_types import Duration, Strict


class RequestsConfig(Strict):
    """Reminders before a request's deadline, the asker told at it, the department head after it."""

    # When no deadline is written and the department names no response_time (business time, colleague's calendar).
    default_response_time: Duration = "4h"
    reminders: list[float] = Field(default=[0.5])  # fractions of the time between asking and the deadline
    remind_before: Duration | None = "1h"  # and this long before the deadline (when that is after the ask)
    escalate_after: Duration = "2h"  # after the deadline the colleague's department head is told
