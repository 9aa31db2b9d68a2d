"""Pure renderer: neutral Card → HTML for the local web console (everything from data is escaped)."""

from __future__ import annotations

from html import escape

from cards.model import Button, Card, Select


def render_text(text: str) -> str:
    """Escaped text with line breaks kept."""
    return escape(text).replace("\n", "<br>")


def _control(control: Button | Select) -> str:
    action = escape(control.action, quote=True)
    if isinstance(control, Button):
        return f'<button class="btn btn-{escape(control.style)}" data-action="{action}">{escape(control.label)}</button>'
    options = [f'<option value="" disabled{"" if control.initial else " selected"}>{escape(control.label)} ▾</option>']
    for option in control.options:
        selected = " selected" if option.value == control.initial else ""
        options.append(f'<option value="{escape(option.value, quote=True)}"{selected}>{escape(option.label)}</option>')
    # A select showing its value hides its placeholder: the label stays beside it, as every platform shows one.
    return (f'<label class="sel-wrap"><span class="sel-label">{escape(control.label)}</span>'
            f'<select class="sel" data-action="{action}" title="{escape(control.label, quote=True)}">'
            f'{"".join(options)}</select></label>')


def render_card(card: Card) -> str:
    """The card as an HTML fragment with `data-action` controls."""
    parts = ['<div class="card">', f'<div class="card-title">{escape(card.title)}</div>']
    if card.badge is not None:
        parts.append(f'<span class="badge badge-{escape(card.badge.tone)}">{escape(card.badge.text)}</span>')
    if card.subtitle:
        parts.append(f'<div class="card-sub">{render_text(card.subtitle)}</div>')
    if card.fields:
        parts.append('<dl class="card-fields">')
        for field in card.fields:
            parts.append(f"<div><dt>{escape(field.label)}</dt><dd>{escape(field.value)}</dd></div>")
        parts.append("</dl>")
    for note in card.notes:
        parts.append(f'<div class="card-note">{render_text(note)}</div>')
    if card.image is not None and (card.image.ref or "").startswith("data:image/"):
        # Only a data: URL the console messenger made: a ref from elsewhere could point the page anywhere.
        parts.append(f'<img class="card-image" src="{escape(card.image.ref, quote=True)}" '
                     f'alt="{escape(card.image.alt, quote=True)}">')
    if card.actions:
        parts.append('<div class="card-actions">' + "".join(_control(c) for c in card.actions) + "</div>")
    if card.footer:
        parts.append(f'<div class="card-footer">{render_text(card.footer)}</div>')
    parts.append("</div>")
    return "".join(parts)
