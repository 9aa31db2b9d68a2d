"""How the managers' figures read: one list of labelled rows, drawn as a card, as text or as markdown.

`/ticket stats`, a scheduled digest and `ticketbot digest|stats` all show the same rows in the reader's language;
a digest adds its chart and the change against the previous period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.directory import Directory, department_choice
from bot.i18n import translator
from bot.i18n.labels import category_label, priority_label, tier_label
from bot.kpis import AT_RISK_CAP, BreachedTicket, FiguresRecord, Report, Scope, Share, Spread
from bot.subjects import Subject, SubjectKind, Viewer
from bot.tickets import format_number
from cards.model import Card, Field, Image


def _(msgid: str) -> str:
    """Mark a msgid for extraction."""
    return msgid


DASH = "—"  # a figure with no data yet (no promise due, no CSAT answer)
AGE_LABELS = {"lt_1d": _("<1 d"), "d1_3": _("1–3 d"), "d3_7": _("3–7 d"), "gt_7d": _(">7 d")}
CLOCKS = {"respond": _("response"), "resolve": _("resolution")}
NameOf = Callable[[str | None], str]  # a person's or department's key → the name a reader knows


@dataclass(frozen=True)
class Figures:
    """What one figures message shows: the period's report, the one before it (for changes), and a chart."""

    report: Report
    previous: Report | None = None
    chart: bytes | None = None
    name: str | None = None  # a scheduled digest's name


def duration(seconds: int | None, t) -> str:
    """'45 min', '3.5 h', '2.1 d' (business time where the clock is), or '—'."""
    if seconds is None:
        return DASH
    minutes = seconds / 60
    if minutes < 90:
        return t._("{n} min", n=round(minutes))
    if minutes < 48 * 60:
        return t._("{n} h", n=round(minutes / 60, 1))
    return t._("{n} d", n=round(minutes / 1440, 1))


def percent(share: Share) -> str:
    """'80.0% (4/5)', or '—' when nothing was due."""
    return DASH if share.pct is None else f"{share.pct:.1f}% ({share.part}/{share.whole})"


def _change(now: int, before: int | None) -> str:
    if before is None:
        return str(now)
    delta = now - before
    return f"{now} ({'+' if delta >= 0 else '−'}{abs(delta)})"


def _spread(spread: Spread, t) -> str:
    if spread.median is None:
        return DASH
    return t._("median {median} · p90 {p90}", median=duration(spread.median, t), p90=duration(spread.p90, t))


def scope_text(scope: Scope, t, name_of: NameOf) -> str:
    """'All tickets', 'Department: Finance', 'Agent: Alice', 'Priority: P1 · high', 'Customers: VIP'."""
    if scope.department:
        return t._("Department: {name}", name=name_of(department_choice(scope.department)))
    if scope.agent:
        return t._("Agent: {name}", name=name_of(scope.agent))
    if scope.priority:
        return t._("Priority: {priority}", priority=priority_label(scope.priority, t))
    if scope.tier:
        return t._("Customers: {tier}", tier=tier_label(scope.tier, t))
    return t._("All tickets")


def rows(figures: Figures, t) -> list[tuple[str, str]]:
    """The headline figures as (label, value), each with its change against the previous period."""
    r, p = figures.report, figures.previous
    ages = " · ".join(f"{t._(AGE_LABELS[key])} {count}" for key, count in r.backlog_ages.items())
    csat = DASH if r.csat_avg is None else f"{r.csat_avg:.1f} / 5 ({percent(r.csat_response)})"
    # The six headline figures first: WeCom's template card shows six rows (the other platforms show them all).
    return [
        (t._("New"), _change(r.new, p.new if p else None)),
        (t._("Resolved"), _change(r.resolved, p.resolved if p else None)),
        (t._("Backlog at the end"), t._("{count} ({unassigned} unassigned)", count=_change(r.backlog, p.backlog if p else None),
                                        unassigned=r.unassigned)),
        (t._("First response"), _spread(r.frt, t)),
        (t._("SLA response met"), percent(r.sla_response)),
        (t._("SLA resolution met"), percent(r.sla_resolution)),
        (t._("Closed"), _change(r.closed, p.closed if p else None)),
        (t._("Reopened"), _change(r.reopened, p.reopened if p else None)),
        (t._("Backlog by age"), ages or DASH),
        (t._("Time to resolution"), _spread(r.ttr, t)),
        (t._("First-contact resolution"), percent(r.fcr)),
        (t._("Reopen rate"), percent(r.reopen_rate)),
        (t._("CSAT"), csat),
        # Of the new tickets, those self-service solved; "—" while no customer was offered articles.
        (t._("Deflection rate"), DASH if not r.offered else t._(
            "{share} · {offered} offered", share=percent(r.deflection), offered=r.offered)),
    ]


