"""Cards and notifications that follow a change: shared by handlers/ and schedules/."""

from __future__ import annotations

from bot.directory import Directory, Person
from bot.events import Conversation, ConversationKind, Platform
from bot.i18n import Translator, translator
from bot.ports import Outgoing, OutgoingKind, UnitOfWork
from bot.tickets import Ticket


async def refresh_cards(uow: UnitOfWork, ticket: Ticket, placements=None) -> None:
    """Re-render every copy of the ticket's card, wherever it was posted (`placements` if already loaded)."""
    for placement in placements if placements is not None else await uow.placements(ticket.id):
        await uow.enqueue(
            Outgoing(
                OutgoingKind.CARD_UPDATE,
                placement.target,
                ticket_id=ticket.id,
                placement_id=placement.id,
                viewer_role=placement.viewer_role,
                language=placement.language,
            )
        )


async def post_card(uow: UnitOfWork, ticket: Ticket, target: Conversation, *, viewer: str, language: str) -> None:
    """Post a fresh card of the ticket at `target`; the dispatcher remembers where it went."""
    await uow.enqueue(
        Outgoing(OutgoingKind.CARD, target, ticket_id=ticket.id, viewer_role=viewer, language=language)
    )


def dm_target(person: Person, prefer: Platform | None = None) -> Conversation | None:
    """A DM with `person`, on `prefer` if they have an identity there, else their first platform."""
    platforms = ([prefer] if prefer else []) + list(person.identities)
    for platform in platforms:
        user_id = person.identity_on(platform)
        if user_id:
            return Conversation(platform=platform, id=user_id, kind=ConversationKind.DM)
    return None


async def tell_person(
    uow: UnitOfWork, directory: Directory, person_key: str | None, message, *, prefer: Platform | None = None
) -> bool:
    """DM a directory person; `message(t)` builds the text in their language. False when unreachable."""
    person = directory.person(person_key)
    target = dm_target(person, prefer) if person else None
    if target is None:
        return False
    t: Translator = translator(directory.language_of(person))
    await uow.enqueue(Outgoing(OutgoingKind.TEXT, target, text=message(t), language=t.language))
    return True


async def tell_customer(uow: UnitOfWork, ticket: Ticket, text: str, language: str) -> bool:
    """Send `text` to the conversation where the ticket's customer last spoke."""
    target = ticket.customer_conversation
    if target is None:
        return False
    await uow.enqueue(Outgoing(OutgoingKind.TEXT, target, text=text, language=language))
    return True
