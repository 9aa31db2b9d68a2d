"""A local fake of Slack's Web API (port 0) that records every call the real slack-sdk client makes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

TEAM, BOT_USER = "T0OURS", "U0BOT"


def slack_sign(secret: str, body: str, timestamp: str | None = None) -> dict[str, str]:
    """Headers exactly as Slack signs a request (v0 HMAC-SHA256 over 'v0:timestamp:body')."""
    timestamp = timestamp or str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Call:
    """One Web API call as the fake received it."""

    method: str
    args: dict
    status: int = 200
    at: float = 0.0  # when it arrived (time.monotonic())


@dataclass
class FakeSlack:
    """Recorded calls, scripted failures, and message timestamps handed out like Slack's."""

    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[tuple[int, dict, dict]]] = field(default_factory=dict)
    ws_url: str = ""
    base_url: str = ""
    uploads: dict[str, bytes] = field(default_factory=dict)  # file id → the bytes posted to its upload_url
    sockets: list = field(default_factory=list)
    latency: float = 0.0  # seconds every Web API call takes, as a real network would
    answer_delay: float = 0.0  # seconds between doing what a call asked and answering it (a slow way back)
    rate_limited_until: float = 0.0  # time.monotonic() until which every call answers 429 Retry-After: 1
    socket_acks: list[dict] = field(default_factory=list)
    # (method, n) → seconds the n-th call of `method` (from 1) waits after doing what it asked, before answering.
    slow: dict[tuple[str, int], float] = field(default_factory=dict)
    # (method, n) → (status, body, headers) the n-th call of `method` (from 1) answers instead of doing it.
    fail_at: dict[tuple[str, int], tuple[int, dict, dict]] = field(default_factory=dict)
    # channel → the messages posted there, oldest first, as conversations.history shows them (with `metadata`),
    # each with `posted`, the time.time() it arrived (the fake's ts values are not times).
    messages: dict[str, list[dict]] = field(default_factory=dict)
    # Files people shared, served at /files-pri/<path> as url_private: path → (bytes, content type); every download
    # is recorded with the Authorization header it carried.
    hosted: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    downloads: list[dict] = field(default_factory=list)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))

    def host_file(self, path: str, data: bytes, mime: str = "image/png") -> str:
        """Serve `data` at url_private `<base>files-pri/<path>`; returns that URL."""
        self.hosted[path] = (data, mime)
        return f"{self.base_url}files-pri/{path}"

    async def file(self, request: web.Request) -> web.Response:
        """url_private: the bytes of a shared file, to a request carrying the bot token (else Slack's sign-in page)."""
        path = request.match_info["path"]
        self.downloads.append({"path": path, "authorization": request.headers.get("Authorization")})
        if path not in self.hosted or not (request.headers.get("Authorization") or "").startswith("Bearer xox"):
            return web.Response(text="<html>sign in</html>", content_type="text/html")
        data, mime = self.hosted[path]
        return web.Response(body=data, content_type=mime)

    def add_message(self, channel: str, text: str = "", *, metadata: dict | None = None,
                    thread_ts: str | None = None, posted: float | None = None) -> str:
        """Put a message in `channel` as if it had been posted (e.g. before a crash); returns its ts."""
        ts = f"1700000000.{next(self._ts):06d}"
        self._store(channel, ts, {"text": text, "metadata": metadata, "thread_ts": thread_ts}, posted)
        return ts

    def _store(self, channel: str, ts: str, args: dict, posted: float | None = None) -> None:
        metadata = args.get("metadata")
        if isinstance(metadata, str):  # form-encoded calls carry it as JSON text
            metadata = json.loads(metadata)
        message = {"type": "message", "ts": ts, "text": args.get("text", ""), "user": BOT_USER,
                   "posted": time.time() if posted is None else posted}
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        if metadata:
            message["metadata"] = metadata
        self.messages.setdefault(channel, []).append(message)

    def _history(self, args: dict, *, thread: str | None) -> dict:
        """conversations.history (newest first, no thread replies) or conversations.replies (oldest first)."""
        channel = self.messages.get(args.get("channel"), [])
        if thread is None:
            found = [m for m in reversed(channel) if m.get("thread_ts") in (None, m["ts"])]
        else:
            found = [m for m in channel if m["ts"] == thread or m.get("thread_ts") == thread]
        if args.get("oldest"):
            found = [m for m in found if m["posted"] > float(args["oldest"])]
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        page = found[start:start + limit]
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        shown = [{k: v for k, v in m.items() if k != "posted" and (with_metadata or k != "metadata")} for m in page]
        more = start + limit < len(found)
        return {"ok": True, "messages": shown, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def fail_next(self, method: str, status: int, body: dict, headers: dict | None = None) -> None:
        """Make the next call of `method` answer with `status`, `body` and `headers`."""
        self.failures.setdefault(method, []).append((status, body, headers or {}))

    def of(self, method: str) -> list[dict]:
        """Arguments of every successful call of `method`, oldest first."""
        return [call.args for call in self.calls if call.method == method and call.status == 200]

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.text()
        if request.content_type == "application/json":
            args = json.loads(raw or "{}")
        else:
            args = dict(parse_qsl(raw))
            if isinstance(args.get("blocks"), str):
                args["blocks"] = json.loads(args["blocks"])
        args.update(request.query)
        call = Call(method, args)
        self.calls.append(call)
        call.at = time.monotonic()
        if self.latency:
            await asyncio.sleep(self.latency)
        if time.monotonic() < self.rate_limited_until:
            call.status = 429
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})
        nth = sum(1 for c in self.calls if c.method == method)
        if self.failures.get(method) or (method, nth) in self.fail_at:
            status, body, headers = self.fail_at.pop((method, nth), None) or self.failures[method].pop(0)
            call.status = status
            return web.json_response(body, status=status, headers=headers)
        problems = block_problems(args.get("blocks")) if method.startswith("chat.") else []
        if problems:
            # Slack refuses the whole message (HTTP 200, ok false); recorded as refused, so `of()` leaves it out.
            call.status = 400
            return web.json_response({"ok": False, "error": "invalid_blocks", "errors": problems})
        answer = self.answer(method, args)
        delay = self.slow.get((method, nth), self.answer_delay)
        if delay:
            await asyncio.sleep(delay)
        return web.json_response(answer)

    def answer(self, method: str, args: dict) -> dict:
        """What Slack answers to `method` (enough for the calls the bot makes)."""
        ts = f"1700000000.{next(self._ts):06d}"
        match method:
            case "auth.test":
                return {"ok": True, "team_id": TEAM, "user_id": BOT_USER, "bot_id": "B0BOT"}
            case "chat.postMessage":
                self._store(args.get("channel"), ts, args)
                return {"ok": True, "channel": args.get("channel"), "ts": ts}
            case "conversations.history":
                return self._history(args, thread=None)
            case "conversations.replies":
                return self._history(args, thread=args.get("ts"))
            case "chat.update":
                return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
            case "chat.postEphemeral":
                return {"ok": True, "message_ts": ts}
            case "conversations.open":
                return {"ok": True, "channel": {"id": "D" + str(args.get("users", "")).removeprefix("U")}}
            case "views.open":
                return {"ok": True, "view": {"id": "V1"}}
            case "apps.connections.open":
                return {"ok": True, "url": self.ws_url}
            case "files.getUploadURLExternal":
                file_id = f"F{next(self._ts):08d}"
                return {"ok": True, "upload_url": f"{self.base_url}upload/{file_id}", "file_id": file_id}
            case "files.completeUploadExternal":
                files = json.loads(args.get("files", "[]"))
                return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}
            case "files.info":
                # Like Slack once its scan is done: a mimetype only for files whose bytes arrived.
                known = args.get("file") in self.uploads
                return {"ok": True, "file": {"id": args.get("file"), "mimetype": "image/png" if known else ""}}
        return {"ok": True}

    async def upload(self, request: web.Request) -> web.Response:
        """The upload_url step of files.uploadV2: the raw bytes of one file."""
        self.uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text="OK - 42")


    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, then record every acknowledgement the app sends back."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0APP"}})
        async for message in ws:
            if message.type.name == "TEXT":
                self.socket_acks.append(json.loads(message.data))
        return ws


