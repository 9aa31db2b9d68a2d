"""Turn: one inbound event being handled — who acts, in which language, and how to answer them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.directory import Person
from bot.events import Conversation, Event, Platform
from bot.i18n import Translator, guess_language, translator
from bot.ports import Context, MessageSink, Outgoing, OutgoingKind, UnitOfWork


@dataclass
class Turn:
    """The event, the person behind it and their translator, with helpers to answer them."""

    ctx: Context
    event: Event
    person: Person
    t: Translator

    @classmethod
    def begin(cls, ctx: Context, event: Event) -> Turn:
        """Resolve the actor and pick their language (a customer writing Chinese is answered in Chinese)."""
        person = ctx.directory.resolve_actor(event.actor)
        language = person.language
        if not language and person.is_customer:
            language = guess_language(getattr(event, "text", "") or "")
        return cls(ctx, event, person, translator(language or ctx.directory.default_language))

    @property
    def platform(self) -> Platform:
        """The platform the event came from."""
        return self.event.actor.platform

    @property
    def conversation(self) -> Conversation:
        """Where the event happened."""
        return self.event.conversation

    @property
    def actor_key(self) -> str:
        """How the timeline names the actor."""
        return self.person.key

    async def reply(self, out: MessageSink, text: str, *, private: bool = False) -> None:
        """Answer in the conversation of the event; `private` shows it only to the actor where possible."""
        await out.enqueue(
            Outgoing(
                OutgoingKind.TEXT,
                self.conversation,
                text=text,
                language=self.t.language,
                ephemeral_user=self.event.actor.user_id if private else None,
            )
        )

    async def answer(self, text: str) -> None:
        """Tell the actor `text` privately and mark the delivery done: the whole of a turn that only answers."""
        async with self.ctx.store.unit() as uow:
            await self.reply(uow, text, private=True)
            await self.finish(uow)

    async def finish(self, uow: UnitOfWork) -> None:
        """Mark this delivery processed, in the same transaction as its effects."""
        await uow.mark_delivery_done(self.platform, self.event.delivery_id)
