"""An alert's card: what happened with its evidence (ticket numbers, counts), in the reader's language, and an
Acknowledge button until someone acknowledges it — then who did, and when, on every copy."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.alerts import Alert, Rule
from bot.directory import Directory
from bot.i18n import translator
from bot.i18n.labels import category_label
from bot.subjects import Viewer
from bot.tickets import format_number
from cards import actions
from cards.model import Button, Card, Field

ACKNOWLEDGE = actions.ACK


def _(msgid: str) -> str:
    """Mark a msgid for extraction."""
    return msgid


RULE_NAMES = {Rule.P0_CREATED: _("P0 ticket"), Rule.REPEAT_CUSTOMER: _("Churn risk"),
              Rule.VOLUME_GROWTH: _("Volume growth"), Rule.BACKLOG: _("Backlog"), Rule.LOW_CSAT: _("Low rating")}


def rule_name(rule: Rule, t) -> str:
    """The rule's name in the reader's language."""
    return t._(RULE_NAMES[rule])


def tickets_line(tickets: list, more: int = 0, t=None) -> str:
    """'T-000004 页面打不开, T-000003 …' (and N more)."""
    line = ", ".join(f"{format_number(ticket_id)} {title}" for ticket_id, title in tickets)
    return line + (t._(" and {n} more", n=more) if more > 0 and t is not None else "")


def headline(alert: Alert, t, directory: Directory) -> str:
    """One line saying what the alert is about (the card's title, and a line of `/ticket alerts`)."""
    e = alert.evidence
    match alert.rule:
        case Rule.P0_CREATED:
            return t._("🔥 P0 {number}: {title}", number=format_number(e["ticket_id"]), title=e["title"])
        case Rule.REPEAT_CUSTOMER:
            return t._("⚠️ Churn risk: {customer} opened {count} tickets in {days} d", customer=e["customer"],
                       count=e["count"], days=e["days"])
        case Rule.VOLUME_GROWTH:
            pct = format(e["growth_pct"], "g")
            return t._("📈 {group}: more than {pct}% more tickets week over week, {weeks} weeks running",
                       group=_group(e, t), pct=pct, weeks=len(e["growths"]))
        case Rule.BACKLOG:
            if e.get("open_above") is not None and e["open"] > e["open_above"]:
                return t._("📥 Backlog: {open} tickets open (over {limit})", open=e["open"], limit=e["open_above"])
            return t._("📥 Backlog: {count} tickets unassigned for over {age}", count=e["unassigned"],
                       age=e["older_than"])
        case _:
            return t._("👎 Rated {score}/5 on {number}: {title}", score=e["score"],
                       number=format_number(e["ticket_id"]), title=e["title"])


def _group(evidence: dict, t) -> str:
    group = evidence["group"]
    return category_label(group, t) if evidence["by"] == "category" else group


def _fields(alert: Alert, t, directory: Directory) -> list[Field]:
    e = alert.evidence

    def name(key: str | None) -> str:
        person = directory.person(key)
        return person.name if person else (key or "—")
    match alert.rule:
        case Rule.P0_CREATED:
            dept = directory.departments.get(e.get("department") or "")
            return [Field(t._("Customer"), e.get("customer") or "—"),
                    Field(t._("Department"), dept.name(t.language) if dept else "—"),
                    Field(t._("Assignee"), name(e.get("assignee")))]
        case Rule.REPEAT_CUSTOMER:
            return [Field(t._("Customer"), e["customer"]),
                    Field(t._("Tickets in {days} d", days=e["days"]), str(e["count"])),
                    Field(t._("Tickets"), tickets_line(e["tickets"], e["count"] - len(e["tickets"]), t))]
        case Rule.VOLUME_GROWTH:
            weeks = ", ".join(f"{week} {count}" for week, count, _days in e["weeks"])
            growths = " → ".join(f"+{g:g}%" for g in e["growths"])
            return [Field(t._("Owner"), name(e.get("owner"))), Field(t._("Tickets per week"), weeks),
                    Field(t._("Growth per business day"), growths)]
        case Rule.BACKLOG:
            fields = [Field(t._("Open"), str(e["open"]))]
            if e.get("older_than"):
                fields.append(Field(t._("Unassigned for over {age}", age=e["older_than"]), str(e["unassigned"])))
                if e["tickets"]:
                    fields.append(Field(t._("Oldest unassigned"),
                                        tickets_line(e["tickets"], e["unassigned"] - len(e["tickets"]), t)))
            return fields
        case _:
            return [Field(t._("Customer"), e.get("customer") or "—"), Field(t._("Assignee"), name(e.get("assignee"))),
                    Field(t._("Comment"), e.get("comment") or t._("(none yet)"))]


class AlertCards:
    """Builds alert cards at send time, from the stored alert (so an acknowledgement shows on every copy)."""

    def __init__(self, *, directory: Directory, timezone: str):
        self.directory, self.timezone = directory, timezone

    def build(self, alert: Alert, viewer: Viewer, language: str) -> Card:
        """The alert's card in `language`, with Acknowledge while it is open."""
        return alert_card(alert, t=translator(language), directory=self.directory, timezone=self.timezone)


def alert_card(alert: Alert, *, t, directory: Directory, timezone: str) -> Card:
    """Title, the evidence, when it was raised, and Acknowledge (or who acknowledged it)."""
    def when(at: datetime) -> str:
        return at.astimezone(ZoneInfo(timezone)).strftime("%m-%d %H:%M")
    fields = []
    if alert.acked_at is not None:
        person = directory.person(alert.acked_by)
        # First: WeCom shows only a card's first rows, and this is what every reader looks for.
        fields.append(Field(t._("Acknowledged by"), f"{person.name if person else alert.acked_by} · "
                                                    f"{when(alert.acked_at)}"))
    fields += _fields(alert, t, directory)
    buttons = () if alert.acked_at is not None else (
        Button(t._("Acknowledge"), actions.encode(alert.subject, ACKNOWLEDGE, alert.version), "primary"),)
    return Card(title=headline(alert, t, directory),
                subtitle=f"{alert.number} · {rule_name(alert.rule, t)} · {when(alert.raised_at)}",
                fields=tuple(fields), actions=buttons, subject=alert.subject, version=alert.version,
                footer=None if alert.acked_at is not None else t._("Acknowledge when someone is on it."),
                language=t.language)
