"""DingTalk Stream mode (DINGTALK_STREAM=1): robot messages and card callbacks over the official dingtalk-stream
SDK's WebSocket, for bots without a public address — the way most DingTalk bots run.

The SDK parses the frames, routes them by topic to our handlers and sends each ack in the shape DingTalk expects
(SYSTEM pings echoed, CALLBACKs acked with their messageId). Two things of version 0.24.3 are replaced through
its public surface, by subclassing the client: the gateway URL is a module constant read when the SDK is
imported, and its `open_connection` and connection loop call blocking `requests` on the event loop and swallow
cancellation (no way to stop). Our `open_connection` posts the same body with aiohttp to the configured base URL,
and our `start` loop reconnects after a dropped connection with a growing pause and stops when asked.
"""

from __future__ import annotations

import asyncio
import json
import logging
import platform
from urllib.parse import quote_plus

import aiohttp
import dingtalk_stream
import websockets
from aiohttp import web
from dingtalk_stream import AckMessage, CallbackHandler, CallbackMessage, ChatbotMessage
from dingtalk_stream.version import VERSION_STRING

from bot.platforms import Malformed
from bot.platforms.dingtalk import DingTalkInbound

log = logging.getLogger(__name__)
OPEN_PATH = "/v1.0/gateway/connections/open"
FIRST_PAUSE, LONGEST_PAUSE = 1.0, 30.0  # seconds between reconnection attempts, doubling while they fail


class InboundHandler(CallbackHandler):
    """One topic's CALLBACK frames → DingTalkInbound; acked only once the delivery is recorded (never lost)."""

    def __init__(self, inbound: DingTalkInbound, *, card: bool):
        super().__init__()
        self.inbound, self.card = inbound, card

    async def process(self, callback: CallbackMessage):
        """Record and deliver the frame's body; the ack's code says DingTalk may forget it (200) or not."""
        # A card callback's own id is the frame's messageId; a robot message is known by its msgId.
        delivery = f"card:{callback.headers.message_id}" if self.card else None
        try:
            await self.inbound.receive(callback.data, delivery_id=delivery)
        except (Malformed, ValueError) as exc:
            log.warning("dingtalk stream: refused a malformed %s: %s", callback.headers.topic, exc)
            return AckMessage.STATUS_BAD_REQUEST, "malformed"
        except Exception:  # not recorded (e.g. the database is away): DingTalk delivers it again
            log.exception("dingtalk stream: could not take a %s", callback.headers.topic)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "not taken"
        return AckMessage.STATUS_OK, "OK"


class StreamClient(dingtalk_stream.DingTalkStreamClient):
    """The SDK's client with a configurable gateway, an asynchronous connection loop and a way to stop."""

    def __init__(self, credential: dingtalk_stream.Credential, *, endpoint: str):
        super().__init__(credential, logger=logging.getLogger("dingtalk_stream.client"))
        self.endpoint = endpoint.rstrip("/")
        self.connections = 0  # how many times the socket was opened (a reconnect counts again)
        self._stopping = asyncio.Event()

    def get_host_ip(self) -> str:
        """Not the SDK's probe of a public address: the gateway only logs this."""
        return ""

    async def open_connection_async(self) -> dict | None:
        """The SDK's open_connection, with aiohttp against the configured base: {endpoint, ticket} or None."""
        topics = [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map]
        body = {"clientId": self.credential.client_id, "clientSecret": self.credential.client_secret,
                "subscriptions": topics, "ua": f"dingtalk-sdk-python/v{VERSION_STRING}-union",
                "localIp": self.get_host_ip()}
        headers = {"Accept": "application/json",
                   "User-Agent": f"DingTalkStream/1.0 ticketbot Python/{platform.python_version()}"}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, \
                    session.post(self.endpoint + OPEN_PATH, json=body, headers=headers) as response:
                answer = await response.json(content_type=None)
                if response.status >= 400 or not isinstance(answer, dict) or "endpoint" not in answer:
                    log.error("dingtalk stream: the gateway refused to open a connection: %s %s", response.status,
                              answer)
                    return None
                return answer
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.error("dingtalk stream: cannot reach the gateway: %s", exc)
            return None

    async def start(self) -> None:
        """Connect, serve frames, reconnect after a drop (pausing longer while it keeps failing), until stop()."""
        self.pre_start()
        pause = FIRST_PAUSE
        while not self._stopping.is_set():
            connection = await self.open_connection_async()
            if connection is not None:
                uri = f'{connection["endpoint"]}?ticket={quote_plus(connection["ticket"])}'
                try:
                    async with websockets.connect(uri) as websocket:
                        self.websocket = websocket
                        self.connections += 1
                        pause = FIRST_PAUSE  # connected: a later drop starts the pauses afresh
                        log.info("dingtalk stream: connected")
                        await self._serve(websocket)
                except (OSError, websockets.exceptions.WebSocketException) as exc:
                    log.warning("dingtalk stream: connection lost: %s", exc)
            if self._stopping.is_set():
                break
            try:  # wait before trying again, unless told to stop meanwhile
                await asyncio.wait_for(self._stopping.wait(), pause)
            except TimeoutError:
                pause = min(pause * 2, LONGEST_PAUSE)

    async def _serve(self, websocket) -> None:
        tasks: set[asyncio.Task] = set()  # kept until done: the loop holds tasks only weakly
        async for raw in websocket:  # ends when the socket closes (a drop, or stop())
            # Each frame is handled on its own, as the SDK does: a slow one never holds the next.
            task = asyncio.create_task(self.background_task(json.loads(raw)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def stop(self) -> None:
        """Stop reconnecting and close the socket."""
        self._stopping.set()
        if self.websocket is not None:
            await self.websocket.close()


def stream_client(inbound: DingTalkInbound, *, app_key: str, app_secret: str, endpoint: str) -> StreamClient:
    """A client subscribed to robot messages and card callbacks, delivering both through `inbound`."""
    client = StreamClient(dingtalk_stream.Credential(app_key, app_secret), endpoint=endpoint)
    client.register_callback_handler(ChatbotMessage.TOPIC, InboundHandler(inbound, card=False))
    client.register_callback_handler(CallbackHandler.TOPIC_CARD_CALLBACK, InboundHandler(inbound, card=True))
    return client


STREAM = web.AppKey("dingtalk_stream", StreamClient)


def run_stream(app: web.Application, *, inbound: DingTalkInbound, app_key: str, app_secret: str,
               endpoint: str) -> StreamClient:
    """Run the Stream client while the app serves: started after the app's own start-up (the router takes
    deliveries by then), stopped at shutdown, before the router and the database go."""
    client = stream_client(inbound, app_key=app_key, app_secret=app_secret, endpoint=endpoint)
    app[STREAM] = client
    running: list[asyncio.Task] = []

    async def start(_app: web.Application) -> None:
        running.append(asyncio.create_task(client.start(), name="dingtalk-stream"))

    async def stop(_app: web.Application) -> None:
        await client.stop()
        for task in running:
            try:
                await asyncio.wait_for(task, 5)
            except TimeoutError:
                log.warning("dingtalk stream: the client did not stop within 5 s")

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
    return client
