"""The intake form: `/ticket new` without a title opens it; its submission opens a ticket as the command does."""

from __future__ import annotations

from bot.events import FormKind, FormSubmitted
from bot.i18n.labels import category_label, impact_label, priority_label
from bot.tickets import Impact, Priority
from cards.model import Form, FormField, Option
from handlers.commands import ALIASES, normalize
from handlers.intake import Intake, new_from_command
from handlers.turn import Turn

TITLE_LIMIT = 200


def opens(text: str) -> bool:
    """True for the words after the command word that open the form: `new` (in any of its words) and nothing else."""
    tokens = normalize(text).split()
    return len(tokens) == 1 and ALIASES.get(tokens[0].lower().lstrip("/")) == "new"


async def build(turn: Turn, _subject_id: int) -> Form:
    """The intake fields in the person's language (a form is theirs alone, unlike a card in a channel)."""
    t, config = turn.t, turn.ctx.config
    return Form(
        kind=FormKind.INTAKE.value, title=t._("New ticket"), submit=t._("Open ticket"), cancel=t._("Cancel"),
        language=t.language,
        fields=(
            FormField("title", t._("Title"), required=True, max_length=TITLE_LIMIT),
            FormField("description", t._("Description"), "multiline"),
            FormField("priority", t._("Priority"), "select",
                      tuple(Option(priority_label(p, t), p.value) for p in Priority),
                      initial=config.intake.default_priority.value),
            FormField("category", t._("Category"), "select",
                      tuple(Option(category_label(c, t), c) for c in config.categories)),
            FormField("product_module", t._("Module"), max_length=200),
            FormField("impact", t._("Impact"), "select", tuple(Option(impact_label(i, t), i.value) for i in Impact),
                      initial=Impact.ONE_USER.value),
            FormField("customer", t._("Customer"), max_length=200),
        ))


async def submit(turn: Turn, _event: FormSubmitted, values: dict[str, str]) -> None:
    """The same path as `/ticket new`, with more fields."""
    await new_from_command(turn, Intake(
        title=values.get("title", ""), description=values.get("description", ""),
        priority=Priority(values["priority"]) if values.get("priority") else None,
        category=values.get("category") or None, product_module=values.get("product_module") or None,
        impact=Impact(values["impact"]) if values.get("impact") else Impact.ONE_USER,
        customer=values.get("customer") or None))
