"""Pure renderer: neutral Card → Slack Block Kit blocks, within Block Kit's limits (trimmed with '…').

Limits (docs.slack.dev/reference/block-kit/blocks; Slack answers `invalid_blocks`, e.g. "must be less than 3001
characters", beyond them): at most 50 blocks a message; a section's text 3,000 characters, its fields 10 of 2,000
each; a header 150; a context 10 elements; an actions block 25 elements; a button's text 75.
"""

from __future__ import annotations

from bot.directory import PERSON, parse_choice
from bot.i18n import translator
from bot.text import fit_text
from cards.model import Button, Card, Form, FormField, Select

_TONE_EMOJI = {"ok": "🟢", "warn": "🟠", "breached": "🔴", "paused": "⏸️", "none": "⚪"}
MAX_BLOCKS = 50
TEXT_LIMIT = 3_000  # a section's (or a context element's) text
FIELD_LIMIT = 2_000
FALLBACK_LIMIT = 3_000  # the notification text beside the blocks: a line or two is all anyone reads


def _plain(text: str, limit: int) -> dict:
    return {"type": "plain_text", "text": fit_text(text, limit), "emoji": True}


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: &, < and > only."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escaped(text: str, limit: int) -> str:
    """`text` escaped for mrkdwn in at most `limit` characters: trimmed before escaping, so no entity is cut."""
    return escape(fit_text(text, limit, size=lambda part: len(escape(part))))


def _mrkdwn(text: str, limit: int = TEXT_LIMIT) -> dict:
    return {"type": "mrkdwn", "text": _escaped(text, limit)}


def _option(label: str, value: str) -> dict:
    return {"text": _plain(label, 75), "value": value[:150]}


def _button(control: Button) -> dict:
    element = {"type": "button", "text": _plain(control.label, 75), "action_id": control.action, "value": control.action}
    if control.style in ("primary", "danger"):
        element["style"] = control.style
    return element


def _labelled(label: str, element: dict) -> dict:
    """A drop-down with its label beside it: a select's placeholder is gone once it shows a value."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_escaped(label, TEXT_LIMIT - 2)}*"},
            "accessory": element}


def _select_rows(control: Select, t) -> list[dict]:
    """The section blocks of one select: its label on the left, the drop-down as the accessory."""
    people = [o for o in control.options if parse_choice(o.value)[0] == PERSON]
    others = [o for o in control.options if parse_choice(o.value)[0] != PERSON]
    if control.kind == "users":
        # Slack's own people picker for the assignee, plus a short list of teams (departments) to hand to.
        rows = [_labelled(control.label, {"type": "users_select", "action_id": control.action,
                                          "placeholder": _plain(control.label, 150)})]
        if others:
            team = t._("Assign to a team")
            rows.append(_labelled(team, {"type": "static_select", "action_id": f"{control.action}:team",
                                         "placeholder": _plain(team, 150),
                                         "options": [_option(o.label, o.value) for o in others[:100]]}))
        return rows
    element = {"type": "static_select", "action_id": control.action, "placeholder": _plain(control.label, 150),
               "options": [_option(o.label, o.value) for o in (people + others)[:100]]}
    initial = next((o for o in control.options if o.value == control.initial), None)
    if initial is not None:
        element["initial_option"] = _option(initial.label, initial.value)
    return [_labelled(control.label, element)]


def _controls(card: Card) -> list[dict]:
    """The buttons in actions blocks (25 a block), then one labelled row per drop-down, in the card's order."""
    t = translator(card.language)
    buttons = [_button(c) for c in card.actions if isinstance(c, Button)]
    blocks = [{"type": "actions", "elements": buttons[start:start + 25]} for start in range(0, len(buttons), 25)]
    for control in card.actions:
        if isinstance(control, Select):
            blocks += _select_rows(control, t)
    if card.subject is not None:
        # Unique per message, as Slack requires; presses are decoded from the action id alone.
        for number, block in enumerate(blocks):
            block["block_id"] = f"{card.subject.kind.value}:{card.subject.id}:{number}"
    return blocks


