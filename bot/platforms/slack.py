"""Slack: payloads → neutral events, and slack-bolt AsyncApp on our aiohttp app (or Socket Mode) feeding the router."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import AppConfig, Settings, SlackSettings
from bot.events import (
    Actor,
    ButtonPressed,
    CommandIssued,
    Conversation,
    ConversationKind,
    Event,
    MessagePosted,
    Platform,
)
from bot.platforms import Malformed, Wiring, slack_shapes
from bot.platforms.slack_files import file_refs
from bot.platforms.slack_identity import SlackIdentity
from bot.platforms.slack_messenger import SlackMessenger
from bot.platforms.slack_modal import CALLBACKS, form_event, form_view
from bot.platforms.slack_shapes import Kind
from bot.ports import Clock
from bot.ports.inbound import Inbox

log = logging.getLogger(__name__)
REPLAY_WINDOW = 300  # seconds: Slack's own rule (a signed request older than 5 minutes is refused)
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
# A user group: `<!subteam^S1|@finance>` → its handle (name the handle as a department alias), else its id.
_GROUP = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|@?([^>]*))?>")
ACTIONS = "tb:"  # the prefix of every control the bot puts on a card (cards.actions)


def neutral_text(text: str) -> str:
    """Slack's mention markup `<@U1|name>` → the neutral `@U1` the command grammar understands; a user group
    `<!subteam^S1|@finance>` → `@finance`."""
    text = _GROUP.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    return _MENTION.sub(lambda m: "@" + m.group(1), text)


def kind_of(channel_id: str) -> ConversationKind:
    """Slack's id prefixes: D… direct message, G… private group, C… channel."""
    return ConversationKind.DM if channel_id.startswith("D") else ConversationKind.CHANNEL


def command_event(body: dict) -> CommandIssued:
    """A slash command → CommandIssued (the trigger id is unique per invocation)."""
    channel = body.get("channel_id", "")
    once = body.get("trigger_id") or body.get("response_url")
    if not body.get("user_id") or not once:  # Slack sends both with every command: who, and what makes it unique
        raise Malformed("a command without user_id or trigger_id")
    return CommandIssued(
        delivery_id=f"cmd:{once}",
        actor=Actor(platform=Platform.SLACK, user_id=body["user_id"], display_name=body.get("user_name", "")),
        conversation=Conversation(platform=Platform.SLACK, id=channel, kind=kind_of(channel)),
        text=neutral_text(body.get("text", "")),
    )


# Message subtypes, decided one by one. A person's message like any other: a plain one, one sharing files (a
# screenshot with its line of text), and a thread reply also sent to the channel ("also send to channel").
PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
# Everything else is ignored on purpose: an edit or a deletion (message_changed, message_deleted) cannot change
# what the append-only timeline already holds, and bots' and the system's messages (bot_message, channel_join,
# channel_topic, pinned_item …) are nobody asking for help.


def message_event(body: dict, bot_user_id: str | None) -> MessagePosted | None:
    """A person's message or app_mention → MessagePosted; None for edits, deletions, bot and system messages."""
    event = body.get("event", {})
    if event.get("subtype") not in PERSON_SUBTYPES:
        return None
    if event.get("bot_id") or not event.get("user") or event.get("user") == bot_user_id:
        return None
    channel = event.get("channel", "")
    text = event.get("text", "")
    mentioned = event.get("type") == "app_mention" or (bot_user_id and f"<@{bot_user_id}>" in text)
    if bot_user_id:
        text = text.replace(f"<@{bot_user_id}>", "").strip()
    text = neutral_text(text)
    # Slack Connect: a person whose team differs from ours belongs to another organisation — a customer.
    user_team = event.get("user_team") or event.get("team")
    external = bool(user_team and body.get("team_id") and user_team != body["team_id"])
    conversation = Conversation(platform=Platform.SLACK, id=channel, kind=kind_of(channel),
                                thread_id=event.get("thread_ts"))
    return MessagePosted(
        # The same message can arrive as app_mention and as message, and again on retries: one id for all.
        delivery_id=f"msg:{channel}:{event.get('ts')}",
        actor=Actor(platform=Platform.SLACK, user_id=event["user"], external=external),
        conversation=conversation,
        text=text,
        addressed=bool(mentioned or conversation.kind is ConversationKind.DM or (external and not event.get("thread_ts"))),
        mentioned=bool(mentioned),
        files=file_refs(event),
    )


def action_event(body: dict) -> ButtonPressed:
    """A block_actions payload → ButtonPressed (button value, selected option or selected user)."""
    action = body["actions"][0]
    value = action.get("value")
    if action.get("type") == "static_select":
        value = (action.get("selected_option") or {}).get("value")
    elif action.get("type") == "users_select":
        value = action.get("selected_user")
    container = body.get("container", {})
    channel = container.get("channel_id") or body.get("channel", {}).get("id", "")
    action_id = action["action_id"]
    if action_id.endswith(":team"):
        action_id = action_id.removesuffix(":team")
    return ButtonPressed(
        delivery_id=f"act:{body.get('trigger_id') or action.get('action_ts')}",
        actor=Actor(platform=Platform.SLACK, user_id=body["user"]["id"], display_name=body["user"].get("name", "")),
        conversation=Conversation(platform=Platform.SLACK, id=channel, kind=kind_of(channel),
                                  thread_id=container.get("thread_ts")),
        action=action_id, value=value, message_ref=container.get("message_ts"),
    )


