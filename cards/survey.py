"""A CSAT survey's card: the question in the customer's language, the scale as buttons, Not solved, and the answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.csat import NOT_SOLVED, Survey, scores
from bot.i18n import translator
from bot.ports import Clock
from bot.subjects import Viewer
from bot.tickets import Ticket
from cards import actions
from cards.model import Button, Card, Field

RATE = "rate"  # the press's action is RATE + the number ("rate4"); "rate0" is Not solved


def rate_action(number: int) -> str:
    """The card action of answering `number` (0: not solved)."""
    return f"{RATE}{number}"


def pressed_number(action: str) -> int | None:
    """The number a survey action stands for, or None when it is not one."""
    digits = action[len(RATE):] if action.startswith(RATE) else ""
    return int(digits) if digits.isdigit() and len(digits) == 1 else None


@dataclass(frozen=True)
class SurveyView:
    """What a survey's card shows: the survey and its ticket."""

    survey: Survey
    ticket: Ticket

    @property
    def subject(self):
        """The survey's subject."""
        return self.survey.subject


def choice_label(number: int, scale: str, t) -> str:
    """How the card and the numbered prompt name a choice: '4', or 满意 / 一般 / 不满意, or Not solved."""
    if number == NOT_SOLVED:
        return t._("Not solved")
    if scale == "three":
        return {1: t._("Dissatisfied"), 2: t._("Neutral"), 3: t._("Satisfied")}[number]
    return str(number)


def score_text(survey: Survey, t) -> str:
    """'4 / 5', '满意 (5 / 5)' or 'Not solved': an answer as staff and the customer read it."""
    number = survey.number()
    if number is None:
        return "—"
    if number == NOT_SOLVED:
        return t._("Not solved")
    label = choice_label(number, survey.scale, t)
    return f"{survey.score} / 5" if survey.scale == "five" else f"{label} ({survey.score} / 5)"


def numbers_hint(scale: str, t) -> str:
    """Which number means what, for customers who cannot press (or would rather type)."""
    if scale == "five":
        return t._("1 (poor) … 5 (excellent); 0 = not solved")
    return t._(", ").join(f"{n} = {choice_label(n, scale, t)}" for n in [*scores(scale), NOT_SOLVED])


class SurveyCards:
    """Builds survey cards at send time: buttons while an answer may still be given or changed."""

    def __init__(self, *, clock: Clock, change_minutes: int):
        self.clock, self.change_minutes = clock, change_minutes

    def build(self, view: SurveyView, viewer: Viewer, language: str) -> Card:
        """The survey card in the customer's language (the customer is its only viewer)."""
        return survey_card(view, t=translator(language), now=self.clock.now(), change_minutes=self.change_minutes)


def survey_card(view: SurveyView, *, t, now: datetime, change_minutes: int) -> Card:
    """The question, the ticket it is about, the answer so far, and the buttons while they still count."""
    survey, ticket = view.survey, view.ticket
    fields = [Field(t._("Ticket"), f"{ticket.number} · {ticket.title}")]
    if survey.answered:
        fields.append(Field(t._("Your rating"), score_text(survey, t)))
    if survey.comment:
        fields.append(Field(t._("Your comment"), survey.comment))
    open_to_answer = (not survey.answered and not survey.expired(now)) or survey.may_change(now, change_minutes)
    buttons: list[Button] = []
    if open_to_answer:
        for number in scores(survey.scale):
            buttons.append(Button(choice_label(number, survey.scale, t),
                                  actions.encode(survey.subject, rate_action(number), survey.version),
                                  "primary" if number == survey.number() else "default"))
        buttons.append(Button(t._("Not solved"), actions.encode(survey.subject, rate_action(NOT_SOLVED),
                                                                survey.version), "danger"))
        # A field, not the footer: every surface shows fields, even where the buttons and the footer are dropped
        # (微信客服's text copy, a DingTalk outsider's markdown), so whoever cannot press reads how to answer.
        fields.append(Field(t._("Or reply with a number"), numbers_hint(survey.scale, t)))
        footer = None
    elif not survey.answered:
        footer = t._("This survey has closed. If you need more help, just write here.")
    else:
        footer = t._("Thank you for your feedback!")
    return Card(title=t._("How satisfied are you with our help?"), fields=tuple(fields), actions=tuple(buttons),
                footer=footer)


def timeline_words(entry_detail: dict[str, str], t) -> str:
    """A timeline line's words for a CSAT answer, in the reader's language."""
    event = entry_detail.get("event")
    scale = entry_detail.get("scale", "five")
    score = entry_detail.get("score")
    shown = (f"{score} / 5" if scale == "five" else
             next((f"{choice_label(n, scale, t)} ({score} / 5)" for n, s in scores(scale).items()
                   if str(s) == score), score or "?"))
    match event:
        case "rated":
            return t._("the customer rated it {score}", score=shown)
        case "changed":
            return t._("the customer changed the rating to {score}", score=shown)
        case "not_solved":
            return t._("the customer says it is not solved")
        case _:
            return t._("the customer commented on the rating:")
