"""The local web console: the fourth platform and the demo. Same neutral events and cards as every other."""

from __future__ import annotations

import base64
import logging
import uuid
from pathlib import Path
from typing import Annotated, Protocol

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.attachments import AttachmentLimits, Fetched, FileRefused, Refusal
from bot.config import Settings
from bot.directory import Directory, Role
from bot.events import (
    Actor,
    ButtonPressed,
    Conversation,
    ConversationKind,
    FileRef,
    FormSubmitted,
    MessagePosted,
    Platform,
)
from bot.i18n import SUPPORTED, translator
from bot.platforms import Wiring
from bot.platforms.console_files import ConsoleFiles
from bot.platforms.console_gate import install_gate
from bot.ports import Pacing
from bot.ports.inbound import Inbox
from bot.text import split_text
from cards.console import render_card, render_form, render_text
from cards.model import Card, Image

STATIC = Path(__file__).resolve().parent / "console_static"
HISTORY_LIMIT = 5000
# The console shows what a chat app would: a long text as several messages of at most as much as a person may
# type into the page (the send box's limit), cut at line boundaries.
TEXT_LIMIT = 4000
BOT_MENTION = "@ticketbot"  # how a person names the bot on the page
PAGE_LIMIT = 500  # messages per poll: a page with a long history catches up over a few polls


class _QuietPolling(logging.Filter):
    """Drops the access-log line of every successful poll (a page polls each second); errors stay in the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        line = getattr(record, "first_request_line", "")
        status = getattr(record, "response_status", 500)
        return not (line.startswith("GET /console/api/messages") and isinstance(status, int) and status < 400)


_QUIET_POLLING = _QuietPolling()


class ConsoleLog(Protocol):
    """Where the console keeps its messages (the database), so history and open pages outlive a restart."""

    async def console_post(self, message: dict, *, keep: int) -> str:
        """Store a message; returns its ref; keeps only the newest `keep`."""

    async def console_update(self, ref: str, html: str) -> bool:
        """Replace a message's html under a new change number; False when it is gone."""

    async def console_read(self, *, viewer: str, conversations: list[str], since: int,
                           limit: int) -> tuple[list[dict], int]:
        """Messages changed after `since` that `viewer` may see in `conversations`, and the newest change number."""

    async def console_epoch(self) -> str:
        """The identity of the log, new when the database is."""


class ConsoleHub:
    """The console's chat server: messages per conversation in the log, polled by the page."""

    def __init__(self, log: ConsoleLog, limit: int = HISTORY_LIMIT):
        self.log = log
        self.limit = limit
        self.channels: list[str] = []
        # Only these people see channels (the triage channel holds internal notes); customers see their DM.
        self.staff: set[str] = set()
        self._epoch: str | None = None

    async def post(self, conversation_id: str, *, thread_id: str | None = None, html: str, is_card: bool = False,
                   ephemeral_user: str | None = None, author: str = "ticketbot", bot: bool = True) -> str:
        """Store a message; returns its ref."""
        return await self.log.console_post({"conversation": conversation_id, "thread": thread_id, "html": html,
                                            "card": is_card, "ephemeral_user": ephemeral_user, "author": author,
                                            "bot": bot}, keep=self.limit)

    async def update(self, ref: str, html: str) -> bool:
        """Replace a card in place (a new seq, so polling pages see it); False for an unknown ref."""
        return await self.log.console_update(ref, html)

    async def record_human(self, conversation_id: str, author: str, text: str, thread_id: str | None = None) -> str:
        """What a person typed, so the page shows both sides (once per delivery: only a new one is recorded)."""
        return await self.post(conversation_id, thread_id=thread_id, html=render_text(text), author=author, bot=False)

    async def messages(self, viewer: str, since: int = 0) -> dict:
        """What `viewer` may see (channels if staff, own DM, own ephemerals) changed after `since`; seq; epoch."""
        # A page whose seq is above the log's newest, or whose epoch differs, read a log that is gone: it reloads.
        if self._epoch is None:
            self._epoch = await self.log.console_epoch()
        conversations = [viewer, *(self.channels if viewer in self.staff else [])]
        found, latest = await self.log.console_read(viewer=viewer, conversations=conversations, since=since,
                                                    limit=PAGE_LIMIT)
        return {"messages": found, "seq": latest, "epoch": self._epoch, "more": len(found) == PAGE_LIMIT}


