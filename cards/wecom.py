"""Pure renderer: neutral Card → WeCom template_card, or plain text where cards cannot go.

A member's card is a button_interaction (the buttons and one drop-down). WeCom allows one drop-down there,
so a card with more choices gets a "More…" button; pressed, the same card shows them all as a
multiple_interaction (up to three drop-downs and a Save button), and saving brings the buttons back.
"""

from __future__ import annotations

from bot.i18n import translator
from bot.subjects import Subject
from bot.text import fit_text, utf8_size
from cards import actions
from cards.model import Button, Card, Select

MAX_BUTTONS = 6  # WeCom's limits per card
MAX_ROWS = 6
MAX_SELECTS = 3  # multiple_interaction select_list
MAX_OPTIONS = 10  # per drop-down
EXPANDED, COLLAPSED = "more", "less"  # the layouts a view action asks for


def _short(text: str, limit: int) -> str:
    return fit_text(text, limit)


def fit_bytes(text: str, limit: int) -> str:
    """`text` cut to `limit` UTF-8 bytes on a character boundary, with '…' (WeCom counts content in bytes)."""
    return fit_text(text, limit, size=utf8_size)


def _selects(card: Card) -> list[Select]:
    # Priority first: the one choice that fits beside the buttons is the one changed most.
    selects = [c for c in card.actions if isinstance(c, Select)]
    return sorted(selects, key=lambda s: getattr(actions.decode(s.action), "action", None) != "priority")


def _options(select: Select) -> list[dict]:
    return [{"id": o.value, "text": _short(o.label, 16)} for o in select.options[:MAX_OPTIONS]]


def _head(card: Card, task_id: str) -> dict:
    template = {
        "source": {"desc": "ticketbot"},
        "main_title": {"title": _short(card.title, 36), "desc": _short(card.badge.text if card.badge else "", 44)},
        # WeCom suggests short key names (5 Chinese characters); 12 keeps English labels readable.
        "horizontal_content_list": [{"keyname": _short(f.label, 12), "value": _short(f.value, 30)}
                                    for f in card.fields[:MAX_ROWS]],
        # Names the card message: unique per send (WeCom refuses one it has seen), kept by its updates.
        "task_id": task_id,
    }
    if card.subtitle:
        template["sub_title_text"] = _short(card.subtitle, 112)
    return template


def can_expand(card: Card) -> bool:
    """True when the card has more choices than fit beside its buttons."""
    return len(_selects(card)) > 1


def render_template_card(card: Card, *, task_id: str, expanded: bool = False) -> dict:
    """The card as WeCom shows it: buttons and one drop-down, or (expanded) all its drop-downs and Save."""
    if expanded and can_expand(card):
        return _render_choices(card, task_id)
    t = translator(card.language)
    selects = _selects(card)
    buttons = [c for c in card.actions if isinstance(c, Button)]
    more = [{"text": _short(t._("More…"), 10), "style": 2,
             "key": _view_key(card, EXPANDED)}] if can_expand(card) else []
    template = {"card_type": "button_interaction", **_head(card, task_id),
                "button_list": [{"text": _short(b.label, 10), "style": 1 if b.style == "primary" else 2,
                                 "key": b.action} for b in buttons][:MAX_BUTTONS - len(more)] + more}
    if selects:
        select = selects[0]
        template["button_selection"] = {"question_key": select.action, "title": _short(select.label, 10),
                                        "option_list": _options(select),
                                        **({"selected_id": select.initial} if select.initial else {})}
    if not template["button_list"] and "button_selection" not in template:
        # A card without controls (e.g. the customer's copy) is a plain notice; WeCom needs a card_action.
        template["card_type"] = "text_notice"
        template.pop("button_list")
        template["card_action"] = {"type": 0}
    return template


def _render_choices(card: Card, task_id: str) -> dict:
    t = translator(card.language)
    select_list = []
    for select in _selects(card)[:MAX_SELECTS]:
        choice = {"question_key": select.action, "title": _short(select.label, 10), "option_list": _options(select)}
        if select.initial in {o.value for o in select.options[:MAX_OPTIONS]}:
            choice["selected_id"] = select.initial
        select_list.append(choice)
    # multiple_interaction has no rows of fields: the title names the ticket, the drop-downs show its state.
    head = {key: value for key, value in _head(card, task_id).items() if key in ("source", "main_title", "task_id")}
    return {"card_type": "multiple_interaction", **head, "select_list": select_list,
            "submit_button": {"text": _short(t._("Save"), 10), "key": _view_key(card, COLLAPSED)}}


def render_text(card: Card) -> str:
    """The card as text, for app group chats and 微信客服 (they cannot carry interactive cards)."""
    lines = [card.title]
    if card.badge:
        lines.append(card.badge.text)
    if card.subtitle:
        lines.append(card.subtitle)
    lines += [f"{f.label}: {f.value}" for f in card.fields]
    return "\n".join([*lines, *card.notes, *([card.footer] if card.footer else [])])


def overflow_text(card: Card) -> str | None:
    """What a report card (one without controls: figures, a digest) cannot show as a template card — rows past its
    six, the notes (breached tickets, top lists), the footer — as the text that follows it; else None.

    A card with controls is kept up to date in place, where a text beside it would go stale: it shows its six."""
    if card.actions:
        return None
    lines = [f"{f.label}: {f.value}" for f in card.fields[MAX_ROWS:]]
    lines += [*card.notes, *([card.footer] if card.footer else [])]
    return "\n".join([card.title, *lines]) if lines else None


def _view_key(card: Card, layout: str) -> str:
    """The key of a control that shows this copy of the card again, in `layout`."""
    subject = card.subject or Subject.ticket(0)
    return actions.encode(subject, actions.VIEW, card.version or 0, variant=layout)
