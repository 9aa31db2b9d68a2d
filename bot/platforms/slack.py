"""Slack: slack-bolt AsyncApp on our aiohttp app (or Socket Mode), and SlackMessenger for the outbox."""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.events import (
    Actor,
    ButtonPressed,
    CommandIssued,
    Conversation,
    ConversationKind,
    FormSubmitted,
    MessagePosted,
    Platform,
)
from bot.platforms.slack_modal import INTAKE_CALLBACK, intake_modal, read_intake
from bot.ports import Pacing, PacingDelay, SendError
from cards.slack import fallback_text, render_blocks

log = logging.getLogger(__name__)
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")


def neutral_text(text: str) -> str:
    """Slack's mention markup `<@U1|name>` → the neutral `@U1` the command grammar understands."""
    return _MENTION.sub(lambda m: "@" + m.group(1), text)


def kind_of(channel_id: str) -> ConversationKind:
    """Slack's id prefixes: D… direct message, G… private group, C… channel."""
    return ConversationKind.DM if channel_id.startswith("D") else ConversationKind.CHANNEL


def command_event(body: dict) -> CommandIssued:
    """A slash command → CommandIssued (the trigger id is unique per invocation)."""
    channel = body.get("channel_id", "")
    return CommandIssued(
        delivery_id=f"cmd:{body.get('trigger_id') or body.get('response_url')}",
        actor=Actor(platform=Platform.SLACK, user_id=body["user_id"], display_name=body.get("user_name", "")),
        conversation=Conversation(platform=Platform.SLACK, id=channel, kind=kind_of(channel)),
        text=neutral_text(body.get("text", "")),
    )


def message_event(body: dict, bot_user_id: str | None) -> MessagePosted | None:
    """A message or app_mention → MessagePosted; None for bot, edited or system messages."""
    event = body.get("event", {})
    if event.get("subtype") or event.get("bot_id") or not event.get("user") or event.get("user") == bot_user_id:
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
    """The request body as Slack meant it: JSON, an interactivity `payload`, or a plain form.

    Bolt's own parser treats any form body containing the word "payload" as interactivity, which loses
    slash commands such as `/ticket new payload too big`; parsing here by key avoids that.
    """
    if content_type.startswith("application/json") or raw.lstrip().startswith("{"):
        return json.loads(raw)
    form = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" in form and "command" not in form:
        return json.loads(form["payload"])
    return form


