"""The neutral card model: small dataclasses every platform renderer understands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.subjects import Subject

Tone = Literal["ok", "warn", "breached", "paused", "none"]


@dataclass(frozen=True)
class Field:
    """A labelled value shown on a card."""

    label: str
    value: str


@dataclass(frozen=True)
class Badge:
    """A short status marker (the SLA clock slot)."""

    text: str
    tone: Tone = "none"


@dataclass(frozen=True)
class Button:
    """A button; `action` is encoded by cards.actions."""

    label: str
    action: str
    style: Literal["primary", "danger", "default"] = "default"


@dataclass(frozen=True)
class Option:
    """One choice of a select."""

    label: str
    value: str


@dataclass(frozen=True)
class Select:
    """A drop-down; `users` means the platform may offer its own people picker."""

    label: str
    action: str
    options: tuple[Option, ...]
    initial: str | None = None
    kind: Literal["static", "users"] = "static"


@dataclass(frozen=True)
class Image:
    """A picture on a card (e.g. a digest's chart): PNG bytes to upload, or a reference a platform handed out.

    The dispatcher uploads `data` through the messenger before rendering and puts the platform's reference
    (Slack file id, WeCom media id, a data: URL on the console) into `ref`, so renderers only ever see refs.
    """

    alt: str
    data: bytes | None = None
    ref: str | None = None
    filename: str = "image.png"


@dataclass(frozen=True)
class Card:
    """A rendered-agnostic card: title, fields, badge and the actions the viewer may take."""

    title: str
    fields: tuple[Field, ...] = ()
    subtitle: str | None = None
    badge: Badge | None = None
    actions: tuple[Button | Select, ...] = ()
    footer: str | None = None
    image: Image | None = None
    subject: Subject | None = None  # what the card shows (its buttons act on it)
    version: int | None = None
    notes: tuple[str, ...] = field(default=())
    language: str | None = None  # of its texts; for labels a platform renderer adds itself


FieldKind = Literal["text", "multiline", "select"]


@dataclass(frozen=True)
class FormField:
    """One input of a form: a line of text, several lines, or a choice among options; `name` keys its value."""

    name: str
    label: str
    kind: FieldKind = "text"
    options: tuple[Option, ...] = ()
    initial: str | None = None
    required: bool = False
    max_length: int = 3000  # Slack's plain_text_input takes no more; every platform keeps to it
    hint: str | None = None


@dataclass(frozen=True)
class Form:
    """A platform-agnostic form (Slack renders a modal, the console an in-page form; WeCom and DingTalk have none).

    `kind` routes the submission (handlers/forms.py); `subject` and `version` say what it edits, as seen when it
    opened, so a stale submission is refused like a stale press.
    """

    kind: str
    title: str
    fields: tuple[FormField, ...]
    submit: str
    cancel: str
    subject: Subject | None = None
    version: int | None = None
    intro: str | None = None  # a line above the fields (what is being answered or edited)
    language: str | None = None