# Where Block Kit allows an interactive element in a message: an actions block's elements, a section's accessory.
_SELECTS = {"static_select", "users_select", "conversations_select", "channels_select", "external_select"}
_ACCESSORIES = _SELECTS | {"button", "overflow", "datepicker", "image", "checkboxes", "radio_buttons", "timepicker"}


def block_problems(blocks) -> list[str]:
    """What Slack would refuse in a message's blocks (the rules the bot's cards touch), as its `errors` list."""
    if not blocks:
        return []
    problems = [] if len(blocks) <= 50 else ["no more than 50 items allowed [json-pointer:/blocks]"]
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    problems += [f"duplicate block_id {i!r}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    for n, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{n}]"
        if block.get("type") == "actions" and not 1 <= len(block.get("elements", [])) <= 25:
            problems.append(f"an actions block holds 1 to 25 elements {where}")
        if block.get("type") == "section":
            if not (block.get("text") or {}).get("text") and not block.get("fields"):
                problems.append(f"a section needs text or fields {where}")
            accessory = block.get("accessory")
            if accessory is not None and (not isinstance(accessory, dict) or accessory.get("type") not in _ACCESSORIES):
                problems.append(f"not a section accessory {where}/accessory")
        if block.get("type") == "input":
            problems.append(f"input blocks belong in modals, not messages {where}")
    return problems


async def start_fake_slack(aiohttp_server) -> tuple[FakeSlack, str]:
    """Serve the fake on a free port; returns it and the base URL for the SDK client."""
    fake = FakeSlack()
    app = web.Application()
    app.router.add_post("/api/{method}", fake.handle)
    app.router.add_get("/api/{method}", fake.handle)
    app.router.add_get("/ws", fake.websocket)
    app.router.add_post("/upload/{file_id}", fake.upload)
    app.router.add_get("/files-pri/{path:.+}", fake.file)

    async def close_sockets(_app):
        for ws in fake.sockets:  # as Slack would, so the server does not wait on open handlers at shutdown
            await ws.close()
    app.on_shutdown.append(close_sockets)
    server = await aiohttp_server(app)
    fake.ws_url = str(server.make_url("/ws")).replace("http://", "ws://")
    fake.base_url = str(server.make_url("/"))
    return fake, str(server.make_url("/api/"))


def form(**fields) -> str:
    """A form-encoded body as Slack posts slash commands."""
    return urlencode(fields)
