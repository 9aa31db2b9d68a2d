"""CSAT in the managers' figures over hand-built surveys: the average of the scores given in the period and the
response rate (answered / sent of the surveys sent in it), each worked out here by hand."""

from __future__ import annotations

from datetime import date, timedelta

from bot.csat import Survey
from bot.events import Platform
from bot.kpis import Period, PeriodKind, Scope, as_json
from bot.tickets import Action, Priority
from tests.storage.test_kpis import DM, FORTNIGHT, NOW, Story, sh


async def _survey(store, ticket, asked, *, score=None, not_solved=False, rated=None, comment=None):
    async with store.unit() as uow:
        survey = await uow.surveys().add(Survey(
            ticket_id=ticket.id, resolved_at=asked, requester_platform=Platform.SLACK, requester_user_id="U1",
            conversation=DM, language="zh-CN", scale="five", asked_at=asked, expires_at=asked + timedelta(days=7)))
        if rated is not None:
            survey.score, survey.not_solved, survey.rated_at, survey.comment = score, not_solved, rated, comment
            await uow.surveys().save(survey)


async def _report(store, period=FORTNIGHT, scope=None):
    async with store.snapshot() as reads:
        return await reads.kpis().report(period, scope or Scope(), NOW)


async def test_csat_average_and_response_rate_are_the_ones_worked_out_by_hand(store):
    alice = [await Story(sh(16 + i, 10), Priority.P2).act(Action.RESOLVE, sh(16 + i, 12)).save(store)
             for i in range(4)]
    bob = await Story(sh(17, 10), Priority.P2, assignee="bob").act(Action.RESOLVE, sh(17, 12)).save(store)
    # Surveys sent in the fortnight: scores 5 and 2 (alice), 4 (bob), one Not solved (answered, no score), one
    # never answered, and the late one below.
    await _survey(store, alice[0], sh(16, 12), score=5, rated=sh(16, 13))
    await _survey(store, alice[1], sh(17, 12), score=2, rated=sh(18, 9), comment="太慢")
    await _survey(store, alice[2], sh(18, 12), not_solved=True, rated=sh(18, 12, 30))
    await _survey(store, alice[3], sh(19, 12))
    await _survey(store, bob, sh(17, 12), score=4, rated=sh(17, 12, 5))
    # Sent on the 29th at 23:00, answered 1 on the 30th: sent within the fortnight, its score after it.
    late = await Story(sh(29, 20), Priority.P2).act(Action.RESOLVE, sh(29, 23)).save(store)
    await _survey(store, late, sh(29, 23), score=1, rated=sh(30, 9))

    # Scores given in the fortnight: (5 + 2 + 4) / 3 = 3.67. Of the 6 sent in it, 5 are answered (by now) = 83.3 %.
    report = await _report(store)
    assert report.csat_avg == 3.67
    assert (report.csat_response.part, report.csat_response.whole, report.csat_response.pct) == (5, 6, 83.3)
    figures = as_json(report)
    assert (figures["csat_avg"], figures["csat_response_pct"]) == (3.67, 83.3)

    # Scoped to bob: his one survey, answered 4.
    only_bob = await _report(store, scope=Scope(agent="bob"))
    assert (only_bob.csat_avg, only_bob.csat_response.part, only_bob.csat_response.whole) == (4.0, 1, 1)
    # The next day alone: the late 1, and its survey sent the day before does not count as sent that day.
    next_day = Period(PeriodKind.RANGE, date(2026, 11, 30), date(2026, 11, 30), "Asia/Shanghai")
    day = await _report(store, period=next_day)
    assert (day.csat_avg, day.csat_response.whole) == (1.0, 0)
