"""Sending an attachment: the outbox row names it (a subject of kind attachment), its bytes come from the content
store, and a file for a channel goes under the ticket's card there (a new ticket's card is posted just before it,
in the same conversation's stream, and its place is remembered at once)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.attachments import Attachment, ContentStore, FileSender
from bot.events import Conversation, ConversationKind
from bot.ports import Outgoing, SendError, UnitOfWork, Units
from bot.subjects import Subject, Viewer
from schedules.sending import CardKind


@dataclass(frozen=True)
class OutgoingFile:
    """An attachment to send, with its bytes (None when the content store no longer has them)."""

    attachment: Attachment
    data: bytes | None


def _no_card(*_args):
    raise TypeError("an attachment is sent as a file, it has no card")


def file_kind(content: ContentStore) -> CardKind:
    """The dispatcher's entry for attachments: load the records and their bytes (there is no card to build)."""
    async def load(uow: UnitOfWork, ids: Sequence[int]):
        found = await uow.attachments.get_attachments(ids)  # type: ignore[attr-defined]
        return {i: OutgoingFile(a, await content.get(a.sha256)) for i, a in found.items()}
    return CardKind(load=load, build=_no_card)


async def send_file(messenger, message: Outgoing, loaded: dict, store: Units) -> str | None:
    """Send the attachment `message` names through `messenger`; SendError (permanent) when it cannot be."""
    outgoing = loaded.get(message.subject)
    if not isinstance(outgoing, OutgoingFile) or outgoing.data is None:
        raise SendError(f"{message.subject}: no such attachment (or its bytes are gone)", permanent=True)
    attachment = outgoing.attachment
    if message.viewer_role == Viewer.CUSTOMER and not attachment.public:  # never, whoever enqueued it
        raise SendError(f"attachment {attachment.id} is internal: not sent to a customer", permanent=True)
    if not isinstance(messenger, FileSender):
        raise SendError(f"{message.target.platform} cannot send files", permanent=True)
    target = await _under_card(store, message.target, attachment.ticket_id)
    return await messenger.send_file(target, name=attachment.name, mime=attachment.mime, data=outgoing.data,
                                     attachment_id=attachment.id)


async def _under_card(store: Units, target: Conversation, ticket_id: int) -> Conversation:
    """`target` narrowed to the thread of the ticket's staff card there, when it names a channel and holds one."""
    if target.thread_id or target.kind is ConversationKind.DM:
        return target
    async with store.snapshot() as uow:
        for placement in await uow.placements(Subject.ticket(ticket_id)):
            where = placement.target
            if (where.platform, where.id) == (target.platform, target.id) and placement.viewer_role == Viewer.STAFF:
                return target.thread(placement.message_ref.split("|")[0])
    return target
