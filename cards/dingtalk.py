"""Pure renderer: neutral Card → DingTalk interactive card data (the robot's StandardCard), or markdown / text.

Interactive cards (互动卡片) carry buttons whose presses come back as card callbacks naming the button's id, so
every control's id is our action id; a drop-down becomes a row of option buttons (the current one highlighted)
whose ids carry the chosen value after '='. Surfaces that take no interactive card (a customer reached only
through the conversation's sessionWebhook) get the card as markdown with the ticket's state and no buttons.
"""

from __future__ import annotations

import json

from bot.text import fit_text, utf8_size
from cards.model import Button, Card, Select

TEMPLATE = "StandardCard"  # the robot's built-in card template: no template of our own to create or maintain
MAX_BUTTONS = 8  # per action row, beyond which the card gets crowded on a phone
MAX_OPTIONS = 10
CHOICE = "="  # between a drop-down's action id and the option chosen, in an option button's id
STYLES = {"primary": "primary", "danger": "warning", "default": "normal"}
# msgParam / cardData are JSON strings of at most 15,000 bytes (DingTalk's limit): keep each text well under it.
TEXT_BYTES = 3000


def _short(text: str, limit: int) -> str:
    return fit_text(text, limit)


def option_id(select: Select, value: str) -> str:
    """The id of the button that chooses `value` in `select`."""
    return f"{select.action}{CHOICE}{value}"


def parse_control(control_id: str) -> tuple[str, str | None]:
    """(action id, chosen value or None) of a pressed control's id."""
    action, sep, value = control_id.partition(CHOICE)
    return (action, value) if sep else (action, None)


def _button(label: str, control_id: str, status: str) -> dict:
    return {"type": "button", "label": {"type": "text", "text": _short(label, 12)}, "actionType": "request",
            "status": status, "id": control_id}


def _summary(card: Card) -> str:
    lines = []
    if card.badge:
        lines.append(f"**{card.badge.text}**")
    if card.subtitle:
        lines.append(card.subtitle)
    lines += [f"**{f.label}**: {f.value}" for f in card.fields]
    return fit_text("\n\n".join(lines), TEXT_BYTES, size=utf8_size)


def render_card_data(card: Card) -> dict:
    """The card as StandardCard data: title, state, picture, buttons and a row of options per drop-down."""
    contents: list[dict] = []
    if summary := _summary(card):
        contents.append({"type": "markdown", "text": summary, "id": "summary"})
    if card.image is not None and card.image.ref:
        contents.append({"type": "image", "image": card.image.ref, "id": "image"})
    buttons = [c for c in card.actions if isinstance(c, Button)][:MAX_BUTTONS]
    if buttons:
        contents.append({"type": "action", "id": "buttons",
                         "actions": [_button(b.label, b.action, STYLES[b.style]) for b in buttons]})
    for number, select in enumerate(c for c in card.actions if isinstance(c, Select)):
        options = select.options[:MAX_OPTIONS]
        if not options:
            continue
        contents.append({"type": "markdown", "text": f"**{select.label}**", "id": f"choice{number}"})
        contents.append({"type": "action", "id": f"options{number}",
                         "actions": [_button(o.label, option_id(select, o.value),
                                             "primary" if o.value == select.initial else "normal") for o in options]})
    notes = [*card.notes, *([card.footer] if card.footer else [])]
    if notes:
        contents.append({"type": "markdown", "text": fit_text("\n\n".join(notes), TEXT_BYTES, size=utf8_size),
                         "id": "notes"})
    return {"config": {"autoLayout": True, "enableForward": True},
            "header": {"title": {"type": "text", "text": _short(card.title, 60)}},
            "contents": contents}


def card_data_json(card: Card) -> str:
    """render_card_data as the JSON string DingTalk's card APIs take."""
    return json.dumps(render_card_data(card), ensure_ascii=False)


def render_markdown(card: Card) -> tuple[str, str]:
    """(title, markdown) of the card for surfaces without interactive cards: the state, no buttons."""
    text = f"### {card.title}\n\n{_summary(card)}"
    if card.image is not None and card.image.ref and card.image.ref.startswith("http"):
        text += f"\n\n![{card.image.alt}]({card.image.ref})"
    return _short(card.title, 60), fit_text(text, TEXT_BYTES, size=utf8_size)


def render_text(card: Card) -> str:
    """The card as plain text."""
    lines = [card.title]
    if card.badge:
        lines.append(card.badge.text)
    lines += [f"{f.label}: {f.value}" for f in card.fields]
    return "\n".join(lines)
