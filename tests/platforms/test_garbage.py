"""Garbage on every endpoint: unsigned junk and signed-but-malformed bodies get a 4xx (never a 5xx), a log line
without a traceback, and change nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import pytest

from bot.app import SERVICES
from tests.platforms.fake_slack import TEAM, form
from tests.platforms.slack_world import SECRET
from tests.platforms.wecom_world import SAMPLE, callback, encrypted, text_xml

DEEP = "[" * 3000 + "]" * 3000  # deeper than the JSON parser recurses


async def nothing_happened(app) -> bool:
    """No delivery waiting, no ticket, no message queued."""
    store = app[SERVICES].store
    async with store.unit() as uow:
        ticket = await uow.get_ticket(1)
    return ticket is None and await store.pending_deliveries() == [] and await store.outbox_rows() == []


def quietly_logged(caplog) -> bool:
    """A line about the refused request, and no traceback anywhere."""
    records = [r for r in caplog.records if r.name.startswith("bot.")]
    return any(r.levelno == logging.WARNING for r in records) and all(r.exc_info is None for r in caplog.records)


async def refused_quietly(client, fake, caplog, path: str, query: dict, body: str) -> None:
    """A signed, encrypted callback is refused with 400, a warning and no traceback, and changes nothing."""
    caplog.set_level(logging.INFO)
    response = await client.post(path, params=query, data=body)
    assert response.status == 400, await response.text()
    assert await nothing_happened(client.app) and fake.calls == []
    assert quietly_logged(caplog)


@pytest.mark.parametrize(("body", "content_type"), [
    (b"\xff", "application/json"),
    (b"\xff\xfe payload=\xff", "application/x-www-form-urlencoded"),
])
async def test_slack_unsigned_garbage_is_refused(slack, caplog, body, content_type):
    response = await slack.client.post("/slack/events", data=body, headers={"Content-Type": content_type})
    assert response.status == 401
    assert await nothing_happened(slack.client.app) and slack.fake.calls == []


@pytest.mark.parametrize(("body", "content_type"), [
    ("[1]", "application/json"),
    (form(payload='"x"'), "application/x-www-form-urlencoded"),
    (form(token="x", team_id=TEAM, channel_id="C0TRIAGE", command="/ticket", text="new printer jam",
          trigger_id="t.1"), "application/x-www-form-urlencoded"),  # a command without user_id
    (DEEP, "application/json"),
    ('{"type": "event_callback", "event": "x"}', "application/json"),
    ('{"type": "block_actions", "actions": [1], "user": {"id": "U0ALICE"}}', "application/json"),
])
async def test_slack_signed_malformed_bodies_get_400_and_change_nothing(slack, caplog, body, content_type):
    caplog.set_level(logging.INFO)
    response = await slack.post(body, content_type)
    assert response.status == 400, await response.text()
    assert await nothing_happened(slack.client.app) and slack.fake.calls == []
    assert quietly_logged(caplog)


async def test_slack_signed_bytes_that_are_not_utf8_get_400(slack, caplog):
    timestamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + b"\xff{}", hashlib.sha256).hexdigest()
    response = await slack.client.post("/slack/events", data=b"\xff{}", headers={
        "Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"})
    assert response.status == 400
    assert await nothing_happened(slack.client.app) and quietly_logged(caplog)


@pytest.mark.parametrize("body", [b"", b"<", b"\xff", b"<xml></xml>", b"<xml><Encrypt>x</Encrypt></xml>"])
async def test_wecom_unsigned_garbage_is_refused(wecom, body):
    client, fake = wecom
    response = await client.post("/wecom/callback", params={"msg_signature": "", "timestamp": "", "nonce": ""},
                                 data=body)
    assert 400 <= response.status < 500
    assert await nothing_happened(client.app) and fake.calls == []


BOMB = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        '<xml><FromUserName>u</FromUserName><MsgType>text</MsgType><Content>&d;&d;&d;&d;</Content>'
        '<MsgId>1</MsgId></xml>')


def _event(extra: str) -> str:
    return (f"<xml><ToUserName>{SAMPLE['corp_id']}</ToUserName><FromUserName>liming</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType>event</MsgType><Event>template_card_event</Event>"
            f"<EventKey>tb:claim:1:1</EventKey><TaskId>t1</TaskId><ResponseCode>RC</ResponseCode>{extra}</xml>")


@pytest.mark.parametrize("inner", [
    "not xml at all",
    text_xml("", "hello", 5),  # empty FromUserName
    _event("<SelectedItems>just a string</SelectedItems>"),
    _event("<SelectedItems><SelectedItem>x</SelectedItem></SelectedItems>"),
    BOMB,
    "<xml>unclosed",
])
async def test_wecom_signed_malformed_callbacks_get_400_and_change_nothing(wecom, caplog, inner):
    client, fake = wecom
    await refused_quietly(client, fake, caplog, "/wecom/callback", *encrypted(inner))


@pytest.mark.parametrize("plain", [
    [],
    {"msgid": 12345, "msgtype": "text", "text": {"content": "@bot 工单 列表"}, "from": {"userid": "wangwu"},
     "chattype": "group", "chatid": "wrkSFfCgAAA"},
    {"msgid": "m1", "msgtype": "stream", "stream": "s"},
    {"msgid": "m2", "msgtype": "text", "text": "just text", "from": {"userid": "wangwu"}},
    {"msgid": "m3", "msgtype": "text", "text": {"content": "hi"}, "from": "wangwu"},
])
async def test_aibot_signed_malformed_callbacks_get_400_and_change_nothing(aibot, caplog, plain):
    client, fake, _server = aibot
    await refused_quietly(client, fake, caplog, "/wecom/aibot", *callback(plain))


@pytest.mark.parametrize("body", [b"\xff", DEEP.encode(), b'{"encrypt": ' + DEEP.encode() + b"}", b"[]"])
async def test_aibot_unsigned_garbage_is_refused(aibot, body):
    client, fake, _server = aibot
    response = await client.post("/wecom/aibot", params={"msg_signature": "", "timestamp": "", "nonce": ""}, data=body)
    assert 400 <= response.status < 500
    assert await nothing_happened(client.app) and fake.calls == []


@pytest.mark.parametrize("path", ["/console/api/send", "/console/api/press"])
@pytest.mark.parametrize("body", [b"\xff", DEEP.encode(), b"[1]", json.dumps({"as": 1, "conversation": []}).encode()])
async def test_console_garbage_gets_400(console, path, body):
    response = await console.post(path, data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert await nothing_happened(console.app)


@pytest.mark.parametrize(("path", "fields"), [
    ("/console/api/send", {"text": "my order\x00 page"}),  # PostgreSQL stores no NUL: it was a 500 there
    ("/console/api/send", {"thread": "1" * 256}),  # longer than a thread id is stored: a 500 on PostgreSQL
    ("/console/api/send", {"conversation": "wang-store\x00"}),
    ("/console/api/send", {"as": "x" * 300}),
    ("/console/api/press", {"thread": "1" * 256}),
    ("/console/api/press", {"action": "tb:ticket:claim:1:1\x00"}),
    ("/console/api/press", {"value": "\x00"}),
    ("/console/api/press", {"ref": "r" * 500}),
])
async def test_console_fields_no_database_can_store_get_400(console, path, fields):
    body = {"as": "wang-store", "conversation": "wang-store", "text": "hello", "action": "tb:ticket:claim:1:1",
            **fields}
    response = await console.post(path, json=body)
    assert response.status == 400, await response.text()
    assert await nothing_happened(console.app)


@pytest.mark.parametrize("viewer", ["wang-store\x00", "x" * 256])
async def test_console_polls_for_a_persona_no_database_can_name_get_400(console, viewer):
    response = await console.get("/console/api/messages", params={"as": viewer, "since": "0"})
    assert response.status == 400  # a NUL reached PostgreSQL's query: a 500 there
