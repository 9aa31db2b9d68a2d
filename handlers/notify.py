"""Cards and notifications that follow a change: shared by handlers/ and schedules/."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from bot.directory import Directory, Person
from bot.events import Conversation, ConversationKind, Platform
from bot.i18n import Translator, translator
from bot.ports import CardPlacement, MessageSink, Outgoing, OutgoingKind, Placements, Urgency
from bot.subjects import Subject, Viewer
from bot.tickets import Ticket


class HasSubject(Protocol):
    """Anything with a card: a ticket, a request, a digest …"""

    @property
    def subject(self) -> Subject: ...


class PlacementSink(MessageSink, Placements, Protocol):
    """A unit of work as refresh_cards needs it: where cards are, and where to put the updates."""


async def refresh_cards(uow: PlacementSink, thing: HasSubject) -> None:
    """Re-render every copy of the thing's card, wherever it was posted."""
    await update_cards(uow, thing, await uow.placements(thing.subject))


class PostsOnTheWay(PlacementSink, Protocol):
    """A unit of work that also sees the card posts not sent yet."""

    async def unsent_card_posts(self, subject: Subject) -> list[Outgoing]: ...


async def refresh_cards_on_the_way(uow: PostsOnTheWay, thing: HasSubject) -> None:
    """refresh_cards, and also the copies still being posted: a change made right after a card was enqueued (work
    done beside the ticket's, e.g. its suggested articles) may miss a card the dispatcher is drawing now. Such a
    copy gets a refresh that names no placement; the dispatcher sends it after the post, to wherever it landed."""
    await refresh_cards(uow, thing)
    for post in await uow.unsent_card_posts(thing.subject):
        await uow.enqueue(Outgoing(OutgoingKind.CARD_UPDATE, post.target, subject=thing.subject,
                                   viewer_role=post.viewer_role, language=post.language))


async def update_cards(out: MessageSink, thing: HasSubject, placements: Sequence[CardPlacement]) -> None:
    """Re-render the copies of the thing's card at `placements` (already loaded)."""
    for placement in placements:
        await out.enqueue(Outgoing(OutgoingKind.CARD_UPDATE, placement.target, subject=thing.subject,
                                   placement_id=placement.id, viewer_role=placement.viewer_role,
                                   language=placement.language))


async def post_card(out: MessageSink, thing: HasSubject, target: Conversation, *, viewer: Viewer, language: str) -> None:
    """Post a fresh card of the thing at `target`; the dispatcher remembers where it went."""
    await out.enqueue(Outgoing(OutgoingKind.CARD, target, subject=thing.subject, viewer_role=viewer,
                               language=language))


def dm_target(person: Person, prefer: Platform | None = None,
              among: Collection[Platform] | None = None) -> Conversation | None:
    """A DM with `person`, on `prefer` if they have an identity there, else their first platform; with `among`
    (the platforms that are on), only those, the console last (a local try-out surface, for who has no other)."""
    platforms = ([prefer] if prefer else []) + list(person.identities)
    if among is not None:
        platforms = sorted((p for p in platforms if p in among), key=lambda p: p is Platform.CONSOLE and p != prefer)
    for platform in platforms:
        user_id = person.identity_on(platform)
        if user_id:
            return Conversation(platform=platform, id=user_id, kind=ConversationKind.DM)
    return None


async def tell_person(
    out: MessageSink, directory: Directory, person_key: str | None, message, *, prefer: Platform | None = None,
    urgency: Urgency | None = None,
) -> bool:
    """DM a directory person; `message(t)` builds the text in their language. False when unreachable.

    `urgency=Urgency.NOTICE` for what the person did not ask for and need not hear this second ("assigned to
    you"): in a backlog it goes after answers, and consecutive notices to one DM are sent as one message.
    """
    person = directory.person(person_key)
    target = dm_target(person, prefer) if person else None
    if target is None:
        return False
    t: Translator = translator(directory.language_of(person))
    await out.enqueue(Outgoing(OutgoingKind.TEXT, target, text=message(t), language=t.language, urgency=urgency))
    return True


async def tell_customer(out: MessageSink, ticket: Ticket, text: str, language: str) -> bool:
    """Send `text` to the conversation where the ticket's customer last spoke."""
    target = ticket.customer_conversation
    if target is None:
        return False
    await out.enqueue(Outgoing(OutgoingKind.TEXT, target, text=text, language=language))
    return True