class ConsoleMessenger:
    """Messenger for the console: renders cards to HTML and stores them in the hub."""

    platform = Platform.CONSOLE
    pacing = Pacing()  # an in-process page: no limits to keep

    def __init__(self, hub: ConsoleHub, files: ConsoleFiles | None = None):
        self.hub = hub
        self.files = files

    async def fetch_file(self, file: FileRef, *, max_bytes: int) -> Fetched:
        """An upload's bytes (kept when the page sent it)."""
        if self.files is None:
            raise FileRefused(Refusal.UNAVAILABLE, "the console takes no files here")
        return await self.files.fetch_file(file, max_bytes=max_bytes)

    async def send_file(self, target: Conversation, *, name: str, mime: str, data: bytes,
                        attachment_id: int | None = None) -> str:
        """The file shown inline in the conversation (a picture) or as a download link."""
        return await (self.files or ConsoleFiles(desk=None, hub=self.hub, limits=AttachmentLimits())).send_file(
            target, name=name, mime=mime, data=data, attachment_id=attachment_id)

    async def upload_image(self, target: Conversation, image: Image) -> str:
        """The picture as a data: URL (base64 PNG) that the card's <img> shows; nothing leaves the process."""
        return "data:image/png;base64," + base64.b64encode(image.data or b"").decode()

    async def post(self, target: Conversation, *, text: str | None = None, card: Card | None = None,
                   ephemeral_user: str | None = None) -> str:
        """Post text (a long one as several messages, in order; returns the first's ref) or a card."""
        if card is not None:
            return await self.hub.post(target.id, thread_id=target.thread_id, html=render_card(card), is_card=True,
                                       ephemeral_user=ephemeral_user)
        refs = [await self.hub.post(target.id, thread_id=target.thread_id, html=render_text(part),
                                    ephemeral_user=ephemeral_user) for part in split_text(text or "", TEXT_LIMIT)]
        return refs[0]

    async def update(self, target: Conversation, message_ref: str, card: Card) -> str:
        """Update in place; when the message is gone (trimmed from the history), post anew and return the new ref."""
        if await self.hub.update(message_ref, render_card(card)):
            return message_ref
        return await self.post(target, card=card)


def _(msgid: str) -> str:
    """Mark a msgid for extraction; translated per persona language when served."""
    return msgid


# The page's own words (its chrome), by element id or key; the page applies the set of the persona's language.
CHROME = {
    "you-are": _("You are"), "channels": _("Channels"), "dms": _("Direct messages"),
    "dm-with-bot": _("DM with ticketbot"), "placeholder": _("Type a message or a command, Enter to send"),
    "send": _("Send"), "replying": _("Replying in thread"), "reply-in-thread": _("💬 reply in thread"),
    "only-you": _("only you can see this"), "offline": _("Reconnecting to ticketbot…"),
    "hint-staff": _("Try /ticket help or /ticket list."), "hint-customer": _("Just write what is wrong."),
    "in-thread": _("replied in a thread:"), "attach": _("Attach files (or drop them here)"),
    "no-personas": _("No personas: give people or customers a console identity in the config "
                     "(identities: {console: alice}) and restart."),
    # Who a persona is, beside their name in the picker: their role and language in the reader's words.
    "role-customer": _("customer"), "role-agent": _("agent"), "role-lead": _("lead"), "role-manager": _("manager"),
    "role-colleague": _("colleague"), "lang-zh-CN": _("Chinese"), "lang-en": _("English"),
}


def chrome(languages: set[str]) -> dict[str, dict[str, str]]:
    """The page's words in each of `languages`."""
    return {language: {key: translator(language)._(msgid) for key, msgid in CHROME.items()} for language in languages}


# What a page may send, within what the database stores: no NUL (PostgreSQL refuses it in text), and ids no
# longer than their columns (conversations and threads 255 characters, people 200).
_NO_NUL = r"^[^\x00]*$"
_Id = Annotated[str, Field(min_length=1, max_length=200, pattern=_NO_NUL)]
_Place = Annotated[str, Field(min_length=1, max_length=255, pattern=_NO_NUL)]