def notes(figures: Figures, t, name_of: NameOf) -> list[str]:
    """The lists under the figures: breached and at-risk promises, top categories, modules, customers, agents."""
    r = figures.report
    lines = []

    def promise(b: BreachedTicket) -> str:
        return t._("· {number} [{priority}] {title} · {owner} ({clock})", number=format_number(b.id),
                   priority=b.priority.value, title=b.title,
                   owner=name_of(b.assignee) if b.assignee else t._("Unassigned"), clock=t._(CLOCKS[b.clock]))
    if r.breached_count:
        lines.append(t._("Breached promises: {count}", count=r.breached_count))
        lines += [promise(b) for b in r.breached]
        if r.breached_count > len(r.breached):
            lines.append(t._("· … and {count} more", count=r.breached_count - len(r.breached)))
    if r.at_risk_count:
        count = f"{AT_RISK_CAP}+" if r.at_risk_count >= AT_RISK_CAP else str(r.at_risk_count)
        lines.append(t._("At risk now (due soon, not yet missed): {count}", count=count))
        lines += [promise(b) for b in r.at_risk]
        if r.at_risk_count > len(r.at_risk):
            more = str(r.at_risk_count - len(r.at_risk)) + ("+" if r.at_risk_count >= AT_RISK_CAP else "")
            lines.append(t._("· … and {count} more", count=more))
    if r.by_category:
        lines.append(t._("Top categories: {list}", list=" · ".join(
            f"{category_label(key, t)} {n}" for key, n in r.by_category)))
    if r.by_module:
        lines.append(t._("Top product modules: {list}", list=" · ".join(f"{key} {n}" for key, n in r.by_module)))
    if r.by_customer:
        lines.append(t._("Top customers: {list}", list=" · ".join(f"{key} {n}" for key, n in r.by_customer)))
    if r.agents:
        lines.append(t._("Agents (open now / resolved): {list}", list=" · ".join(
            f"{name_of(a.agent)} {a.open}/{a.resolved}" for a in r.agents[:8])))
    return lines


def title(figures: Figures, t) -> str:
    """'Ticket figures · 2026-12-04', or the digest's name."""
    if figures.name:
        return t._("Digest “{name}” · {period}", name=figures.name, period=figures.report.period.key)
    return t._("Ticket figures · {period}", period=figures.report.period.key)


def figures_card(figures: Figures, t, name_of: NameOf, *, subject: Subject | None = None) -> Card:
    """The figures as a neutral card (with the chart as its image, when there is one)."""
    image = (Image(alt=t._("New and resolved tickets per day, with SLA response %"), data=figures.chart,
                   filename=f"digest-{figures.report.period.key}.png") if figures.chart else None)
    footer = t._("Change against the previous period in brackets.") if figures.previous else None
    return Card(title=title(figures, t), subtitle=scope_text(figures.report.scope, t, name_of),
                fields=tuple(Field(label, value) for label, value in rows(figures, t)),
                notes=tuple(notes(figures, t, name_of)), image=image, subject=subject, footer=footer,
                language=t.language)


def figures_text(figures: Figures, t, name_of: NameOf, *, markdown: bool = False) -> str:
    """The same figures as plain text, or as markdown (a table and a list)."""
    head = f"{title(figures, t)} — {scope_text(figures.report.scope, t, name_of)}"
    if not markdown:
        return "\n".join([head, *(f"{label}: {value}" for label, value in rows(figures, t)),
                          *notes(figures, t, name_of)])
    table = ["| | |", "|---|---|", *(f"| {label} | {value} |" for label, value in rows(figures, t))]
    listed = [f"- {line.lstrip('· ')}" for line in notes(figures, t, name_of)]
    return "\n".join([f"## {head}", "", *table, "", *listed]).rstrip() + "\n"


def names(directory: Directory, language: str) -> NameOf:
    """Person keys and `d:<department>` keys → names in `language` (what is unknown shows as stored)."""
    def name_of(key: str | None) -> str:
        if not key:
            return DASH
        return directory.display_name(key, language)
    return name_of


class DigestCards:
    """The card builder of kind `digest` (schedules/card_kinds.py): kept figures → a card in the reader's language."""

    def __init__(self, directory: Directory):
        self.directory = directory

    def build(self, record: FiguresRecord, viewer: Viewer, language: str) -> Card:
        """The figures card of a digest run or a stats answer."""
        t = translator(language)
        figures = Figures(record.report, record.previous, record.chart, record.name)
        return figures_card(figures, t, names(self.directory, t.language), subject=Subject(SubjectKind.DIGEST, record.id))
