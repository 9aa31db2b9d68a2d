"""One `match` over neutral events → the use case; deliveries recorded first, so a repeat has no effect."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import timedelta

from pydantic import TypeAdapter

from bot.events import ButtonPressed, CommandIssued, ConversationKind, Event, FormSubmitted, MessagePosted
from bot.ports import AlreadyProcessed, Context
from bot.ports.inbound import Ack
from bot.tickets import Action
from cards.model import Form
from handlers import (
    alerts,
    attachments,
    changes,
    conversation,
    forms,
    kb,
    lifecycle,
    queries,
    requests,
    stats,
)
from handlers import command_types as typed
from handlers import commands as cmd
from handlers.alert_commands import ListAlerts
from handlers.background import BackgroundWork, WorkerPool
from handlers.intake import Intake, new_from_command
from handlers.kb_commands import KbRequest
from handlers.presses import handle_press, handle_reply_under_card
from handlers.turn import Turn

log = logging.getLogger(__name__)
_EVENT = TypeAdapter(Event)
# The processing pool: enough workers to overlap their database round trips, a queue that absorbs a burst.
WORKERS = 8
QUEUE = 256
REPLAY_EVERY = 1.0  # seconds between looks at the inbox for deliveries waiting to be processed
REPLAY_AFTER = timedelta(seconds=10)  # an unprocessed delivery younger than this is its own replica's to process


class Router:
    """Entry point of the core for every adapter: `deliver(event, ack)`."""

    def __init__(self, ctx: Context, *, workers: int = WORKERS, queue: int = QUEUE):
        self.ctx = ctx
        self.background = BackgroundWork()
        self.pool = WorkerPool(workers=workers, queue=queue)
        self._in_flight: set[tuple[str, str]] = set()  # deliveries queued or being processed in this process
        self._refused = False  # the pool refused a delivery since the last replay: replay without waiting
        self._replaying: asyncio.Task | None = None

    async def receive(self, event: Event) -> bool:
        """Record the delivery and handle it; False (and no effect) when it was delivered before."""
        return await self.deliver(event)

    async def deliver(self, event: Event, ack: Ack | None = None, *, background: bool = False,
                      done: Ack | None = None, on_new: Ack | None = None) -> bool:
        """Record the delivery, acknowledge it, then process it — once, whatever the platform redelivers.

        Recording comes first, so an acknowledged delivery is never lost (a crash before processing is replayed
        at start-up); a repeat is acknowledged too, and has no effect. `background` hands the processing to the
        bounded worker pool and returns at once (for a platform whose HTTP answer must not wait for the work);
        when the pool's queue is full the delivery waits in the inbox for the periodic replay (`done` is then
        not called). `done` runs after processing, also when it failed; `on_new` runs before processing a new
        delivery only. Returns whether the delivery was new.
        """
        fresh = await self.accept(event)
        if ack is not None:
            await ack()
        if fresh and on_new is not None:
            await on_new()
        if fresh:
            if background:
                self._offer(event, done)
            else:
                await self._process_once(event, done)
        return fresh

    def later(self, work: Awaitable[object]) -> None:
        """Run `work` in the background (an adapter's own follow-up after it answered its platform)."""
        self.background.start(work)

    def opens_form(self, event: Event) -> bool:
        """Whether `event` opens a form where the platform has forms (handlers/forms.py OPENERS, `new` alone)."""
        return forms.opened_by(event) is not None

    async def form_for(self, event: Event) -> Form | None:
        """The form `event` opens for its actor now (read, not recorded: opening changes nothing), or None."""
        return await forms.open_form(self.ctx, event)

    async def check_form(self, event: FormSubmitted) -> dict[str, str]:
        """A submission's errors by field name, in the submitter's language (checked again when applied)."""
        return await forms.check_submission(self.ctx, event)

    def _offer(self, event: Event, done: Ack | None) -> bool:
        """Queue the processing in the pool; False when its queue is full (the inbox keeps the delivery)."""
        key = (event.actor.platform.value, event.delivery_id)
        if key in self._in_flight:  # a replay took it already
            return True
        if not self.pool.offer(lambda: self._process_once(event, done, queued=True)):
            self._refused = True
            log.debug("processing pool full: %s %s waits for the replay", event.type, event.delivery_id)
            return False
        self._in_flight.add(key)
        return True

    async def _process_once(self, event: Event, done: Ack | None, *, queued: bool = False) -> None:
        key = (event.actor.platform.value, event.delivery_id)
        if key in self._in_flight and not queued:  # already queued here (a replay): that one processes it
            return
        self._in_flight.add(key)
        try:
            await self.process(event)
        finally:
            self._in_flight.discard(key)
            if done is not None:
                await done()

    async def accept(self, event: Event) -> bool:
        """Record the delivery only; False when it was recorded before (deliver() is what adapters call)."""
        return await self.ctx.store.record_delivery(
            event.actor.platform, event.delivery_id, event.model_dump(mode="json")
        )

    async def replay_pending(self) -> int:
        """Handle deliveries that were acknowledged but never processed (e.g. a crash); returns how many."""
        pending = await self.ctx.store.pending_deliveries()
        for _platform, _delivery_id, payload in pending:
            await self._process_once(_EVENT.validate_python(payload), None)
        return len(pending)

    async def replay_waiting(self) -> int:
        """Offer the pool what waits in the inbox unprocessed, oldest first, as much as its queue takes: deliveries
        the pool refused when full, and those another replica acknowledged and then lost (after REPLAY_AFTER, so a
        live replica gets to process its own first). Run periodically; returns how many were queued."""
        if self.pool.free <= 0:
            return 0
        refused, self._refused = self._refused, False
        before = None if refused else self.ctx.clock.now() - REPLAY_AFTER
        limit = self.pool.free + len(self._in_flight)
        pending = await self.ctx.store.pending_deliveries(limit=limit, received_before=before)
        if refused and len(pending) >= limit:  # more of the refused may wait behind these: next time too
            self._refused = True
        queued = 0
        for platform, delivery_id, payload in pending:
            if (platform.value, delivery_id) in self._in_flight:
                continue
            if not self._offer(_EVENT.validate_python(payload), None):
                break
            queued += 1
        return queued

    def start(self, every: float = REPLAY_EVERY, *, catch_up: bool = False) -> None:
        """Run replay_waiting every `every` seconds until stop(); `catch_up` starts at once with every waiting
        delivery, whatever its age (at start-up: what this or a dead replica acknowledged and never processed)."""
        if catch_up:
            self._refused = True  # "the pool refused some": the replay takes young ones too, until none is left

        async def replaying() -> None:
            first = catch_up
            while True:
                if not first:
                    await asyncio.sleep(every)
                first = False
                try:
                    await self.replay_waiting()
                except Exception:  # e.g. the database away for a moment: the next round tries again
                    log.exception("replaying waiting deliveries failed")
        if self._replaying is None:
            self._replaying = asyncio.ensure_future(replaying())

    async def stop(self) -> None:
        """Stop replaying and processing (what is queued stays in the inbox for the next start's replay)."""
        if self._replaying is not None:
            self._replaying.cancel()
            await asyncio.gather(self._replaying, return_exceptions=True)
            self._replaying = None
        await self.pool.stop()

    async def process(self, event: Event) -> None:
        """Handle a recorded event; an unexpected failure is logged and the person told, never raised."""
        turn = Turn.begin(self.ctx, event)
        try:
            await self._dispatch(turn)
        except AlreadyProcessed:  # a replay elsewhere won the race; its effects stand, ours rolled back
            log.info("%s %s was processed elsewhere first", event.type, event.delivery_id)
            return
        except Exception:
            log.exception("failed to handle %s %s", event.type, event.delivery_id)
            sorry = turn.t._("Sorry, something went wrong; the team has been told. Please try again.")
            try:
                async with self.ctx.store.unit() as uow:
                    await turn.reply(uow, sorry, private=True)
                    await turn.finish(uow)
            except AlreadyProcessed:
                return
        if self.ctx.wake_outbox:
            self.ctx.wake_outbox()

    async def _dispatch(self, turn: Turn) -> None:
        event = turn.event
        match event:
            case CommandIssued(text=text):
                await self.run_command(turn, text)
            case MessagePosted(text=text):
                await self._message(turn, text)
            case ButtonPressed():
                await handle_press(turn, event)
            case FormSubmitted():
                await forms.handle_submission(turn, event)

    async def _message(self, turn: Turn, text: str) -> None:
        event: MessagePosted = turn.event
        remainder = cmd.split_command_word(text)
        to_the_bot = event.mentioned or turn.conversation.kind is ConversationKind.DM
        if remainder is None and to_the_bot and not turn.person.is_customer:
            # "@ticketbot claim" in a card's thread (or anywhere), "list mine" in a DM with the bot: words to the
            # bot, not a note. A customer's "@ticketbot help, my page…" stays a question (their commands need the
            # command word).
            remainder = cmd.command_after_mention(text)
        if remainder is not None:
            await self.run_command(turn, remainder)
            return
        direct = turn.conversation.kind is ConversationKind.DM or event.addressed
        if event.unusable and (direct or turn.conversation.thread_id):
            await attachments.unusable(turn)
            return
        if turn.conversation.thread_id:
            async with self.ctx.store.unit() as uow:
                subject = await uow.find_subject_by_thread(turn.conversation)
            # Under a card, the card's subject takes the message (a ticket's: a note or a reply to the customer,
            # with the files that came with it).
            if subject is not None and await handle_reply_under_card(turn, subject, text):
                return
        if turn.person.is_customer and direct:
            taken = await attachments.take(turn)
            text = text if text.strip() else attachments.files_line(taken)  # only files: their names are the message
            if not text.strip():  # nothing usable came (every file refused): say why, open nothing
                await attachments.refused_only(turn, taken)
                return
            await conversation.customer_message(turn, text, taken)
            return
        # A colleague writing to the bot plainly answers the request open for them.
        if turn.conversation.kind is ConversationKind.DM and await requests.answer_in_dm(turn, text):
            return
        async with self.ctx.store.unit() as uow:
            if direct:
                await turn.reply(uow, turn.t._("I only understand ticket commands here. Try “/ticket help”."),
                                 private=True)
            await turn.finish(uow)

    async def run_command(self, turn: Turn, text: str) -> None:
        """Parse and run one command; a usage error answers with the subcommand's usage."""
        try:
            request = cmd.parse_command(text)
        except typed.UsageError as err:
            await self._usage(turn, err)
            return
        await self.run_request(turn, request)

    async def _usage(self, turn: Turn, err: typed.UsageError) -> None:
        async with self.ctx.store.unit() as uow:
            await turn.reply(uow, cmd.format_usage_error(err, turn.t), private=True)
            await turn.finish(uow)

    async def run_request(self, turn: Turn, request) -> None:
        """Run a parsed command (also reached by buttons and forms)."""
        match request:
            case typed.NewTicket():
                await new_from_command(turn, Intake(title=request.title, priority=request.priority,
                                                    category=request.category, assignee=request.assignee))
            case typed.ListTickets(scope=scope, priority=priority, page=page):
                await queries.list_tickets(turn, scope, priority=priority, page=page)
            case typed.Show(ticket_id=ticket_id):
                await queries.show(turn, ticket_id)
            case typed.SendFile(ticket_id=ticket_id, number=number):
                await attachments.send_again(turn, ticket_id, number)
            case typed.Stats() if request.bare:
                await queries.stats(turn)
            case typed.Stats():
                await stats.figures(turn, request)
            case KbRequest():
                await kb.run(turn, request)
            case ListAlerts():
                await alerts.list_alerts(turn)
            case typed.Sla(ticket_id=ticket_id):
                await queries.sla(turn, ticket_id)
            case typed.Help(topic=topic):
                async with self.ctx.store.unit() as uow:
                    await turn.reply(uow, cmd.usage_text(topic, turn.t, customer=turn.person.is_customer), private=True)
                    await turn.finish(uow)
            case typed.Ask(ticket_id=ticket_id, target=target, text=text):
                ticket_id = ticket_id or await self._ticket_of_thread(turn)
                if ticket_id is None:  # outside a ticket's thread the number is needed
                    await self._usage(turn, typed.UsageError("ask", cmd.WHICH_TICKET))
                    return
                await requests.ask(turn, ticket_id, target, text)
            case typed.ChangeRequest(request_id=request_id, action=action, text=text, target=target):
                await requests.act(turn, request_id, action, text=text, target=target)
            case typed.ListRequests(mine=mine):
                await requests.list_requests(turn, mine=mine)
            case typed.Claim(ticket_id=ticket_id):
                ticket_id = ticket_id or await self._ticket_of_thread(turn)
                if ticket_id is None:  # outside a ticket's thread the number is needed
                    await self._usage(turn, typed.UsageError("claim", cmd.WHICH_TICKET))
                    return
                await lifecycle.change_ticket(turn, ticket_id, changes.builder(turn, Action.CLAIM))
            case _:
                change = typed.as_change(request)
                if change is None:
                    raise TypeError(f"no handler for {request!r}")
                await lifecycle.change_ticket(turn, request.ticket_id, changes.builder(turn, *change))

    async def _ticket_of_thread(self, turn: Turn) -> int | None:
        if not turn.conversation.thread_id:
            return None
        async with self.ctx.store.unit() as uow:
            ticket = await uow.find_ticket_by_thread(turn.conversation)
        return ticket.id if ticket else None