class _SendBody(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    as_user: _Id = Field(alias="as")
    conversation: _Place
    text: str = Field(min_length=1, max_length=TEXT_LIMIT, pattern=_NO_NUL)
    thread: _Place | None = None
    id: _Id | None = None  # the delivery id, stored in 200 characters


class _PressBody(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    as_user: _Id = Field(alias="as")
    conversation: _Place
    ref: _Place | None = None
    action: _Id
    value: _Id | None = None
    thread: _Place | None = None
    id: _Id | None = None  # the delivery id, stored in 200 characters


class _FormBody(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    as_user: _Id = Field(alias="as")
    conversation: _Place
    thread: _Place | None = None
    form: _Id
    subject: int | None = Field(default=None, ge=0, le=2**31 - 1)
    version: int | None = Field(default=None, ge=0, le=2**31 - 1)
    # Values by field name; longer than any field takes is the form's own error ("keep it under …"), not a 400.
    fields: dict[Annotated[str, Field(max_length=100, pattern=_NO_NUL)],
                 Annotated[str, Field(max_length=20_000, pattern=_NO_NUL)]] = Field(max_length=50)
    id: _Id | None = None  # the delivery id: a resent submission is one


def personas(directory: Directory) -> list[dict]:
    """Everyone with a console identity: staff (highest role shown) and known customers."""
    order = [Role.MANAGER, Role.LEAD, Role.AGENT, Role.COLLEAGUE, Role.CUSTOMER]
    found = []
    for person in directory.people():
        user_id = person.identity_on(Platform.CONSOLE)
        if not user_id:
            continue
        role = next(r for r in order if r in person.roles)
        department = directory.find_department(person.department) if person.department else None
        found.append({"user_id": user_id, "name": person.name, "role": role.value,
                      "department": person.department, "language": directory.language_of(person),
                      "timezone": directory.timezone_of(person),  # the page shows times where the bot's texts do
                      "department_names": {lang: department.name(lang) for lang in SUPPORTED} if department else {}})
    return found


def first_persona(found: list[dict]) -> str | None:
    """Who the page opens as: the first customer (README's quick start begins as one), else the first persona."""
    customers = [p["user_id"] for p in found if p["role"] == Role.CUSTOMER.value]
    return (customers or [p["user_id"] for p in found] or [None])[0]


def message_event(body: _SendBody, actor: Actor, conversation: Conversation) -> MessagePosted:
    """A typed message → MessagePosted (addressed in the DM with the bot); the page's id makes a resend a repeat."""
    mentioned = body.text.lstrip().lower().startswith(BOT_MENTION)
    return MessagePosted(delivery_id=body.id or uuid.uuid4().hex, actor=actor, conversation=conversation,
                         text=body.text, addressed=conversation.kind is ConversationKind.DM or mentioned,
                         mentioned=mentioned)


def press_event(body: _PressBody, actor: Actor, conversation: Conversation) -> ButtonPressed:
    """A pressed button or chosen option → ButtonPressed."""
    return ButtonPressed(delivery_id=body.id or uuid.uuid4().hex, actor=actor, conversation=conversation,
                         action=body.action, value=body.value, message_ref=body.ref)


def form_event(body: _FormBody, actor: Actor, conversation: Conversation) -> FormSubmitted:
    """A submitted in-page form → FormSubmitted (the page's id makes a resend a repeat)."""
    return FormSubmitted(delivery_id=body.id or uuid.uuid4().hex, actor=actor, conversation=conversation,
                         form=body.form, fields=body.fields, subject_id=body.subject, version=body.version)


def mount(app: web.Application, router: Inbox, settings: Settings, wiring: Wiring) -> ConsoleMessenger:
    """Mount the console page and its JSON API (behind CONSOLE_TOKEN when set); returns the bot's side's messenger."""
    token = settings.console_token.get_secret_value() if settings.console_token else None
    install_gate(app, token=token)
    logging.getLogger("aiohttp.access").addFilter(_QUIET_POLLING)  # the same filter object: added once
    hub = ConsoleHub(wiring.console_log)
    config, directory = wiring.config, wiring.directory
    triage = config.triage_channels.get(Platform.CONSOLE, "triage")
    escalations = config.sla.escalation_channels.get(Platform.CONSOLE)
    hub.channels = [triage, *([escalations] if escalations and escalations != triage else [])]
    people = {p["user_id"]: p for p in personas(directory)}
    hub.staff = {user_id for user_id, p in people.items() if p["role"] != Role.CUSTOMER.value}

    def actor_and_conversation(user_id: str, conversation_id: str, thread: str | None):
        if user_id not in people:
            raise web.HTTPBadRequest(text=f"unknown persona '{user_id}'")
        if conversation_id != user_id and (conversation_id not in hub.channels or user_id not in hub.staff):
            raise web.HTTPBadRequest(text=f"'{user_id}' cannot write in '{conversation_id}'")
        kind = ConversationKind.DM if conversation_id == user_id else ConversationKind.CHANNEL
        actor = Actor(platform=Platform.CONSOLE, user_id=user_id, display_name=people[user_id]["name"])
        return actor, Conversation(platform=Platform.CONSOLE, id=conversation_id, kind=kind, thread_id=thread)

    async def parse(request: web.Request, model):
        try:
            return model.model_validate(await request.json())
        except (ValueError, ValidationError, RecursionError) as exc:  # RecursionError: JSON nested too deep
            raise web.HTTPBadRequest(text=f"invalid request: {type(exc).__name__}") from None

    async def index(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def get_personas(_request: web.Request) -> web.Response:
        languages = {p["language"] for p in people.values()} | {directory.default_language}
        return web.json_response({"personas": list(people.values()), "language": directory.default_language,
                                  "start": first_persona(list(people.values())),
                                  "channels": [{"id": c, "name": f"#{c}"} for c in hub.channels],
                                  "chrome": chrome(languages)})

    async def get_messages(request: web.Request) -> web.Response:
        viewer = request.query.get("as", "")
        if "\x00" in viewer or len(viewer) > 255:  # no persona is named so: nothing the database could look up
            raise web.HTTPBadRequest(text="as must name a persona")
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            raise web.HTTPBadRequest(text="since must be a number") from None
        since = min(max(since, 0), 2**31 - 1)  # the column's range: a wild number reads as "nothing newer"
        return web.json_response(await hub.messages(viewer, since))

    async def send(request: web.Request) -> web.Response:
        body = await parse(request, _SendBody)
        actor, conversation = actor_and_conversation(body.as_user, body.conversation, body.thread)
        event = message_event(body, actor, conversation)

        async def show_typed() -> None:  # the page shows what was typed, before the bot's answer
            await hub.record_human(conversation.id, actor.display_name, body.text, body.thread)
        fresh = await router.deliver(event, on_new=show_typed)
        return web.json_response({"ok": True} if fresh else {"ok": True, "duplicate": True})

    async def press(request: web.Request) -> web.Response:
        body = await parse(request, _PressBody)
        actor, conversation = actor_and_conversation(body.as_user, body.conversation, body.thread)
        event = press_event(body, actor, conversation)
        # A press that opens a form answers with it (the page shows it); opening one changes nothing, so it is
        # not recorded. When none opens for this persona now, the press is delivered: its handler says why.
        form = await router.form_for(event) if router.opens_form(event) else None
        if form is not None:
            return web.json_response({"ok": True, "form": {"html": render_form(form), "kind": form.kind}})
        fresh = await router.deliver(event)
        return web.json_response({"ok": True, "duplicate": not fresh})

    async def submit_form(request: web.Request) -> web.Response:
        body = await parse(request, _FormBody)
        actor, conversation = actor_and_conversation(body.as_user, body.conversation, body.thread)
        event = form_event(body, actor, conversation)
        errors = await router.check_form(event)
        if errors:  # beside the fields, in the persona's language; nothing recorded, nothing changed
            return web.json_response({"ok": False, "errors": errors}, status=422)
        fresh = await router.deliver(event)
        return web.json_response({"ok": True, "duplicate": not fresh})

    app.router.add_get("/", index)
    app.router.add_static("/static/console/", STATIC)
    app.router.add_get("/console/api/personas", get_personas)
    app.router.add_get("/console/api/messages", get_messages)
    app.router.add_post("/console/api/send", send)
    app.router.add_post("/console/api/press", press)
    app.router.add_post("/console/api/form", submit_form)
    files = ConsoleFiles(desk=wiring.files, hub=hub, limits=config.attachments) if wiring.files else None
    if files is not None:
        files.add_routes(app, router=router, who=actor_and_conversation)
    return ConsoleMessenger(hub, files)
