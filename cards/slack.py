"""Pure renderer: neutral Card → Slack Block Kit blocks (limits respected: 150-char header, 10 fields…)."""

from __future__ import annotations

from bot.i18n import translator
from cards.model import Button, Card, Select

_TONE_EMOJI = {"ok": "🟢", "warn": "🟠", "breached": "🔴", "paused": "⏸️", "none": "⚪"}


def _plain(text: str, limit: int) -> dict:
    return {"type": "plain_text", "text": text if len(text) <= limit else text[: limit - 1] + "…", "emoji": True}


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: &, < and > only."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _option(label: str, value: str) -> dict:
    return {"text": _plain(label, 75), "value": value[:150]}


def _button(control: Button) -> dict:
    element = {"type": "button", "text": _plain(control.label, 75), "action_id": control.action, "value": control.action}
    if control.style in ("primary", "danger"):
        element["style"] = control.style
    return element


def _labelled(label: str, element: dict) -> dict:
    """A drop-down with its label beside it: a select's placeholder is gone once it shows a value."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape(label)}*"[:3000]}, "accessory": element}


def _select_rows(control: Select, t) -> list[dict]:
    """The section blocks of one select: its label on the left, the drop-down as the accessory."""
    people = [o for o in control.options if o.value.startswith("p:")]
    others = [o for o in control.options if not o.value.startswith("p:")]
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
    """The card as Block Kit blocks."""
    blocks: list[dict] = [{"type": "header", "text": _plain(card.title, 150)}]
    if card.badge is not None:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"{_TONE_EMOJI.get(card.badge.tone, '')} *{escape(card.badge.text)}*"}]})
    if card.subtitle:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape(card.subtitle)[:3000]}})
    fields = [{"type": "mrkdwn", "text": f"*{escape(f.label)}*\n{escape(f.value)}"[:2000]} for f in card.fields]
    for start in range(0, len(fields), 10):
        blocks.append({"type": "section", "fields": fields[start:start + 10]})
    for note in card.notes:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(note)}]})
    if card.image is not None and card.image.ref:
        # The ref is the id of a file the bot uploaded (files.uploadV2): no public URL needed.
        blocks.append({"type": "image", "slack_file": {"id": card.image.ref}, "alt_text": card.image.alt[:2000] or " "})
    blocks += _controls(card)
    if card.footer:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(card.footer)}]})
    return blocks


def fallback_text(card: Card) -> str:
    """Plain text for notifications and clients that cannot show blocks."""
    badge = f" · {card.badge.text}" if card.badge else ""
    return f"{card.title}{badge}"