def parse_body(raw: str, content_type: str) -> dict:
    """The request body as Slack meant it: JSON, an interactivity `payload`, or a plain form; Malformed otherwise.

    Bolt's own parser treats any form body containing the word "payload" as interactivity, which loses
    slash commands such as `/ticket new payload too big`; parsing here by key avoids that.
    """
    try:
        if content_type.startswith("application/json") or raw.lstrip().startswith(("{", "[")):
            body = json.loads(raw)
        else:
            form = dict(parse_qsl(raw, keep_blank_values=True))
            body = json.loads(form["payload"]) if "payload" in form and "command" not in form else form
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested deeper than the parser goes
        raise Malformed(f"not JSON or a form: {type(exc).__name__}") from None
    if not isinstance(body, dict):
        raise Malformed(f"a JSON {type(body).__name__}, not an object")
    return body


def to_event(body: dict, bot_user_id: str | None = None) -> Event | None:
    """Any body Slack posts → its neutral event (None for what the bot does not act on); Malformed for a body
    whose shape Slack never sends (a field missing, or of the wrong type)."""
    slack_shapes.check(body)
    try:
        if "command" in body:
            return command_event(body)
        kind = body.get("type")
        if kind == "block_actions":
            return action_event(body)
        if kind == "view_submission" and body["view"].get("callback_id") in CALLBACKS:
            return form_event(body)
        if kind == "event_callback" and body["event"].get("type") in ("message", "app_mention"):
            return message_event(body, bot_user_id)
        return None
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:  # pydantic's errors are ValueErrors
        raise Malformed(f"{body.get('type') or 'command'}: {type(exc).__name__}") from None


def signed_by_slack(secret: bytes, raw: bytes, timestamp: str | None, signature: str | None,
                    now: Callable[[], float] = time.time) -> bool:
    """Slack's v0 signature over the raw bytes, within the replay window — checked before anything is decoded."""
    if not timestamp or not signature or not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    if abs(now() - int(timestamp)) > REPLAY_WINDOW:
        return False
    expected = "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


