"""Pure renderer: neutral Card → Slack Block Kit blocks (limits respected: 150-char header, 10 fields…)."""

from __future__ import annotations

from cards.model import Button, Card, Select

_TONE_EMOJI = {"ok": "🟢", "warn": "🟠", "breached": "🔴", "paused": "⏸️", "none": "⚪"}


def _plain(text: str, limit: int) -> dict:
    return {"type": "plain_text", "text": text if len(text) <= limit else text[: limit - 1] + "…", "emoji": True}


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: &, < and > only."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _option(label: str, value: str) -> dict:
    return {"text": _plain(label, 75), "value": value[:150]}


def _element(control: Button | Select) -> list[dict]:
    if isinstance(control, Button):
        element = {"type": "button", "text": _plain(control.label, 75), "action_id": control.action,
                   "value": control.action}
        if control.style in ("primary", "danger"):
            element["style"] = control.style
        return [element]
    people = [o for o in control.options if o.value.startswith("p:")]
    others = [o for o in control.options if not o.value.startswith("p:")]
    if control.kind == "users":
        # Slack's own people picker for the assignee, plus a short list of teams (departments) to hand to.
        elements = [{"type": "users_select", "action_id": control.action, "placeholder": _plain(control.label, 150)}]
        if others:
            elements.append({"type": "static_select", "action_id": f"{control.action}:team",
                             "placeholder": _plain("👥", 150),
                             "options": [_option(o.label, o.value) for o in others[:100]]})
        return elements
    element = {"type": "static_select", "action_id": control.action, "placeholder": _plain(control.label, 150),
               "options": [_option(o.label, o.value) for o in (people + others)[:100]]}
    initial = next((o for o in control.options if o.value == control.initial), None)
    if initial is not None:
        element["initial_option"] = _option(initial.label, initial.value)
    return [element]


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
    elements = [element for control in card.actions for element in _element(control)]
    for start in range(0, len(elements), 25):
        block = {"type": "actions", "elements": elements[start:start + 25]}
        if card.subject is not None:
            block["block_id"] = f"{card.subject.kind.value}:{card.subject.id}:{start // 25}"
        blocks.append(block)
    if card.footer:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(card.footer)}]})
    return blocks


def fallback_text(card: Card) -> str:
    """Plain text for notifications and clients that cannot show blocks."""
    badge = f" · {card.badge.text}" if card.badge else ""
    return f"{card.title}{badge}"
