"""The Slack intake modal for `/ticket new` without text: build the view, read and validate a submission."""

from __future__ import annotations

import json

from bot.i18n import translator
from bot.i18n.labels import category_label, impact_label, priority_label
from bot.tickets import Impact, Priority

INTAKE_CALLBACK = "ticket_new"
TITLE_LIMIT = 200


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text[:150], "emoji": True}


def _select(block_id: str, label: str, options: list[tuple[str, str]], *, initial: str | None = None,
            optional: bool = True) -> dict:
    element = {"type": "static_select", "action_id": "value",
               "options": [{"text": _plain(text), "value": value} for text, value in options]}
    if initial:
        element["initial_option"] = next({"text": _plain(t), "value": v} for t, v in options if v == initial)
    return {"type": "input", "block_id": block_id, "optional": optional, "label": _plain(label), "element": element}


def _text(block_id: str, label: str, *, multiline: bool = False, optional: bool = True) -> dict:
    return {"type": "input", "block_id": block_id, "optional": optional, "label": _plain(label),
            "element": {"type": "plain_text_input", "action_id": "value", "multiline": multiline}}


def intake_modal(channel_id: str, config) -> dict:
    """The modal with the intake fields, in the workspace's language; channel and language ride in private_metadata."""
    t = translator(config.language)
    return {
        "type": "modal",
        "callback_id": INTAKE_CALLBACK,
        "private_metadata": json.dumps({"channel": channel_id, "language": t.language}),
        "title": _plain(t._("New ticket")),
        "submit": _plain(t._("Open ticket")),
        "close": _plain(t._("Cancel")),
        "blocks": [
            _text("title", t._("Title"), optional=False),
            _text("description", t._("Description"), multiline=True),
            _select("priority", t._("Priority"), [(priority_label(p, t), p.value) for p in Priority],
                    initial=config.intake.default_priority.value),
            _select("category", t._("Category"), [(category_label(c, t), c) for c in config.categories]),
            _text("product_module", t._("Module")),
            _select("impact", t._("Impact"), [(impact_label(i, t), i.value) for i in Impact],
                    initial=Impact.ONE_USER.value),
            _text("customer", t._("Customer")),
        ],
    }


def read_intake(view: dict) -> tuple[dict[str, str], dict[str, str], str]:
    """(fields, errors by block id, channel id) from a view_submission; errors are shown inline."""
    values = view.get("state", {}).get("values", {})
    fields: dict[str, str] = {}
    for block_id, actions in values.items():
        state = actions.get("value", {})
        chosen = (state.get("selected_option") or {}).get("value") if state.get("type") == "static_select" else state.get("value")
        if chosen:
            fields[block_id] = chosen.strip()
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    t = translator(meta.get("language"))
    errors = {}
    if not fields.get("title"):
        errors["title"] = t._("A ticket needs a title.")
    elif len(fields["title"]) > TITLE_LIMIT:
        errors["title"] = t._("Keep the title under {limit} characters.", limit=TITLE_LIMIT)
    return fields, errors, meta.get("channel", "")
