"""Pure renderer: neutral Card → HTML for the local web console (everything from data is escaped)."""

from __future__ import annotations

from html import escape

from cards.model import Button, Card, Form, FormField, Select


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


def _input(field: FormField) -> str:
    name = escape(field.name, quote=True)
    required = " required" if field.required else ""
    if field.kind == "select":
        options = ['<option value="">—</option>'] if not field.required or field.initial is None else []
        for option in field.options:
            selected = " selected" if option.value == field.initial else ""
            options.append(f'<option value="{escape(option.value, quote=True)}"{selected}>{escape(option.label)}'
                           "</option>")
        return f'<select class="sel" name="{name}"{required}>{"".join(options)}</select>'
    value = field.initial or ""
    if field.kind == "multiline":
        return (f'<textarea name="{name}" rows="5" maxlength="{field.max_length}"{required}>{escape(value)}'
                "</textarea>")
    return f'<input name="{name}" maxlength="{field.max_length}" value="{escape(value, quote=True)}"{required}>'


def render_form(form: Form) -> str:
    """The form as an HTML fragment the page shows over the conversation and posts back to the console API."""
    subject = form.subject.id if form.subject else ""
    version = form.version if form.version is not None else ""
    parts = [f'<form class="tb-form" data-form="{escape(form.kind, quote=True)}" data-subject="{subject}" '
             f'data-version="{version}">', f'<div class="form-title">{escape(form.title)}</div>']
    if form.intro:
        parts.append(f'<div class="form-intro">{render_text(form.intro)}</div>')
    for field in form.fields:
        mark = " *" if field.required else ""
        hint = f'<small class="form-hint">{escape(field.hint)}</small>' if field.hint else ""
        parts.append(f'<label class="form-field"><span class="form-label">{escape(field.label)}{mark}</span>'
                     f'{_input(field)}{hint}<small class="form-error" data-error-for="{escape(field.name, quote=True)}">'
                     "</small></label>")
    parts.append(f'<div class="form-buttons"><button type="submit" class="btn btn-primary">{escape(form.submit)}'
                 f'</button><button type="button" class="btn form-cancel">{escape(form.cancel)}</button></div></form>')
    return "".join(parts)
