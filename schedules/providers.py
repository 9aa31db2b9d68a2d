"""The deadline sweep's providers in one list: a new kind of time-driven promise adds its row here."""

from __future__ import annotations

from bot.directory import Directory
from bot.ports import Clock, TicketStore
from bot.sla import SlaPolicy
from schedules.requests import RequestProvider
from schedules.sla import SlaProvider
from schedules.surveys import SurveyProvider
from schedules.sweep import DeadlineSweep, SweepProvider


def sweep_providers(*, policy: SlaPolicy, directory: Directory, config) -> list[SweepProvider]:
    """Every provider of the deadline sweep, in the order a tick runs them."""
    return [SlaProvider(policy=policy, directory=directory, config=config),
            RequestProvider(policy=policy, directory=directory, config=config), SurveyProvider()]


def deadline_sweep(*, store: TicketStore, policy: SlaPolicy, directory: Directory, config, clock: Clock,
                   wake_outbox=None, **options) -> DeadlineSweep:
    """The deadline sweep over every provider; `options`: batch, history."""
    return DeadlineSweep(store=store, providers=sweep_providers(policy=policy, directory=directory, config=config),
                         clock=clock, wake_outbox=wake_outbox, **options)
