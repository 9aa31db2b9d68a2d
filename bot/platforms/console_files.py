"""The console's files: uploads (the attach button, drag and drop) become messages with files, like any platform's;
attachments are shown inline and served only to the personas who may see them, always as a download (never
rendered as a page by the browser)."""

from __future__ import annotations

import uuid
from html import escape
from urllib.parse import quote

from aiohttp import web

from bot.attachments import AttachmentLimits, Fetched, FileRefused, Refusal, human_size
from bot.events import Actor, ConversationKind, FileRef, MessagePosted, Platform

CHUNK = 64 * 1024
FORM_SLACK = 64 * 1024  # room for the form's text fields and multipart boundaries beside the files
# Types a browser would run or render as a document: served as plain bytes whatever they were sent as.
ACTIVE_TYPES = {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
                "text/javascript", "application/javascript", "application/x-javascript"}
FIELDS = ("as", "conversation", "thread", "id", "text")


def file_html(attachment_id: int, name: str, mime: str, size: int) -> str:
    """A file message as the page shows it: a picture inline, anything else a download link (the page adds the
    persona to each link, and the server checks it may see the file)."""
    label = f"{escape(name)} · {human_size(size)}"
    ident = int(attachment_id)
    if mime.startswith("image/") and mime not in ACTIVE_TYPES:
        return (f'<figure class="file"><img data-attachment="{ident}" alt="{escape(name, quote=True)}">'
                f'<figcaption><a data-attachment="{ident}">📎 {label}</a></figcaption></figure>')
    return f'<div class="file"><a data-attachment="{ident}">📎 {label}</a></div>'


async def read_upload(request: web.Request, limits: AttachmentLimits) -> tuple[dict[str, str], list[tuple[FileRef, bytes]]]:
    """The form's text fields and its files (read in chunks: a file past the limit is not kept, its size stays
    known so the core refuses it with a clear answer); HTTPRequestEntityTooLarge beyond what any allowed upload
    could be, HTTPBadRequest for what is no multipart form."""
    most = limits.max_files * limits.max_bytes + FORM_SLACK
    if request.content_length is not None and request.content_length > most:
        raise web.HTTPRequestEntityTooLarge(max_size=most, actual_size=request.content_length)
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError) as exc:  # aiohttp's answers to a body that is no multipart form
        raise web.HTTPBadRequest(text=f"invalid upload: {type(exc).__name__}") from None
    fields: dict[str, str] = {}
    files: list[tuple[FileRef, bytes]] = []
    seen = 0
    while (part := await reader.next()) is not None:
        if part.filename is None:
            if part.name in FIELDS:
                fields[part.name] = (await part.read_chunk(8 * 1024)).decode("utf-8", "replace")
            await part.release()
            continue
        data, size = bytearray(), 0
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            seen += len(chunk)
            if seen > most:
                raise web.HTTPRequestEntityTooLarge(max_size=most, actual_size=seen)
            if size <= limits.max_bytes:
                data += chunk
        mime = (part.headers.get("Content-Type") or "application/octet-stream").split(";")[0].strip().lower()
        kept = bytes(data) if size <= limits.max_bytes else b""
        files.append((FileRef(name=part.filename or "file", mime=mime, size=size, ref=""), kept))
    return fields, files


class ConsoleFiles:
    """The console messenger's file side and the two routes: upload, and an attachment for a persona."""

    def __init__(self, *, desk, hub, limits: AttachmentLimits):
        self.desk, self.hub, self.limits = desk, hub, limits

    async def fetch_file(self, file: FileRef, *, max_bytes: int) -> Fetched:
        """An upload's bytes, kept when it arrived."""
        data = await self.desk.kept(file.ref) if self.desk is not None else None
        if data is None:
            raise FileRefused(Refusal.UNAVAILABLE, f"no upload {file.ref[:20]!r}")
        if len(data) > max_bytes:
            raise FileRefused(Refusal.TOO_LARGE, f"{len(data)} bytes")
        return Fetched(data, file.mime, file.name)

    async def send_file(self, target, *, name: str, mime: str, data: bytes, attachment_id: int | None = None) -> str:
        """The file in the conversation (its thread when given), shown inline; the page fetches it by id."""
        html = file_html(attachment_id or 0, name, mime, len(data))
        return await self.hub.post(target.id, thread_id=target.thread_id, html=html)

    def add_routes(self, app: web.Application, *, router, who) -> None:
        """POST /console/api/upload and GET /console/api/attachments/{id}; `who(user, conversation, thread)` gives
        the actor and conversation a persona may write in (HTTPBadRequest otherwise)."""
        async def upload(request: web.Request) -> web.Response:
            fields, files = await read_upload(request, self.limits)
            actor, conversation = who(fields.get("as", ""), fields.get("conversation", ""), fields.get("thread") or None)
            if not files and not fields.get("text", "").strip():
                raise web.HTTPBadRequest(text="nothing to send: no file and no text")
            refs = []
            for file, data in files:
                ref = await self.desk.keep(data) if data else ""  # past the limit: the core says so
                refs.append(file.model_copy(update={"ref": ref}))
            event = MessagePosted(delivery_id=(fields.get("id") or uuid.uuid4().hex)[:200], actor=actor,
                                  conversation=conversation, text=fields.get("text", ""), files=tuple(refs),
                                  addressed=conversation.kind is ConversationKind.DM)

            async def show_sent() -> None:  # the page shows what was sent, before the bot's answer
                lines = [fields.get("text", "").strip()] + [f"📎 {f.name} ({human_size(f.size or 0)})" for f in refs]
                await self.hub.record_human(conversation.id, actor.display_name,
                                            "\n".join(line for line in lines if line), conversation.thread_id)
            fresh = await router.deliver(event, on_new=show_sent)
            return web.json_response({"ok": True} if fresh else {"ok": True, "duplicate": True})

        async def attachment(request: web.Request) -> web.Response:
            try:
                attachment_id = int(request.match_info["id"])
            except ValueError:
                raise web.HTTPNotFound() from None
            viewer = request.query.get("as", "")
            found = await self.desk.readable(attachment_id, Actor(platform=Platform.CONSOLE, user_id=viewer)) \
                if viewer and 0 < attachment_id < 2**31 else None
            if found is None:  # unknown, or not theirs to see: the same answer, so nothing is learned
                raise web.HTTPNotFound()
            record, data = found
            mime = "application/octet-stream" if record.mime in ACTIVE_TYPES else record.mime
            return web.Response(body=data, headers={
                "Content-Type": mime, "Content-Disposition": f"attachment; filename*=UTF-8''{quote(record.name)}",
                "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cache-Control": "private, max-age=3600"})

        app.router.add_post("/console/api/upload", upload)
        app.router.add_get("/console/api/attachments/{id}", attachment)
