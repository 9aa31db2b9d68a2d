"""A request's Answer form: the colleague's answer and an optional attachment note, applied as a chat answer is.

Where a platform has no forms (WeCom, DingTalk) the Answer press says how to answer by message instead.
"""

from __future__ import annotations

from bot.events import FormKind, FormSubmitted
from bot.requests import MAX_REQUEST_ID, Request, RequestAction
from cards.model import Form, FormField
from cards.request import status_text
from handlers import requests
from handlers.lifecycle import Refusal
from handlers.turn import Turn

ANSWER_LIMIT = 3000
NOTE_LIMIT = 500


async def _answerable(turn: Turn, request_id: int) -> tuple[Request | None, str | None]:
    """(the request, None) when this person may answer it now; else (it or None, why not in their words)."""
    t = turn.t
    async with turn.ctx.store.snapshot() as view:
        request = await view.get_request(request_id) if 0 < request_id <= MAX_REQUEST_ID else None
    if request is None:
        return None, t._("That choice is not valid.")
    if not request.is_open:
        return request, t._("{number}: {status}; nothing to do.", number=request.number,
                            status=status_text(request, t))
    try:
        requests.check_request_permission(turn, request, RequestAction.ANSWER)
    except Refusal as refusal:
        return request, refusal.message
    return request, None


async def build(turn: Turn, request_id: int) -> Form | None:
    """The answer form for the person asked (None when the request is settled or not theirs to answer)."""
    request, why_not = await _answerable(turn, request_id)
    if request is None or why_not is not None:
        return None
    t = turn.t
    return Form(
        kind=FormKind.REQUEST_ANSWER.value, title=t._("Answer {number}", number=request.number),
        intro=request.question, submit=t._("Send answer"), cancel=t._("Cancel"),
        subject=request.subject, version=request.version, language=t.language,
        fields=(FormField("answer", t._("Your answer"), "multiline", required=True, max_length=ANSWER_LIMIT),
                FormField("attachment", t._("Attachment note"), max_length=NOTE_LIMIT,
                          hint=t._("Optional: a link, or what a file you send separately shows."))))


def answer_text(values: dict[str, str]) -> str:
    """The answer as it lands on the ticket: the words, then the attachment note as a 📎 line."""
    note = values.get("attachment", "")
    return values.get("answer", "") + (f"\n📎 {note}" if note else "")


async def submit(turn: Turn, event: FormSubmitted, values: dict[str, str]) -> None:
    """The chat answer's own path (same timeline entry, notifications and version check as a press)."""
    await requests.act(turn, event.subject_id or 0, RequestAction.ANSWER, text=answer_text(values),
                       expected_version=event.version)


async def instructions(turn: Turn, request_id: int) -> None:
    """The Answer press where there is no form: how to answer by message (or why there is nothing to answer)."""
    request, why_not = await _answerable(turn, request_id)
    t = turn.t
    text = why_not or t._("Write your answer under this card, or: {command}",
                          command=t._("/ticket answer {number} <text>", number=request.number))
    await turn.answer(text)