class SlackMessenger:
    """Posts and updates messages through the real slack-sdk client (base URL configurable)."""

    platform = Platform.SLACK
    pacing = Pacing(per_conversation=1.0)  # Slack allows about one message per second per channel

    def __init__(self, client: AsyncWebClient):
        self.client = client
        self._dm_channels: dict[str, str] = {}

    async def _channel(self, target: Conversation) -> str:
        """A DM addressed by user id is opened first (conversations.open), then cached."""
        if target.kind is not ConversationKind.DM or target.id[:1] == "D":
            return target.id
        if target.id not in self._dm_channels:
            response = await self._call(self.client.conversations_open, users=target.id)
            self._dm_channels[target.id] = response["channel"]["id"]
        return self._dm_channels[target.id]

    async def _call(self, method, **kwargs):
        try:
            return await method(**kwargs)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error") if hasattr(exc.response, "get") else str(exc)
            if status == 429:
                retry_after = float(exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after", 1)))
                # Not a failure of the message: wait as Slack says, without spending one of its attempts.
                raise PacingDelay(f"slack rate limited: {error}", retry_after=retry_after) from None
            permanent = error in {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth",
                                  "account_inactive", "user_not_found", "message_not_found", "cant_update_message"}
            raise SendError(f"slack {error}", permanent=permanent) from None

    async def post(self, target: Conversation, *, text=None, card=None, ephemeral_user=None) -> str | None:
        """chat.postMessage (or chat.postEphemeral); returns the message ts."""
        channel = await self._channel(target)
        payload = {"channel": channel, "text": text or ""}
        if card is not None:
            payload.update(text=fallback_text(card), blocks=render_blocks(card))
        if target.thread_id:
            payload["thread_ts"] = target.thread_id
        if ephemeral_user:
            response = await self._call(self.client.chat_postEphemeral, user=ephemeral_user, **payload)
            return response.get("message_ts")
        response = await self._call(self.client.chat_postMessage, **payload)
        return response["ts"]

    async def update(self, target: Conversation, message_ref: str, card) -> str | None:
        """chat.update of a card in place."""
        channel = await self._channel(target)
        await self._call(self.client.chat_update, channel=channel, ts=message_ref, text=fallback_text(card),
                         blocks=render_blocks(card))
        return message_ref


class SlackAdapter:
    """Wires Bolt listeners to the router: record the delivery, acknowledge, then work."""

    def __init__(self, *, settings, router, config):
        self.router = router
        self.config = config
        self.client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_base_url)
        self.verifier = SignatureVerifier(settings.slack_signing_secret)
        self.bolt = AsyncApp(client=self.client, signing_secret=settings.slack_signing_secret,
                             request_verification_enabled=False)
        self.messenger = SlackMessenger(self.client)
        self.app_token = settings.slack_app_token
        self._register()

    def _register(self) -> None:
        bolt = self.bolt

        @bolt.command(re.compile(r"^/.+"))
        async def on_command(ack, body, client):
            event = command_event(body)
            if event.text.strip().lower() in ("new", "新建") and body.get("trigger_id"):
                await ack()
                await client.views_open(trigger_id=body["trigger_id"],
                                        view=intake_modal(body.get("channel_id", ""), self.config))
                return
            await self._accept_ack_process(event, ack)

        @bolt.event("app_mention")
        async def on_mention(ack, body, context):
            await self._message(ack, body, context)

        @bolt.event("message")
        async def on_message(ack, body, context):
            await self._message(ack, body, context)

        @bolt.action(re.compile(r"^tb:"))
        async def on_action(ack, body):
            await self._accept_ack_process(action_event(body), ack)

        @bolt.view(INTAKE_CALLBACK)
        async def on_intake(ack, body):
            fields, errors, channel = read_intake(body["view"])
            if errors:
                await ack(response_action="errors", errors=errors)
                return
            user = body["user"]
            event = FormSubmitted(
                delivery_id=f"view:{body['view']['id']}:{body['view'].get('hash', '')}",
                actor=Actor(platform=Platform.SLACK, user_id=user["id"], display_name=user.get("name", "")),
                conversation=Conversation(platform=Platform.SLACK, id=channel or user["id"],
                                          kind=kind_of(channel) if channel else ConversationKind.DM),
                form=INTAKE_CALLBACK, fields=fields)
            await self._accept_ack_process(event, ack)

    async def _message(self, ack, body, context) -> None:
        event = message_event(body, context.get("bot_user_id"))
        if event is None:
            await ack()
            return
        await self._accept_ack_process(event, ack)

    async def _accept_ack_process(self, event, ack) -> None:
        """Record first (so an acknowledged delivery is never lost), acknowledge, then do the work."""
        fresh = await self.router.accept(event)
        await ack()
        if fresh:
            await self.router.process(event)

    async def handle(self, request: web.Request) -> web.Response:
        """POST /slack/events: commands, interactivity and events at one URL."""
        raw = await request.text()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not self.verifier.is_valid_request(raw, headers):
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            body = parse_body(raw, request.content_type or "")
        except ValueError:
            return web.json_response({"error": "malformed body"}, status=400)
        if body.get("type") == "url_verification":
            return web.json_response({"challenge": body.get("challenge")})
        bolt_request = AsyncBoltRequest(body=body, headers={k: [v] for k, v in headers.items()}, mode="socket_mode")
        response = await self.bolt.async_dispatch(bolt_request)
        return web.Response(status=response.status, body=response.body,
                            headers={k: v[0] if isinstance(v, list) else v for k, v in response.headers.items()
                                     if k.lower() in ("content-type",)})

    def mount(self, app: web.Application) -> None:
        """Add the HTTP endpoint, and Socket Mode when an app-level token is configured."""
        app.router.add_post("/slack/events", self.handle)
        if self.app_token:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            handler = AsyncSocketModeHandler(self.bolt, self.app_token)

            async def socket_mode(_app):
                await handler.connect_async()
                yield
                await handler.close_async()

            app.cleanup_ctx.append(socket_mode)
