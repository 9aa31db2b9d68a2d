"""The console's files through its real endpoints: a multipart upload as the page sends it (attach button or drop),
the picture inline where agents work, and attachments served only to the personas who may see them, always as a
download."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp

from bot.app import build_app
from bot.config import Settings, load_config
from tests.harness import EXAMPLE_CONFIG
from tests.platforms.console_world import AGENT, CUSTOMER, messages, send
from tests.waiting import eventually

PNG = (Path(__file__).resolve().parent.parent / "fixtures" / "files" / "screenshot.png").read_bytes()


async def upload(client, who: str, conversation: str, *files: tuple[str, bytes, str], text: str = "",
                 thread: str | None = None, delivery: str | None = None):
    """POST /console/api/upload as the page does: a multipart form with the persona, the text and the files."""
    form = aiohttp.FormData()
    for name, value in (("as", who), ("conversation", conversation), ("text", text), ("thread", thread),
                        ("id", delivery)):
        if value is not None:
            form.add_field(name, value)
    for filename, data, mime in files:
        form.add_field("file", data, filename=filename, content_type=mime)
    return await client.post("/console/api/upload", data=form)


def attachment_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-attachment="(\d+)"', html)]


async def test_a_customers_screenshot_shows_under_the_triage_card_and_only_who_may_see_it_gets_it(console):
    response = await upload(console, CUSTOMER, CUSTOMER, ("screenshot.png", PNG, "image/png"), text="付款页面报错，截图如下")
    assert response.status == 200, await response.text()

    async def picture():
        found = [m for m in await messages(console, AGENT) if m["conversation"] == "triage" and "<img" in m["html"]]
        return found
    [shown] = await eventually(picture)
    cards = [m for m in await messages(console, AGENT) if m["conversation"] == "triage" and m["card"]]
    assert shown["thread"] == cards[0]["ref"], "the picture sits in the card's thread"
    [number] = set(attachment_ids(shown["html"]))
    served = await console.get(f"/console/api/attachments/{number}", params={"as": AGENT})
    assert served.status == 200 and await served.read() == PNG
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["Content-Disposition"] == "attachment; filename*=UTF-8''screenshot.png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert (await console.get(f"/console/api/attachments/{number}", params={"as": CUSTOMER})).status == 200
    # Another customer, or nobody, learns nothing (the same answer as for a file that does not exist).
    for viewer in ("acme-buyer", ""):
        assert (await console.get(f"/console/api/attachments/{number}", params={"as": viewer})).status == 404
    assert (await console.get("/console/api/attachments/999", params={"as": AGENT})).status == 404
    mine = [m for m in await messages(console, CUSTOMER) if not m["bot"]]
    assert "screenshot.png" in mine[0]["html"] and "付款页面报错" in mine[0]["html"], "the page shows what was sent"


async def test_an_internal_file_never_reaches_the_customer_and_a_picture_that_runs_script_is_only_a_download(console):
    await send(console, CUSTOMER, CUSTOMER, "订单页面打不开")
    card = (await eventually(lambda: _cards(console)))[0]
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    response = await upload(console, AGENT, "triage", ("trace.svg", svg, "image/svg+xml"), text="our trace",
                            thread=card["ref"])
    assert response.status == 200

    async def note_file():
        return [m for m in await messages(console, AGENT) if m["thread"] == card["ref"] and "trace.svg" in m["html"]
                and m["bot"] is False]
    await eventually(note_file)
    await asyncio.sleep(0.3)
    from bot.app import SERVICES
    async with console.server.app[SERVICES].store.unit() as uow:
        [record] = await uow.attachments.attachments_of(1)
    assert record.public is False
    assert (await console.get(f"/console/api/attachments/{record.id}", params={"as": CUSTOMER})).status == 404
    served = await console.get(f"/console/api/attachments/{record.id}", params={"as": AGENT})
    assert served.headers["Content-Type"] == "application/octet-stream", "never rendered by the browser"
    assert served.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert not [m for m in await messages(console, CUSTOMER) if "trace.svg" in m["html"]]


async def _cards(console):
    return [m for m in await messages(console, AGENT) if m["conversation"] == "triage" and m["card"]]


async def test_an_oversize_upload_is_refused_in_the_senders_language_and_the_text_still_lands(
        database_url, aiohttp_client, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    config = load_config(EXAMPLE_CONFIG)
    config.attachments.max_bytes = 50
    client = await aiohttp_client(await build_app(Settings(), config=config))
    response = await upload(client, CUSTOMER, CUSTOMER, ("screenshot.png", PNG, "image/png"), text="付款页面报错")
    assert response.status == 200

    async def answers():
        return [m["html"] for m in await messages(client, CUSTOMER) if m["bot"]]
    found = await eventually(lambda: _with(answers, "50 B"))
    assert "screenshot.png" in found[0] and "其余内容已收到" in found[0]
    await eventually(lambda: _with(answers, "T-000001"))
    # Far past anything the limits allow: refused before it is read.
    big = await upload(client, CUSTOMER, CUSTOMER, *[(f"f{n}.png", b"x" * 60, "image/png") for n in range(12)])
    assert big.status in (200, 413)
    garbage = await client.post("/console/api/upload", data=b"not a form", headers={"Content-Type": "text/plain"})
    assert garbage.status == 400


async def _with(fetch, fragment):
    return [html for html in await fetch() if fragment in html]


async def test_a_colleagues_file_with_a_request_answer_lands_on_the_ticket_internal(console):
    await send(console, CUSTOMER, CUSTOMER, "请帮我退款")
    await eventually(lambda: _cards(console))
    await send(console, AGENT, "triage", "/ticket ask T-000001 @finance 请核对发票金额")

    async def request_card():
        return [m for m in await messages(console, "zhao") if m["conversation"] == "zhao" and m["card"] and "R-000001" in m["html"]]
    [card] = await eventually(request_card)
    response = await upload(console, "zhao", "zhao", ("invoice.png", PNG, "image/png"), text="金额无误",
                            thread=card["ref"])
    assert response.status == 200, await response.text()

    async def shown():
        return [m for m in await messages(console, AGENT) if m["conversation"] == "triage" and "<img" in m["html"]]
    [picture] = await eventually(shown)
    from bot.app import SERVICES
    async with console.server.app[SERVICES].store.unit() as uow:
        [record] = await uow.attachments.attachments_of(1)
        answered = [e for e in await uow.timeline(1) if e.kind == "request"][-1]
    assert (record.entry_id, record.public, record.actor) == (answered.id, False, "zhao")
    assert answered.text == "金额无误"
    assert (await console.get(f"/console/api/attachments/{record.id}", params={"as": CUSTOMER})).status == 404
    assert (await console.get(f"/console/api/attachments/{record.id}", params={"as": AGENT})).status == 200
