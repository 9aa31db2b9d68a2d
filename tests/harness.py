"""A bot without a network: real router, store and dispatcher; a recording messenger per platform."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import AppConfig, load_config
from bot.directory import Directory
from bot.events import Actor, ButtonPressed, Conversation, ConversationKind, MessagePosted, Platform
from bot.ports import Context, Pacing, SendError
from bot.sla import SlaPolicy
from bot.tickets import Ticket, TimelineEntry
from cards import actions
from cards.model import Card, Image, Select
from handlers.router import Router
from schedules.card_kinds import card_kinds
from schedules.outbox import OutboxDispatcher
from schedules.providers import deadline_sweep

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "ticketbot.example.yaml"
_ids = itertools.count(1)


def long_text(size: int = 20_000) -> str:
    """A long answer: numbered lines, Chinese and English in turn, `size` characters in all."""
    lines, total, n = [], 0, 0
    while total < size:
        n += 1
        line = (f"{n:04d} 打印机又坏了，这是第{n}次报修，请尽快安排工程师上门处理。" if n % 2
                else f"{n:04d} The printer on floor {n % 7} jams again; the error code is E-{n:05d}.")
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)[:size]


@dataclass
class Sent:
    """One message as a platform would show it."""

    ref: str
    target: Conversation
    text: str | None = None
    card: Card | None = None
    ephemeral_user: str | None = None
    updates: int = 0


@dataclass
class RecordingMessenger:
    """Records what would have been posted; can be told to fail the next N sends."""

    platform: Platform = Platform.CONSOLE
    sent: list[Sent] = field(default_factory=list)
    failures: list[SendError] = field(default_factory=list)
    failing_conversation: str | None = None  # fail only sends to this conversation (None: any)
    attempts: int = 0
    pacing: Pacing = field(default_factory=Pacing)
    uploads: list[tuple[Conversation, Image]] = field(default_factory=list)

    def _maybe_fail(self, target) -> None:
        self.attempts += 1
        if self.failures and self.failing_conversation in (None, target.id):
            raise self.failures.pop(0)

    async def post(self, target, *, text=None, card=None, ephemeral_user=None):
        """Record a post (or fail as scripted)."""
        self._maybe_fail(target)
        message = Sent(f"m{len(self.sent) + 1}", target, text, card, ephemeral_user)
        self.sent.append(message)
        return message.ref

    async def upload_image(self, target, image):
        """Record an upload (or fail as scripted); the reference names it by its place in the list."""
        self._maybe_fail(target)
        self.uploads.append((target, image))
        return f"img{len(self.uploads)}"

    async def update(self, target, message_ref, card):
        """Replace a recorded card in place."""
        self._maybe_fail(target)
        for message in self.sent:
            if message.ref == message_ref:
                message.card = card
                message.updates += 1
                return message_ref
        raise SendError("no such message", permanent=True)


class Harness:
    """Say things as people of the sample config and look at what the bot sent."""

    def __init__(self, store, clock, config: AppConfig | None = None):
        self.store, self.clock = store, clock
        self.config = config or load_config(EXAMPLE_CONFIG)
        self.directory = Directory(self.config)
        self.messenger = RecordingMessenger()
        self.sla = SlaPolicy(self.config)
        self.dispatcher = OutboxDispatcher(
            store=store, messengers={Platform.CONSOLE: self.messenger}, clock=clock,
            card_kinds=card_kinds(directory=self.directory, config=self.config, policy=self.sla, clock=clock))
        self.ctx = Context(store=store, clock=clock, directory=self.directory, config=self.config, sla=self.sla)
        self.router = Router(self.ctx)
        self.sweep = deadline_sweep(store=store, policy=self.sla, directory=self.directory, config=self.config, clock=clock)

    async def tick(self) -> int:
        """One SLA sweep, then send what it queued; returns how many notifications fired."""
        fired = await self.sweep.tick()
        await self.dispatcher.drain()
        return fired

    def actor(self, user_id: str) -> Actor:
        """The console actor for a user id of the sample config."""
        return Actor(platform=Platform.CONSOLE, user_id=user_id, display_name=user_id)

    @staticmethod
    def dm(user_id: str) -> Conversation:
        """The DM between `user_id` and the bot."""
        return Conversation(platform=Platform.CONSOLE, id=user_id, kind=ConversationKind.DM)

    @staticmethod
    def channel(name: str = "triage", thread: str | None = None) -> Conversation:
        """A console channel (optionally a thread in it)."""
        return Conversation(platform=Platform.CONSOLE, id=name, kind=ConversationKind.CHANNEL, thread_id=thread)

    async def say(self, user_id: str, text: str, where: Conversation | None = None, *, delivery_id: str | None = None,
                  send: bool = True) -> bool:
        """`user_id` writes `text` (default: in their DM); the outbox is drained unless `send` is False."""
        event = MessagePosted(delivery_id=delivery_id or f"d{next(_ids)}", actor=self.actor(user_id),
                              conversation=where or self.dm(user_id), text=text)
        fresh = await self.router.receive(event)
        if send:
            await self.dispatcher.drain()
        return fresh

    async def press(self, user_id: str, message: Sent, label_or_action: str, value: str | None = None,
                    *, delivery_id: str | None = None, send: bool = True) -> bool:
        """Press the button (or choose `value` in the select) labelled/encoded `label_or_action` on a card."""
        control = next(c for c in message.card.actions if label_or_action in (c.label, c.action)
                       or actions.decode(c.action).action == label_or_action)
        if isinstance(control, Select):
            assert value in {o.value for o in control.options}, f"{value} not offered by {control.label}"
        event = ButtonPressed(delivery_id=delivery_id or f"d{next(_ids)}", actor=self.actor(user_id),
                              conversation=message.target, action=control.action, value=value, message_ref=message.ref)
        fresh = await self.router.receive(event)
        if send:
            await self.dispatcher.drain()
        return fresh

    def texts(self, conversation_id: str, *, visible_to: str | None = None) -> list[str]:
        """Texts posted in a conversation (ephemeral ones only if `visible_to` is their user)."""
        return [m.text for m in self.messenger.sent if m.target.id == conversation_id and m.text is not None
                and (m.ephemeral_user is None or m.ephemeral_user == visible_to)]

    def cards(self, conversation_id: str) -> list[Sent]:
        """Card messages in a conversation, oldest first."""
        return [m for m in self.messenger.sent if m.target.id == conversation_id and m.card is not None]

    def last_text(self, conversation_id: str, visible_to: str | None = None) -> str:
        """The newest text in a conversation."""
        texts = self.texts(conversation_id, visible_to=visible_to)
        assert texts, f"nothing was said in {conversation_id}"
        return texts[-1]

    async def ticket(self, ticket_id: int = 1) -> Ticket:
        """The stored ticket."""
        async with self.store.unit() as uow:
            return await uow.get_ticket(ticket_id)

    async def timeline(self, ticket_id: int = 1) -> list[TimelineEntry]:
        """The stored timeline."""
        async with self.store.unit() as uow:
            return await uow.timeline(ticket_id)

    async def force(self, ticket_id: int = 1, **fields) -> Ticket:
        """Put a ticket into a given state directly (test set-up, bypassing the lifecycle)."""
        async with self.store.unit() as uow:
            ticket = await uow.get_ticket(ticket_id)
            for name, value in fields.items():
                setattr(ticket, name, value)
            return await uow.save_ticket(ticket)