def render_blocks(card: Card) -> list[dict]:
    """The card as Block Kit blocks (50 at most: notes beyond what fits are summed up in one '…' line)."""
    head: list[dict] = [{"type": "header", "text": _plain(card.title, 150)}]
    if card.badge is not None:
        emoji = _TONE_EMOJI.get(card.badge.tone, "")
        head.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"{emoji} *{_escaped(card.badge.text, TEXT_LIMIT - 10)}*"}]})
    if card.subtitle:
        head.append({"type": "section", "text": _mrkdwn(card.subtitle)})
    fields = [_field(f.label, f.value) for f in card.fields]
    for start in range(0, len(fields), 10):
        head.append({"type": "section", "fields": fields[start:start + 10]})
    tail: list[dict] = []
    if card.image is not None and card.image.ref:
        # The ref is the id of a file the bot uploaded (files.uploadV2): no public URL needed.
        tail.append({"type": "image", "slack_file": {"id": card.image.ref}, "alt_text": card.image.alt[:2000] or " "})
    tail += _controls(card)
    if card.footer:
        tail.append({"type": "context", "elements": [_mrkdwn(card.footer)]})
    notes = [{"type": "context", "elements": [_mrkdwn(note)]} for note in card.notes]
    room = MAX_BLOCKS - len(head) - len(tail)
    if len(notes) > room:  # the controls and the footer matter more than the oldest lines of a long list
        notes = notes[:max(room - 1, 0)] + [{"type": "context", "elements": [_mrkdwn("…")]}]
    return (head + notes + tail)[:MAX_BLOCKS]


def _field(label: str, value: str) -> dict:
    label_text = f"*{_escaped(label, 200)}*\n"
    return {"type": "mrkdwn", "text": label_text + _escaped(value, FIELD_LIMIT - len(label_text))}


def fallback_text(card: Card) -> str:
    """Plain text for notifications and clients that cannot show blocks."""
    badge = f" · {card.badge.text}" if card.badge else ""
    return fit_text(f"{card.title}{badge}", FALLBACK_LIMIT)


# A modal's limits (docs.slack.dev/reference/views/modal-views): a title, submit and close of 24 characters, 100
# blocks; an input's label and hint 2,000; a plain_text_input at most 3,000 characters; a select 100 options.
VIEW_TITLE_LIMIT = 24
INPUT_LIMIT = 3_000


def _input(field: FormField) -> dict | None:
    """One input block, its value read back by its block id (the field's name); None for a choice of nothing."""
    if field.kind == "select":
        if not field.options:
            return None
        element = {"type": "static_select", "action_id": "value",
                   "options": [_option(o.label, o.value) for o in field.options[:100]]}
        initial = next((o for o in field.options[:100] if o.value == field.initial), None)
        if initial is not None:
            element["initial_option"] = _option(initial.label, initial.value)
    else:
        element = {"type": "plain_text_input", "action_id": "value", "multiline": field.kind == "multiline",
                   "max_length": min(field.max_length, INPUT_LIMIT)}
        if field.initial:
            element["initial_value"] = field.initial[:INPUT_LIMIT]
    block = {"type": "input", "block_id": field.name, "optional": not field.required,
             "label": _plain(field.label, 2000), "element": element}
    if field.hint:
        block["hint"] = _plain(field.hint, 2000)
    return block


def render_view(form: Form, private_metadata: str) -> dict:
    """The form as a modal view for views.open; its kind is the callback id, what it edits rides in the metadata."""
    blocks = [{"type": "section", "text": _mrkdwn(form.intro)}] if form.intro else []
    blocks += [block for field in form.fields if (block := _input(field)) is not None]
    return {"type": "modal", "callback_id": form.kind, "private_metadata": private_metadata,
            "title": _plain(form.title, VIEW_TITLE_LIMIT), "submit": _plain(form.submit, VIEW_TITLE_LIMIT),
            "close": _plain(form.cancel, VIEW_TITLE_LIMIT), "blocks": blocks[:100]}
