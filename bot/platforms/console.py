"""The local web console: the fourth platform and the demo. Same neutral events and cards as every other."""

from __future__ import annotations

import base64
import itertools
import uuid
from collections import OrderedDict
from pathlib import Path

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.config import Settings
from bot.directory import Directory, Role
from bot.events import Actor, ButtonPressed, Conversation, ConversationKind, MessagePosted, Platform
from bot.platforms import Wiring
from bot.ports import Pacing
from cards.console import render_card, render_text
from cards.model import Card, Image
from handlers.router import Inbox

STATIC = Path(__file__).resolve().parent / "console_static"
HISTORY_LIMIT = 2000


class ConsoleHub:
    """In-memory chat server of the console: messages per conversation, polled by the page."""

    def __init__(self, limit: int = HISTORY_LIMIT):
        self._messages: OrderedDict[str, dict] = OrderedDict()
        self._seq = itertools.count(1)
        self._refs = itertools.count(1)
        self.limit = limit
        self.channels: list[str] = []
        # Only these people see channels (the triage channel holds internal notes); customers see their DM.
        self.staff: set[str] = set()

    def _store(self, message: dict) -> dict:
        message["seq"] = next(self._seq)
        self._messages[message["ref"]] = message
        self._messages.move_to_end(message["ref"])
        while len(self._messages) > self.limit:
            self._messages.popitem(last=False)
        return message

    def post(self, conversation_id: str, *, thread_id: str | None = None, html: str, is_card: bool = False,
             ephemeral_user: str | None = None, author: str = "ticketbot", bot: bool = True) -> str:
        """Store a message; returns its ref."""
        ref = f"c{next(self._refs)}"
        self._store({"ref": ref, "conversation": conversation_id, "thread": thread_id, "html": html,
                     "card": is_card, "ephemeral_user": ephemeral_user, "author": author, "bot": bot})
        return ref

    def update(self, ref: str, html: str) -> None:
        """Replace a card in place (a new seq, so polling pages see it); KeyError for an unknown ref."""
        message = self._messages[ref]
        message["html"] = html
        self._store(message)

    def record_human(self, conversation_id: str, author: str, text: str, thread_id: str | None = None,
                     *, delivery_id: str | None = None) -> str:
        """What a person typed, so the page shows both sides; once per delivery id (a resend shows nothing new)."""
        ref = f"h:{delivery_id}" if delivery_id else f"c{next(self._refs)}"
        if ref not in self._messages:
            self._store({"ref": ref, "conversation": conversation_id, "thread": thread_id, "html": render_text(text),
                         "card": False, "ephemeral_user": None, "author": author, "bot": False})
        return ref

    def messages(self, viewer: str, since: int = 0) -> list[dict]:
        """Messages `viewer` may see (channels if staff, their own DM; ephemeral ones only theirs) after `since`."""
        visible = []
        for message in self._messages.values():
            if message["seq"] <= since:
                continue
            if message["ephemeral_user"] not in (None, viewer):
                continue
            conversation = message["conversation"]
            in_channel = conversation in self.channels and viewer in self.staff
            if not in_channel and conversation != viewer:
                continue
            visible.append(message)
        return sorted(visible, key=lambda m: m["seq"])

    @property
    def latest(self) -> int:
        """The highest seq handed out."""
        return max((m["seq"] for m in self._messages.values()), default=0)


class ConsoleMessenger:
    """Messenger for the console: renders cards to HTML and stores them in the hub."""

    platform = Platform.CONSOLE
    pacing = Pacing()  # an in-process page: no limits to keep

    def __init__(self, hub: ConsoleHub):
        self.hub = hub

    async def upload_image(self, target: Conversation, image: Image) -> str:
        """The picture as a data: URL (base64 PNG) that the card's <img> shows; nothing leaves the process."""
        return "data:image/png;base64," + base64.b64encode(image.data or b"").decode()

    async def post(self, target: Conversation, *, text: str | None = None, card: Card | None = None,
                   ephemeral_user: str | None = None) -> str:
        """Post text or a card."""
        html = render_card(card) if card is not None else render_text(text or "")
        return self.hub.post(target.id, thread_id=target.thread_id, html=html, is_card=card is not None,
                             ephemeral_user=ephemeral_user)

    async def update(self, target: Conversation, message_ref: str, card: Card) -> str:
        """Update in place; after a restart the old message is gone, so post anew and return the new ref."""
        try:
            self.hub.update(message_ref, render_card(card))
            return message_ref
        except KeyError:
            return await self.post(target, card=card)


