"""Forms, one seam for every kind: which control opens which form, how a kind's form is built, checked and applied.

A form is neutral (cards.model.Form); a platform with forms renders it (a Slack modal, the console's in-page form),
and its submission comes back as FormSubmitted, routed here by its kind through one table — a new kind of form is a
row. WeCom and DingTalk bots have no forms: there the same press answers, in the person's language, with the
message that does the same (its press handler's business, not this module's).

Checks run twice on purpose: before the submission is acknowledged (so Slack can show them inline, the console
beside the fields) and again when it is applied (a console call or a forged body may skip the first).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.events import ButtonPressed, CommandIssued, Event, FormKind, FormSubmitted
from bot.ports import Context
from bot.subjects import SubjectKind
from cards import actions
from cards.model import Form
from cards.request import ANSWER
from handlers import form_article, form_intake, form_request
from handlers.turn import Turn

# (turn, the id of the subject it edits; 0 for none) → the form for this person now, or None (it does not open:
# gone, settled, not theirs — the press then answers why, as on a platform without forms).
BuildForm = Callable[[Turn, int], Awaitable[Form | None]]
# (turn, the submission, its values by field name, checked) → applied, the delivery finished.
SubmitForm = Callable[[Turn, FormSubmitted, dict[str, str]], Awaitable[None]]
# (turn, the submission, its values) → a kind's own checks beyond the fields' (errors by field name).
CheckForm = Callable[[Turn, FormSubmitted, dict[str, str]], Awaitable[dict[str, str]]]


@dataclass(frozen=True)
class FormHandlers:
    """What a kind of form does: build it for a person, check a submission beyond its fields, apply it."""

    build: BuildForm
    submit: SubmitForm
    check: CheckForm | None = None


FORMS: dict[FormKind, FormHandlers] = {
    FormKind.INTAKE: FormHandlers(build=form_intake.build, submit=form_intake.submit),
    FormKind.REQUEST_ANSWER: FormHandlers(build=form_request.build, submit=form_request.submit),
    FormKind.ARTICLE_EDIT: FormHandlers(build=form_article.build, submit=form_article.submit,
                                        check=form_article.check),
}

# The card controls that open a form where the platform has forms: (subject kind, action) → the form's kind.
OPENERS: dict[tuple[SubjectKind, str], FormKind] = {
    (SubjectKind.REQUEST, ANSWER): FormKind.REQUEST_ANSWER,
    (SubjectKind.ARTICLE, form_article.EDIT): FormKind.ARTICLE_EDIT,
}


def opened_by(event: Event) -> tuple[FormKind, int] | None:
    """(the form's kind, its subject id) when `event` opens a form on a platform that has them; else None."""
    if isinstance(event, ButtonPressed):
        ref = actions.decode(event.action)
        kind = OPENERS.get((ref.kind, ref.action)) if ref is not None else None
        return (kind, ref.subject_id) if kind is not None else None
    if isinstance(event, CommandIssued) and form_intake.opens(event.text):
        return FormKind.INTAKE, 0
    return None


async def open_form(ctx: Context, event: Event) -> Form | None:
    """The form `event` opens for its actor now, or None (then the event is delivered as any other)."""
    opened = opened_by(event)
    if opened is None:
        return None
    kind, subject_id = opened
    return await FORMS[kind].build(Turn.begin(ctx, event), subject_id)


def _kind(event: FormSubmitted) -> FormKind | None:
    try:
        return FormKind(event.form)
    except ValueError:
        return None


def field_errors(form: Form, values: dict[str, str], t) -> dict[str, str]:
    """What is wrong with `values` against the form's fields: required, too long, a choice not offered."""
    errors = {}
    for field in form.fields:
        value = values.get(field.name)
        if not value:
            if field.required:
                errors[field.name] = t._("Fill in “{label}”.", label=field.label)
        elif len(value) > field.max_length:
            errors[field.name] = t._("Keep “{label}” under {limit} characters.", label=field.label,
                                     limit=field.max_length)
        elif field.kind == "select" and value not in {option.value for option in field.options}:
            errors[field.name] = t._("Choose one of the offered options.")
    return errors


async def _checked(turn: Turn, event: FormSubmitted) -> tuple[dict[str, str], dict[str, str]]:
    """(values of the form's fields, errors by field name) of a submission of a known kind."""
    handlers = FORMS[_kind(event)]
    form = await handlers.build(turn, event.subject_id or 0)
    if form is None:  # gone or settled since it opened: the kind's submit says so, as its chat command would
        return {name: value.strip() for name, value in event.fields.items()}, {}
    names = {field.name for field in form.fields}
    # Only the fields the form has; a field it left out (too long for a form) stays as it is.
    values = {name: value.strip() for name, value in event.fields.items() if name in names}
    errors = field_errors(form, values, turn.t)
    if not errors and handlers.check is not None:
        errors = await handlers.check(turn, event, values)
    return values, errors


async def check_submission(ctx: Context, event: FormSubmitted) -> dict[str, str]:
    """Errors by field name, in the submitter's language (empty when it may be delivered)."""
    if _kind(event) is None:
        return {}  # refused when processed, like a press of a kind without a handler
    turn = Turn.begin(ctx, event)
    return (await _checked(turn, event))[1]


async def handle_submission(turn: Turn, event: FormSubmitted) -> None:
    """Apply a submitted form through its kind's handler; errors (or an unknown kind) are answered, nothing changes."""
    if _kind(event) is None:
        await turn.answer(turn.t._("That choice is not valid."))
        return
    values, errors = await _checked(turn, event)
    if errors:
        await turn.answer("\n".join(errors.values()))
        return
    await FORMS[_kind(event)].submit(turn, event, values)
