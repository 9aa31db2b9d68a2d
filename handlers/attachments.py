"""Files that come with a message: taken in before the text is handled, joined to the same timeline entry, sent on
to whoever works the ticket (or, with a reply, to the customer); a refused file is explained in the sender's
language and the rest of the message still lands."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from bot.attachments import MB, Attachment, AttachmentLimits, Refusal, Taken, digest, human_size
from bot.events import Actor, ConversationKind, FileRef, MessagePosted
from bot.i18n import Translator
from bot.permissions import VIEW, denial
from bot.ports import MessageSink, Outgoing, OutgoingKind, UnitOfWork
from bot.subjects import Subject, SubjectKind, Viewer
from bot.tickets import Ticket, TimelineKind, format_number
from handlers.notify import dm_target
from handlers.turn import Turn

NOTHING = Taken([], [])


async def take(turn: Turn) -> Taken:
    """Fetch and store the files of the turn's message (outside any transaction: a download takes its time)."""
    event = turn.event
    files = event.files if isinstance(event, MessagePosted) else ()
    if not files:
        return NOTHING
    if turn.ctx.files is None:
        return Taken([], [(file, Refusal.UNAVAILABLE) for file in files])
    return await turn.ctx.files.take(turn.platform, files)


def files_line(taken: Taken) -> str:
    """The text of a message that was only files: '📎 screenshot.png (120 KB)' per file (names need no words)."""
    return "\n".join(f"📎 {file.name} ({human_size(file.size)})" for file in taken.stored)


def refusal_text(t: Translator, file: FileRef, reason: Refusal, limits: AttachmentLimits | None) -> str:
    """Why one file was not taken, in the sender's language."""
    limit = human_size(limits.max_bytes) if limits else ""
    match reason:
        case Refusal.TOO_LARGE:
            return t._("“{name}” is larger than {limit}, so it was not kept; please send a smaller file or a "
                       "screenshot.", name=file.name, limit=limit)
        case Refusal.NOT_ALLOWED:
            return t._("“{name}” is a kind of file I do not take ({type}); pictures, videos, PDFs, office "
                       "documents, text and zip files are fine.", name=file.name, type=file.mime)
        case Refusal.TOO_MANY:
            return t._("“{name}” was not kept: at most {count} files per message.", name=file.name,
                       count=limits.max_files if limits else "")
    return t._("I could not fetch “{name}”; please send it again.", name=file.name)


async def tell_refusals(turn: Turn, uow: UnitOfWork, taken: Taken) -> None:
    """One answer listing the refused files (the text and the other files still landed)."""
    if not taken.refused:
        return
    limits = turn.ctx.files.limits if turn.ctx.files else None
    lines = [refusal_text(turn.t, file, reason, limits) for file, reason in taken.refused]
    if taken.stored or isinstance(turn.event, MessagePosted) and turn.event.text.strip():
        lines.append(turn.t._("The rest of your message was received."))
    await turn.reply(uow, "\n".join(lines))


async def land(turn: Turn, uow: UnitOfWork, ticket: Ticket, entry_kind: TimelineKind, taken: Taken, *,
               public: bool) -> list[Attachment]:
    """Record the stored files on `ticket` with its latest `entry_kind` entry and answer for the refused ones."""
    await tell_refusals(turn, uow, taken)
    if not taken.stored:
        return []
    records = uow.attachments  # type: ignore[attr-defined]  (bot.attachments.AttachmentRecords)
    return await records.add_attachments(ticket_id=ticket.id, entry_kind=entry_kind.value, files=taken.stored,
                                         actor=turn.actor_key, platform=turn.platform, public=public,
                                         at=turn.ctx.clock.now())


def file_message(attachment: Attachment, target, *, viewer: Viewer, language: str) -> Outgoing:
    """The outbox row that sends `attachment` to `target`."""
    return Outgoing(OutgoingKind.FILE, target, subject=Subject(SubjectKind.ATTACHMENT, attachment.id),
                    viewer_role=viewer, language=language)


