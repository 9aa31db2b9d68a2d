"""WeCom app chat files on the wire: encrypted callbacks of image, voice, location and link messages posted to the
real endpoint; pictures fetched by MediaId from the fake API's media/get, never from the PicUrl a payload names."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from bot.app import SERVICES
from bot.events import Platform
from tests.platforms.wecom_world import FIXTURES, SAMPLE, encrypted
from tests.waiting import eventually

PNG = (FIXTURES.parent / "files" / "screenshot.png").read_bytes()
CUSTOMER = "wangxiaoer"  # in nobody's directory: a customer
MEDIA = "1J9qMdGzNtwPySUzZOXXtZE7Uh5ALiDxH1Sv5T8wvUWuMd7rmBVQEfYgQz3zGbIe6"


def scenario(name: str, **values) -> str:
    xml = (FIXTURES / f"{name}.xml").read_text()
    for key, value in {"corp": SAMPLE["corp_id"], "user": CUSTOMER, "now": str(int(time.time())),
                       "pic_url": "https://example.com/x.png", **values}.items():
        xml = xml.replace("{" + key + "}", value)
    return xml


async def callback(client, xml: str) -> None:
    query, body = encrypted(xml)
    response = await client.post("/wecom/callback", params=query, data=body)
    assert response.status == 200


def to_member(fake, member: str, msgtype: str) -> list[dict]:
    return [body for path, _q, body in fake.calls
            if path == "message/send" and body.get("touser") == member and body.get("msgtype") == msgtype]


async def kept(client, ticket_id: int = 1):
    async with client.server.app[SERVICES].store.unit() as uow:
        return await uow.attachments.attachments_of(ticket_id)


async def test_a_customers_picture_is_fetched_by_media_id_and_reaches_the_assignee(wecom, aiohttp_server):
    client, fake = wecom
    elsewhere = []

    async def record(request):
        elsewhere.append(request.path)
        return web.Response(body=PNG, content_type="image/png")
    app = web.Application()
    app.router.add_get("/{path:.*}", record)
    server = await aiohttp_server(app)
    fake.host(MEDIA, PNG, "image/png")
    await callback(client, scenario("app_image_message", pic_url=str(server.make_url("/x.png"))))
    opened = await eventually(lambda: [t for t in fake.sent(CUSTOMER) if "T-000001" in t])
    assert opened
    services = client.server.app[SERVICES]
    async with services.store.unit() as uow:
        ticket = await uow.get_ticket(1)
    member = services.directory.person(ticket.assignee).identity_on(Platform.WECOM)
    [image] = await eventually(lambda: to_member(fake, member, "image"))
    assert fake.media[image["image"]["media_id"]] == ("image", "image.jpg", PNG)
    assert [f["media_id"] for f in fake.fetches] == [MEDIA]
    assert elsewhere == [], "the PicUrl a payload names is never fetched"
    [record_] = await kept(client)
    assert (record_.name, record_.mime, record_.size) == ("image.jpg", "image/png", len(PNG))


async def test_a_recognized_voice_note_is_taken_as_text(wecom):
    client, fake = wecom
    fake.host("VOICE_MEDIA_ID", b"#!AMR\n" + b"\0" * 30, "audio/amr")
    await callback(client, scenario("app_voice_recognized"))
    await eventually(lambda: [t for t in fake.sent(CUSTOMER) if "T-000001" in t])
    async with client.server.app[SERVICES].store.unit() as uow:
        ticket = await uow.get_ticket(1)
    assert ticket.title == "付款页面一直转圈"
    [voice] = await kept(client)
    assert voice.mime == "audio/amr"


async def test_kinds_the_bot_cannot_use_are_answered_and_open_nothing(wecom):
    client, fake = wecom
    for name in ("app_location_message", "app_link_message", "app_voice_unrecognized"):
        await callback(client, scenario(name))
    answers = await eventually(lambda: len(fake.sent(CUSTOMER)) == 3 and fake.sent(CUSTOMER))
    # Worked side by side in the processing pool: in any order.
    assert [any(word in answer for answer in answers) for word in ("位置", "链接卡片", "语音消息")] == [True] * 3
    assert all("文字" in answer for answer in answers)
    await asyncio.sleep(0.2)
    async with client.server.app[SERVICES].store.unit() as uow:
        assert await uow.get_ticket(1) is None
    assert getattr(fake, "fetches", []) == []
