"""`/ticket stats [period] [@department|@person] [P0-P3|vip]`: the managers' figures as a card, in the reader's language.

Agents see their own figures and their department's; leads and managers everything. The bare `/ticket stats`
keeps its quick counts (handlers/queries.stats).
"""

from __future__ import annotations

from bot.directory import Role
from bot.kpis import PeriodError, Scope, parse_period
from bot.permissions import STATS, denial
from bot.ports import Outgoing, OutgoingKind
from bot.subjects import Subject, SubjectKind
from bot.tickets import Tier
from handlers.command_types import Stats
from handlers.turn import Turn


class _Refused(Exception):
    """The answer instead of figures (a msgid and its parameters)."""

    def __init__(self, msgid: str, **params):
        super().__init__(msgid)
        self.msgid, self.params = msgid, params


def _(msgid: str) -> str:
    """Mark a msgid for extraction; translated when shown."""
    return msgid


def scope_of(turn: Turn, request: Stats) -> Scope:
    """The scope asked for, narrowed to what the person may see; _Refused when it names nothing or too much."""
    person, directory = turn.person, turn.ctx.directory
    department = agent = None
    if request.scope:
        found = directory.find_department(request.scope)
        if found is not None:
            department = found.key
        else:
            someone = directory.find_person(request.scope, turn.platform)
            if someone is None or not someone.is_staff:
                raise _Refused(_("There is no department or agent “{name}”."), name=request.scope)
            agent = someone.key
    if not person.has(Role.LEAD, Role.MANAGER):
        # An agent: their own figures and their department's (asked for nothing, their department's, or their own).
        if department is None and agent is None:
            department, agent = (person.department, None) if person.department else (None, person.key)
        if department is not None:
            mine = department == person.department
        else:
            colleague = directory.person(agent)
            mine = agent == person.key or (person.department is not None and colleague.department == person.department)
        if not mine:
            raise _Refused(_("Agents see their own figures and their department's; ask a lead or a manager for "
                             "the others."))
    return Scope(department=department, agent=agent, tier=Tier(request.tier) if request.tier else None,
                 priority=request.priority)


async def figures(turn: Turn, request: Stats) -> None:
    """Compute the period's figures (and the previous period's, for the change) and answer with their card."""
    t, ctx = turn.t, turn.ctx
    now = ctx.clock.now()
    try:
        if turn.person.is_customer:
            raise _Refused(_("Only the support team can do that."))
        if reason := denial(turn.person, STATS):
            raise _Refused(reason)
        scope = scope_of(turn, request)
        period = parse_period(request.period, now, ctx.config.business_hours.timezone)
    except _Refused as refused:
        answer = t._(refused.msgid, **refused.params)
    except PeriodError as err:
        answer = t._(err.problem, token=err.token)
    else:
        answer = None
    if answer is not None:
        await turn.answer(answer)
        return
    # Read beside the writers (a snapshot), then keep the figures as answered: the card is drawn from them.
    async with ctx.store.snapshot() as reads:
        kpis = reads.kpis()
        report = await kpis.report(period, scope, now)
        previous = await kpis.report(period.previous(), scope, now, headline=True)
    async with ctx.store.unit() as uow:
        kept = await uow.digests().keep_answer(at=now, report=report, previous=previous)
        await uow.enqueue(Outgoing(OutgoingKind.CARD, turn.conversation, subject=Subject(SubjectKind.DIGEST, kept),
                                   language=t.language))
        await turn.finish(uow)