async def to_agents(turn: Turn, uow: UnitOfWork, ticket: Ticket, added: list[Attachment], *, new_in=None) -> None:
    """Send the files where agents work the ticket: under each staff copy of its card in a channel; for a new
    ticket (`new_in`: its triage channel, whose card is on its way) to that channel, where the dispatcher puts
    them under the card; where the ticket has no channel (e.g. WeCom without a triage group chat), to its
    assignee's DM."""
    if not added:
        return
    directory = turn.ctx.directory
    targets = []
    if new_in is not None:
        targets.append((new_in, directory.default_language))
    for placement in await uow.placements(ticket.subject):
        if placement.viewer_role == Viewer.STAFF and placement.target.kind is not ConversationKind.DM:
            targets.append((placement.target.thread(placement.message_ref.split("|")[0]), placement.language))
    assignee = directory.person(ticket.assignee) if ticket.assignee else None
    if not targets and assignee is not None and (dm := dm_target(assignee, turn.platform)) is not None:
        targets.append((dm, directory.language_of(assignee)))
    for target, language in targets:
        for attachment in added:
            await uow.enqueue(file_message(attachment, target, viewer=Viewer.STAFF, language=language))


async def to_customer(out: MessageSink, ticket: Ticket, added: list[Attachment], language: str) -> None:
    """Send an agent's public files to the customer's conversation (never an internal one)."""
    target = ticket.customer_conversation
    if target is None:
        return
    for attachment in added:
        if attachment.public:
            await out.enqueue(file_message(attachment, target, viewer=Viewer.CUSTOMER, language=language))


def _kind_word(t: Translator, kind: str) -> str:
    """The unusable message kind in the reader's words."""
    words = {"location": t._("a location"), "sticker": t._("a sticker"), "link": t._("a link card"),
             "voice": t._("a voice message"), "contact": t._("a contact card")}
    return words.get(kind, t._("this kind of message"))


async def unusable(turn: Turn) -> None:
    """A message the bot cannot use (a location, a sticker, a link card, a voice note without recognized text):
    say what it takes, in the sender's language; nothing else changes."""
    event: MessagePosted = turn.event
    async with turn.ctx.store.unit() as uow:
        await turn.reply(uow, turn.t._("I cannot use {kind} here. Please write your question as text; pictures, "
                                       "screenshots and files are welcome too.", kind=_kind_word(turn.t, event.unusable)))
        await turn.finish(uow)


async def refused_only(turn: Turn, taken: Taken) -> None:
    """Only files came, and none was taken: the sender hears why; no ticket is opened for nothing."""
    async with turn.ctx.store.unit() as uow:
        await tell_refusals(turn, uow, taken)
        await turn.finish(uow)


def _who(turn: Turn, ticket: Ticket, actor: str) -> str:
    """The sender's name: a directory person's, else the ticket's customer's (their key as a last resort)."""
    person = turn.ctx.directory.person(actor)
    if person is not None:
        return person.name
    requester = f"{ticket.requester.platform}:{ticket.requester.user_id}"
    return ticket.customer_name if actor == requester and ticket.customer_name else actor


async def _files_for(turn: Turn, uow: UnitOfWork, ticket: Ticket) -> list[Attachment]:
    """The ticket's attachments the person may see (a customer: public ones only), numbered in this order."""
    records = uow.attachments  # type: ignore[attr-defined]
    return await records.attachments_of(ticket.id, public_only=turn.person.is_customer)