class SlackAdapter:
    """Neutral events → the router, which records, acknowledges and processes: commands straight from the
    verified request, everything else through Bolt's listeners (and all of Socket Mode)."""

    def __init__(self, *, settings: SlackSettings, router: Inbox, config: AppConfig, state, clock: Clock):
        self.router = router
        self.config = config
        secret = settings.signing_secret.get_secret_value()
        self.client = AsyncWebClient(token=settings.bot_token.get_secret_value(), base_url=settings.api_base_url)
        self.secret = secret.encode()
        self.identity = SlackIdentity(client=self.client, state=state, clock=clock)
        self.messenger = SlackMessenger(self.client, files_base_url=settings.files_base_url)

        async def authorize(enterprise_id, team_id, user_id):  # Bolt passes arguments by these names
            return await self.identity.authorize(enterprise_id, team_id, user_id)

        # authorize: the identity without a live auth.test (Bolt's own refuses every request while it fails).
        self.bolt = AsyncApp(client=self.client, signing_secret=secret, request_verification_enabled=False,
                             authorize=authorize)
        self.app_token = settings.app_token.get_secret_value() if settings.app_token else None
        self._register()

    def _register(self) -> None:
        bolt, router = self.bolt, self.router

        @bolt.command(re.compile(r"^/.+"))
        async def on_command(ack, body):
            await self._maybe_form(command_event(body), body, ack)

        @bolt.event("app_mention")
        async def on_mention(ack, body, context):
            await self._message(ack, body, context)

        @bolt.event("message")
        async def on_message(ack, body, context):
            await self._message(ack, body, context)

        @bolt.action(re.compile("^" + re.escape(ACTIONS)))
        async def on_action(ack, body):
            await self._maybe_form(action_event(body), body, ack)

        @bolt.view(re.compile("^(" + "|".join(map(re.escape, CALLBACKS)) + ")$"))
        async def on_form(ack, body):
            event = form_event(body)
            errors = await router.check_form(event)
            if errors:  # shown beside the fields, in the submitter's language; nothing is recorded or changed
                await ack(response_action="errors", errors=errors)
                return
            await router.deliver(event, ack, background=True)

    def _opens_form(self, event: Event, body: dict) -> bool:
        return bool(body.get("trigger_id")) and self.router.opens_form(event)

    async def _maybe_form(self, event: Event, body: dict, ack) -> None:
        """A press or command that opens a form: acknowledged, then the modal opened with its trigger id (valid
        3 s). When no form opens for this person now (settled, not theirs) or Slack refuses the view, the event
        goes on as any other: its handler says why, or how to do the same by message."""
        if not self._opens_form(event, body):
            await self.router.deliver(event, ack, background=True)
            return
        await ack()
        form = await self.router.form_for(event)
        if form is not None:
            try:
                await self.client.views_open(trigger_id=body["trigger_id"], view=form_view(form, event.conversation))
                return
            except SlackApiError as exc:
                log.warning("slack: views.open refused (%s); answering the press by message",
                            exc.response.get("error"))
        await self.router.deliver(event, background=True)

    async def _message(self, ack, body, context) -> None:
        event = message_event(body, context.get("bot_user_id"))
        if event is None:
            await ack()
            return
        await self.router.deliver(event, ack, background=True)

    async def handle(self, request: web.Request) -> web.Response:
        """POST /slack/events: commands, interactivity and events at one URL."""
        raw = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not signed_by_slack(self.secret, raw, headers.get("x-slack-request-timestamp"),
                               headers.get("x-slack-signature")):
            log.info("slack: refused a request without a valid signature")
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            body = parse_body(raw.decode("utf-8"), request.content_type or "")
        except (Malformed, UnicodeDecodeError) as exc:
            log.warning("slack: refused a signed but malformed request: %s", exc)
            return web.json_response({"error": "malformed body"}, status=400)
        response = await self.answer(body, headers)
        return web.Response(status=response.status, body=response.body,
                            headers={k: v[0] for k, v in response.headers.items() if k in ("content-type",)})

    async def answer(self, body: dict, headers: dict[str, str]) -> BoltResponse:
        """A verified body → Slack's answer, over HTTP and Socket Mode alike."""
        try:
            event = to_event(body)  # the shape anything reads, checked before Bolt sees the body
        except Malformed as exc:
            log.warning("slack: refused a signed but malformed request: %s", exc)
            return BoltResponse(status=400, body={"error": "malformed body"})
        kind = slack_shapes.kind_of(body, CALLBACKS, ACTIONS)
        if kind is Kind.CHALLENGE:
            return BoltResponse(status=200, body={"challenge": body.get("challenge")})
        if kind is Kind.UNUSED:
            # Slack counts every non-2xx against the app (and may turn its events off): acknowledged, one line.
            log.debug("slack: acknowledged %s, which the bot does not use", slack_shapes.describe(body))
            return BoltResponse(status=200)
        if kind is Kind.LIFECYCLE:
            self._lifecycle(body)
            return BoltResponse(status=200)
        if isinstance(event, CommandIssued) and not self._opens_form(event, body):
            # Verified and complete: record, acknowledge, process in the pool. Bolt's dispatch (middleware chain,
            # a listener task, an ack polled every 10 ms) would only add to the 3 s Slack allows.
            await self.router.deliver(event, background=True)
            return BoltResponse(status=200)
        bolt_request = AsyncBoltRequest(body=body, headers={k: [v] for k, v in headers.items()}, mode="socket_mode")
        try:
            return await self.bolt.async_dispatch(bolt_request)
        except Exception as exc:  # Bolt's own reading of an odd body (its listeners' failures it answers itself)
            log.warning("slack: refused a request Bolt could not read: %s: %s", type(exc).__name__, exc)
            return BoltResponse(status=400, body={"error": "malformed body"})

    def _lifecycle(self, body: dict) -> None:
        """app_uninstalled, or the bot's token revoked: nothing more can be sent there, so nothing more is tried."""
        event, team = body["event"], body.get("team_id") or "?"
        if event["type"] == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
            log.debug("slack: user tokens revoked in %s; the bot's own token stands", team)
            return
        if self.messenger.stopped is None:
            log.warning("slack: %s in workspace %s: sends there stop until the app is installed again and "
                        "restarted with its new token", event["type"], team)
        self.messenger.stop(f"{event['type']} in {team}")

    async def _socket_request(self, client, request) -> None:
        """A Socket Mode request (the socket is the proof it came from Slack): answered as over HTTP."""
        from slack_bolt.adapter.socket_mode.async_internals import send_async_response

        started = time.time()
        payload = request.payload if isinstance(request.payload, dict) else {}
        await send_async_response(client, request, await self.answer(payload, {}), started)

    def add_routes(self, app: web.Application) -> None:
        """Add the HTTP endpoint, and Socket Mode when an app-level token is configured."""
        app.router.add_post("/slack/events", self.handle)
        app.on_cleanup.append(self.identity.stop)
        if self.app_token:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            handler = AsyncSocketModeHandler(self.bolt, self.app_token)
            handler.client.socket_mode_request_listeners[:] = [self._socket_request]  # one answer for both ways

            async def socket_mode(_app):
                await handler.connect_async()
                yield
                await handler.close_async()

            app.cleanup_ctx.append(socket_mode)


def mount(app: web.Application, router: Inbox, settings: Settings, wiring: Wiring) -> SlackMessenger:
    """Mount /slack/events (and Socket Mode); returns the messenger, on the same client as Bolt."""
    adapter = SlackAdapter(settings=settings.slack, router=router, config=wiring.config, state=wiring.state,
                           clock=wiring.clock)
    adapter.add_routes(app)
    return adapter.messenger