class _SendBody(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    as_user: str = Field(alias="as", min_length=1)
    conversation: str = Field(min_length=1)
    text: str = Field(min_length=1, max_length=4000)
    thread: str | None = None
    id: str | None = Field(default=None, max_length=200)  # the delivery id, stored in 200 characters


class _PressBody(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    as_user: str = Field(alias="as", min_length=1)
    conversation: str = Field(min_length=1)
    ref: str | None = None
    action: str = Field(min_length=1)
    value: str | None = None
    thread: str | None = None
    id: str | None = Field(default=None, max_length=200)  # the delivery id, stored in 200 characters


def personas(directory: Directory) -> list[dict]:
    """Everyone with a console identity: staff (highest role shown) and known customers."""
    order = [Role.MANAGER, Role.LEAD, Role.AGENT, Role.COLLEAGUE, Role.CUSTOMER]
    found = []
    for person in directory.people():
        user_id = person.identity_on(Platform.CONSOLE)
        if not user_id:
            continue
        role = next(r for r in order if r in person.roles)
        found.append({"user_id": user_id, "name": person.name, "role": role.value,
                      "department": person.department, "language": directory.language_of(person)})
    return found


def message_event(body: _SendBody, actor: Actor, conversation: Conversation) -> MessagePosted:
    """A typed message → MessagePosted (addressed in the DM with the bot); the page's id makes a resend a repeat."""
    return MessagePosted(delivery_id=body.id or uuid.uuid4().hex, actor=actor, conversation=conversation,
                         text=body.text, addressed=conversation.kind is ConversationKind.DM)


def press_event(body: _PressBody, actor: Actor, conversation: Conversation) -> ButtonPressed:
    """A pressed button or chosen option → ButtonPressed."""
    return ButtonPressed(delivery_id=body.id or uuid.uuid4().hex, actor=actor, conversation=conversation,
                         action=body.action, value=body.value, message_ref=body.ref)


def mount(app: web.Application, router: Inbox, settings: Settings, wiring: Wiring) -> ConsoleMessenger:
    """Mount the console page and its JSON API; returns the messenger that shows the bot's side."""
    hub = ConsoleHub()
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
        return web.json_response({"personas": list(people.values()),
                                  "channels": [{"id": c, "name": f"#{c}"} for c in hub.channels]})

    async def get_messages(request: web.Request) -> web.Response:
        viewer = request.query.get("as", "")
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            raise web.HTTPBadRequest(text="since must be a number") from None
        return web.json_response({"messages": hub.messages(viewer, since), "seq": hub.latest})

    async def send(request: web.Request) -> web.Response:
        body = await parse(request, _SendBody)
        actor, conversation = actor_and_conversation(body.as_user, body.conversation, body.thread)
        event = message_event(body, actor, conversation)

        async def show_typed() -> None:  # the console's acknowledgement: the page shows what was typed
            hub.record_human(conversation.id, actor.display_name, body.text, body.thread, delivery_id=event.delivery_id)
        fresh = await router.deliver(event, show_typed)
        return web.json_response({"ok": True} if fresh else {"ok": True, "duplicate": True})

    async def press(request: web.Request) -> web.Response:
        body = await parse(request, _PressBody)
        actor, conversation = actor_and_conversation(body.as_user, body.conversation, body.thread)
        fresh = await router.deliver(press_event(body, actor, conversation))
        return web.json_response({"ok": True, "duplicate": not fresh})

    app.router.add_get("/", index)
    app.router.add_static("/static/console/", STATIC)
    app.router.add_get("/console/api/personas", get_personas)
    app.router.add_get("/console/api/messages", get_messages)
    app.router.add_post("/console/api/send", send)
    app.router.add_post("/console/api/press", press)
    return ConsoleMessenger(hub)