async def list_files(turn: Turn, uow: UnitOfWork, ticket: Ticket, *, public_only: bool) -> bool:
    """Answer with the ticket's files (number, name, size, who, when); False when it has none to show."""
    records = uow.attachments  # type: ignore[attr-defined]
    found = await records.attachments_of(ticket.id, public_only=public_only)
    if not found:
        return False
    zone = ZoneInfo(turn.ctx.directory.timezone_of(turn.person))  # the reader's zone
    lines = [f"{n}. {a.name} · {human_size(a.size)} · {_who(turn, ticket, a.actor)} · "
             f"{a.at.astimezone(zone).strftime('%m-%d %H:%M')}" + ("" if a.public else f" · {turn.t._('internal')}")
             for n, a in enumerate(found, 1)]
    await turn.reply(uow, turn.t._("Files of {number} (send one again with “/ticket file {number} N”):",
                                   number=ticket.number) + "\n" + "\n".join(lines))
    return True


async def send_again(turn: Turn, ticket_id: int, number: int | None) -> None:
    """`/ticket file T-… [N]`: list the ticket's files, or send file N here again (a customer: their own ticket's
    public files only)."""
    t = turn.t
    async with turn.ctx.store.unit() as uow:
        ticket = await uow.get_ticket(ticket_id)
        reason = denial(turn.person, VIEW, ticket) if ticket else None
        if ticket is None or reason:
            await turn.reply(uow, t._("There is no ticket {number}.", number=format_number(ticket_id))
                             if ticket is None or turn.person.is_customer else t._(reason), private=True)
        elif number is None:
            if not await list_files(turn, uow, ticket, public_only=turn.person.is_customer):
                await turn.reply(uow, t._("{number} has no files.", number=ticket.number), private=True)
        else:
            found = await _files_for(turn, uow, ticket)
            if not 1 <= number <= len(found):
                await turn.reply(uow, t._("{number} has no file {n}; it has {count}.", number=ticket.number, n=number,
                                          count=len(found)), private=True)
            else:
                viewer = Viewer.CUSTOMER if turn.person.is_customer else Viewer.STAFF
                await uow.enqueue(file_message(found[number - 1], turn.conversation, viewer=viewer,
                                               language=t.language))
        await turn.finish(uow)


UPLOAD_PREFIX = "sha256:"


class Desk:
    """bot.attachments.AttachmentDesk on the core's context: uploads into the content store, and attachments read
    for a person only when the permissions let them see the ticket (a customer: its public files)."""

    def __init__(self, ctx):
        self.ctx = ctx

    async def keep(self, data: bytes) -> str:
        """Keep an upload's bytes (once per digest); its reference is the digest."""
        sha = await asyncio.to_thread(digest, data) if len(data) > MB else digest(data)  # beside the loop
        await self.ctx.files.content.put(sha, data)
        return UPLOAD_PREFIX + sha

    async def kept(self, ref: str) -> bytes | None:
        """An upload's bytes by its reference."""
        if not ref.startswith(UPLOAD_PREFIX):
            return None
        return await self.ctx.files.content.get(ref[len(UPLOAD_PREFIX):])

    async def readable(self, attachment_id: int, actor: Actor) -> tuple[Attachment, bytes] | None:
        """The attachment and its bytes if `actor` may see them."""
        person = self.ctx.directory.resolve_actor(actor)
        async with self.ctx.store.snapshot() as uow:
            attachment = (await uow.attachments.get_attachments([attachment_id])).get(attachment_id)
            ticket = await uow.get_ticket(attachment.ticket_id) if attachment else None
        if ticket is None or denial(person, VIEW, ticket) or (person.is_customer and not attachment.public):
            return None
        data = await self.ctx.files.content.get(attachment.sha256)
        return (attachment, data) if data is not None else None


def landing(turn: Turn, taken: Taken, entry_kind: TimelineKind, *, public: bool = False):
    """A change's followup: the message's files join the change's timeline entry and go where agents work the
    ticket (e.g. a colleague's files with the answer to a request: internal)."""
    async def land_files(uow: UnitOfWork, saved: Ticket) -> None:
        added = await land(turn, uow, saved, entry_kind, taken, public=public)
        await to_agents(turn, uow, saved, added)
    return land_files
