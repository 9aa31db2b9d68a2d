"""Slack files on the wire: a shared screenshot is downloaded from url_private with the bot token, kept with the
ticket, and uploaded (files upload v2) under the ticket's card where agents work; limits and hosts hold."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

from aiohttp import web

from bot.app import SERVICES
from bot.config import load_config
from tests.harness import EXAMPLE_CONFIG
from tests.platforms.slack_world import start_slack

PNG = (Path(__file__).resolve().parent.parent / "fixtures" / "files" / "screenshot.png").read_bytes()
CUSTOMER, ALICE = "U0CUST", "U0ALICE"


def file_share(slack, url: str, *, event_id="Ev0002FILE", ts="1700000200.000100", size=70,
               text="付款页面报错，截图如下", channel="D0CUST", user=CUSTOMER, thread_ts=None) -> dict:
    """The captured file_share DM, its file served at `url`."""
    body = json.loads(json.dumps(slack.fixture("event_file_share_dm")))
    event = body["event"]
    body["event_id"], event["ts"], event["text"], event["channel"], event["user"] = event_id, ts, text, channel, user
    event["files"][0].update(url_private=url, url_private_download=url, size=size)
    if thread_ts:
        event["thread_ts"] = thread_ts
    return body


async def attachments(slack, ticket_id=1):
    async with slack.client.app[SERVICES].store.unit() as uow:
        return await uow.attachments.attachments_of(ticket_id)


def uploads_to(slack, channel):
    return [a for a in slack.fake.of("files.completeUploadExternal") if a.get("channel_id") == channel]


async def test_a_customers_screenshot_reaches_the_agent_under_the_triage_card(slack):
    url = slack.fake.host_file("T0OURS-F0SHOT01/download/screenshot.png", PNG)
    assert (await slack.event(file_share(slack, url))).status == 200
    card = (await slack.eventually(slack.triage_cards))[0]
    [uploaded] = await slack.eventually(lambda: uploads_to(slack, "C0TRIAGE"))
    assert uploaded["thread_ts"] == card["ts"], "the picture sits under the ticket's card"
    assert list(slack.fake.uploads.values()) == [PNG]
    assert slack.fake.downloads == [{"path": "T0OURS-F0SHOT01/download/screenshot.png",
                                     "authorization": "Bearer xoxb-test"}]
    [record] = await attachments(slack)
    assert (record.name, record.mime, record.size, record.sha256) == (
        "screenshot.png", "image/png", len(PNG), hashlib.sha256(PNG).hexdigest())
    assert record.public and record.actor and record.entry_id is not None
    async with slack.client.app[SERVICES].store.unit() as uow:
        [created] = [e for e in await uow.timeline(1) if e.kind == "created"]
    assert "付款页面报错" in created.text


async def test_a_file_in_a_later_message_goes_under_the_card_and_a_redelivered_one_is_kept_once(slack):
    await slack.say(CUSTOMER, "The payment page fails", "D0CUST")
    card = (await slack.eventually(slack.triage_cards))[0]
    url = slack.fake.host_file("T0OURS-F0SHOT01/download/screenshot.png", PNG)
    await slack.event(file_share(slack, url, text=""))
    [first] = await slack.eventually(lambda: uploads_to(slack, "C0TRIAGE"))
    assert first["thread_ts"] == card["ts"]
    # The same picture again (another message: a client's redelivery, or sent twice): one attachment.
    await slack.event(file_share(slack, url, event_id="Ev0009AGAIN", ts="1700000900.000100", text="again"))
    await slack.eventually(lambda: [a for a in slack.fake.of("chat.postMessage") if "again" in a.get("text", "")])
    await asyncio.sleep(0.2)
    assert len(await attachments(slack)) == 1
    assert len(uploads_to(slack, "C0TRIAGE")) == 1


async def test_an_oversize_file_is_refused_in_the_senders_language_and_the_text_still_lands(
        database_url, aiohttp_client, aiohttp_server, monkeypatch):
    config = load_config(EXAMPLE_CONFIG)
    config.attachments.max_bytes = 50
    slack = await start_slack(database_url=database_url, aiohttp_client=aiohttp_client, aiohttp_server=aiohttp_server,
                              monkeypatch=monkeypatch, config=config)
    url = slack.fake.host_file("T0OURS-F0SHOT01/download/screenshot.png", PNG)
    await slack.event(file_share(slack, url))  # declared 70 bytes: refused before a byte is read
    told = await slack.eventually(lambda: [t for t in slack.texts_to("D0CUST") if "50 B" in t])
    assert "screenshot.png" in told[0] and "其余内容已收到" in told[0]
    assert slack.fake.downloads == []
    await slack.eventually(lambda: [t for t in slack.texts_to("D0CUST") if "T-000001" in t])
    # A file declared small but larger on the wire is cut off while reading.
    await slack.event(file_share(slack, url, event_id="Ev0010LIE", ts="1700001000.000100", size=10, text="再试一次"))
    await slack.eventually(lambda: len([t for t in slack.texts_to("D0CUST") if "50 B" in t]) == 2)
    assert len(slack.fake.downloads) == 1
    assert await attachments(slack) == [] and uploads_to(slack, "C0TRIAGE") == []


async def test_a_file_url_off_slacks_hosts_is_never_fetched(slack, aiohttp_server):
    elsewhere = []

    async def record(request):
        elsewhere.append(request.headers.get("Authorization"))
        return web.Response(body=PNG, content_type="image/png")
    app = web.Application()
    app.router.add_get("/{path:.*}", record)
    server = await aiohttp_server(app)
    await slack.event(file_share(slack, str(server.make_url("/steal.png")), text="My export fails"))
    told = await slack.eventually(lambda: [t for t in slack.texts_to("D0CUST") if "screenshot.png" in t])
    assert "fetch" in told[0]
    await slack.eventually(lambda: [t for t in slack.texts_to("D0CUST") if "T-000001" in t])
    assert elsewhere == [], "neither a request nor the bot token went anywhere but Slack"
    assert await attachments(slack) == []


async def test_an_agents_file_with_reply_reaches_the_customer_and_a_notes_file_stays_internal(slack):
    await slack.say(CUSTOMER, "The payment page fails", "D0CUST")
    card = (await slack.eventually(slack.triage_cards))[0]
    note = slack.fake.host_file("T0OURS-F0NOTE/log.txt", b"stack trace", "text/plain")
    await slack.event(file_share(slack, note, event_id="Ev0011NOTE", ts="1700001100.000100", text="server log",
                                 channel="C0TRIAGE", user=ALICE, thread_ts=card["ts"]))
    await slack.eventually(lambda: len(slack.fake.downloads) == 1)
    fix = slack.fake.host_file("T0OURS-F0FIX/fixed.png", PNG)
    await slack.event(file_share(slack, fix, event_id="Ev0012FIX", ts="1700001200.000100",
                                 text="reply: fixed, see the picture", channel="C0TRIAGE", user=ALICE,
                                 thread_ts=card["ts"]))
    [sent] = await slack.eventually(lambda: uploads_to(slack, "D0CUST"))
    assert slack.fake.uploads[json.loads(sent["files"])[0]["id"]] == PNG
    await slack.eventually(lambda: [t for t in slack.texts_to("D0CUST") if "fixed, see the picture" in t])
    await asyncio.sleep(0.3)
    assert len(uploads_to(slack, "D0CUST")) == 1, "the note's log never reaches the customer"
    internal, public = await attachments(slack)
    assert (internal.mime, internal.public, public.mime, public.public) == ("text/plain", False, "image/png", True)


async def test_show_lists_the_files_and_file_sends_one_again_never_an_internal_one_to_a_customer(slack):
    url = slack.fake.host_file("T0OURS-F0SHOT01/download/screenshot.png", PNG)
    await slack.event(file_share(slack, url, text="The payment page fails"))
    card = (await slack.eventually(slack.triage_cards))[0]
    log = slack.fake.host_file("T0OURS-F0NOTE/server.log", b"stack trace", "text/plain")
    await slack.event(file_share(slack, log, event_id="Ev0013LOG", ts="1700001300.000100", text="the log",
                                 channel="C0TRIAGE", user=ALICE, thread_ts=card["ts"]))
    await slack.eventually(lambda: len(slack.fake.downloads) == 2)
    await asyncio.sleep(0.2)
    await slack.command(ALICE, "show T-000001", channel="D0ALICE")
    [listed] = await slack.eventually(lambda: [t for t in slack.texts_to("D0ALICE") if t.startswith("Files of")])
    lines = listed.splitlines()[1:]
    assert lines[0].startswith("1. screenshot.png · 70 B · U0CUST · ")
    assert lines[1].startswith("2. screenshot.png · 11 B · Alice Wang · ") and lines[1].endswith("· internal")
    await slack.command(ALICE, "file T-000001 1", channel="D0ALICE")
    [again] = await slack.eventually(lambda: uploads_to(slack, "D0ALICE"))
    assert slack.fake.uploads[json.loads(again["files"])[0]["id"]] == PNG
    await slack.command(ALICE, "file T-000001 3", channel="D0ALICE")
    await slack.eventually(lambda: [a for a in slack.fake.of("chat.postEphemeral") if "has no file 3; it has 2" in a["text"]])
    # The customer sees their own ticket's files, never the internal log.
    await slack.command(CUSTOMER, "file T-000001", channel="D0CUST")
    [theirs] = await slack.eventually(lambda: [t for t in slack.texts_to("D0CUST") if t.startswith("Files of")])
    assert len(theirs.splitlines()) == 2 and "internal" not in theirs
    await slack.command(CUSTOMER, "file T-000001 2", channel="D0CUST")
    await slack.eventually(lambda: [a for a in slack.fake.of("chat.postEphemeral") if "has no file 2; it has 1" in a["text"]])
    await slack.command(CUSTOMER, "file T-000001 1", channel="D0CUST")
    await slack.eventually(lambda: uploads_to(slack, "D0CUST"))
    await asyncio.sleep(0.3)
    assert [slack.fake.uploads[json.loads(u["files"])[0]["id"]] for u in uploads_to(slack, "D0CUST")] == [PNG]


async def test_with_an_s3_bucket_configured_the_screenshot_is_kept_there(database_url, aiohttp_client, aiohttp_server,
                                                                         monkeypatch, s3_endpoint):
    from aiobotocore.session import get_session

    async with get_session().create_client("s3", endpoint_url=s3_endpoint, region_name="us-east-1") as client:
        await client.create_bucket(Bucket="slack-test")
    monkeypatch.setenv("ATTACHMENTS_URL", f"s3://slack-test/files?endpoint={s3_endpoint}")
    slack = await start_slack(database_url=database_url, aiohttp_client=aiohttp_client, aiohttp_server=aiohttp_server,
                              monkeypatch=monkeypatch)
    url = slack.fake.host_file("T0OURS-F0SHOT01/download/screenshot.png", PNG)
    await slack.event(file_share(slack, url))
    await slack.eventually(lambda: uploads_to(slack, "C0TRIAGE"))
    assert list(slack.fake.uploads.values()) == [PNG], "read back from the bucket to reach the agent"
    async with get_session().create_client("s3", endpoint_url=s3_endpoint, region_name="us-east-1") as client:
        listed = await client.list_objects_v2(Bucket="slack-test")
    assert [o["Key"] for o in listed["Contents"]] == [f"files/{hashlib.sha256(PNG).hexdigest()[:2]}/"
                                                     f"{hashlib.sha256(PNG).hexdigest()}"]
    from sqlalchemy import func, select

    from storage.attachment_tables import AttachmentContentRow
    async with slack.client.app[SERVICES].store.snapshot() as uow:
        assert (await uow.session.execute(select(func.count()).select_from(AttachmentContentRow))).scalar() == 0
