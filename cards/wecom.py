"""Pure renderer: neutral Card → WeCom template_card (button_interaction) or plain text where cards cannot go."""

from __future__ import annotations

from cards.model import Button, Card, Select

MAX_BUTTONS = 6  # WeCom's limit per card
MAX_ROWS = 6


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_template_card(card: Card, *, task_id: str) -> dict:
    """A button_interaction card: title, up to six rows, the buttons, and one drop-down (priority first)."""
    buttons = [c for c in card.actions if isinstance(c, Button)][:MAX_BUTTONS]
    selects = [c for c in card.actions if isinstance(c, Select) and c.kind == "static"]
    template = {
        "card_type": "button_interaction",
        "source": {"desc": "ticketbot"},
        "main_title": {"title": _short(card.title, 36), "desc": _short(card.badge.text if card.badge else "", 44)},
        # WeCom suggests short key names (5 Chinese characters); 12 keeps English labels readable.
        "horizontal_content_list": [{"keyname": _short(f.label, 12), "value": _short(f.value, 30)}
                                    for f in card.fields[:MAX_ROWS]],
        # Names the card message: unique per send (WeCom refuses one it has seen), kept by its updates.
        "task_id": task_id,
        "button_list": [{"text": _short(b.label, 10), "style": 1 if b.style == "primary" else 2, "key": b.action}
                        for b in buttons],
    }
    if card.subtitle:
        template["sub_title_text"] = _short(card.subtitle, 112)
    if selects:
        select = selects[0]
        template["button_selection"] = {
            "question_key": select.action, "title": _short(select.label, 10),
            "option_list": [{"id": o.value, "text": _short(o.label, 10)} for o in select.options[:10]],
            **({"selected_id": select.initial} if select.initial else {}),
        }
    if not buttons and "button_selection" not in template:
        # A card without controls still needs one: a harmless link-free button that just refreshes.
        template["card_type"] = "text_notice"
        template.pop("button_list")
        template["card_action"] = {"type": 0}
    return template


def render_text(card: Card) -> str:
    """The card as text, for app group chats (they cannot carry interactive cards)."""
    lines = [card.title]
    if card.badge:
        lines.append(card.badge.text)
    lines += [f"{f.label}: {f.value}" for f in card.fields]
    return "\n".join(lines)
