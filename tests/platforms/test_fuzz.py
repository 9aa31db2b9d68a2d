"""Fuzzing every endpoint with hypothesis: unsigned junk and signed-but-malformed bodies never get a 5xx."""

from __future__ import annotations

import json
import os
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.platforms.fake_slack import slack_sign, start_fake_slack
from tests.platforms.slack_world import FIXTURES, SECRET
from tests.platforms.wecom_world import AES_KEY, TOKEN, AibotFake, callback, encrypted

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))  # per test: enough to walk every branch of the parsers, few enough to keep the suite fast
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ENDPOINTS = ["/slack/events", "/wecom/callback", "/wecom/aibot", "/console/api/send", "/console/api/press"]
SLACK_KEYS = ["type", "command", "user_id", "channel_id", "trigger_id", "text", "event", "user", "actions",
              "action_id", "value", "container", "view", "callback_id", "state", "channel", "ts", "team_id", "id"]
AIBOT_KEYS = ["msgid", "msgtype", "text", "content", "from", "userid", "chattype", "chatid", "stream", "id",
              "mixed", "msg_item", "response_url"]
CONSOLE_KEYS = ["as", "conversation", "text", "thread", "id", "ref", "action", "value"]
SLACK_PAYLOADS = sorted(path.stem for path in FIXTURES.glob("*.json"))  # captured payloads, by scenario
WECOM_FIELDS = ["FromUserName", "MsgType", "Content", "MsgId", "Event", "EventKey", "TaskId", "ResponseCode",
                "CreateTime", "OpenKfId", "Token"]


def json_values(keys: list[str]):
    """Any JSON value, objects mostly keyed like the platform's own payloads."""
    leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.sampled_from(
        ["message", "app_mention", "block_actions", "view_submission", "event_callback", "text", "stream", "tb:claim:1:1",
         "ticket_new", "/ticket", "U0ALICE", "C0TRIAGE", "D0CUST"])
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.sampled_from(keys) | st.text(max_size=6), inner, max_size=6),
                        max_leaves=16)


def leaf_paths(value, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON value a field could be changed: each key of each object, each item of each list."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += leaf_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += leaf_paths(item, (*prefix, index))
    return found


@st.composite
def slack_payload_with_one_field_changed(draw) -> dict:
    """A captured Slack payload with one field (anywhere in it) given another value of any type, or removed."""
    body = json.loads(FIXTURES.joinpath(f"{draw(st.sampled_from(SLACK_PAYLOADS))}.json").read_text())
    path = draw(st.sampled_from(leaf_paths(body)))
    node = body
    for key in path[:-1]:
        node = node[key]
    if draw(st.booleans()) and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = draw(json_values(SLACK_KEYS) | st.text(max_size=300))
    return body


@st.composite
def console_body(draw) -> dict:
    """A console request: mostly a real persona and place, any field of any value (NUL bytes, long ids)."""
    body = {"as": draw(st.sampled_from(["wang-store", "alice", "x"])),
            "conversation": draw(st.sampled_from(["wang-store", "triage", "alice"])),
            "text": "hello", "action": "tb:ticket:claim:1:1"}
    for key in draw(st.lists(st.sampled_from(CONSOLE_KEYS), max_size=3)):
        body[key] = draw(st.text(max_size=8) | st.text(min_size=250, max_size=300) | st.just("a\x00b")
                         | json_values(CONSOLE_KEYS))
    return body


@st.composite
def wecom_xml(draw) -> str:
    """An <xml> callback with some of WeCom's fields (text, nested, or missing), or any text at all."""
    if draw(st.booleans()):
        return draw(st.text(max_size=60))
    parts = []
    for name in draw(st.lists(st.sampled_from(WECOM_FIELDS + ["SelectedItems"]), max_size=8)):
        value = draw(st.sampled_from(["", "text", "event", "template_card_event", "kf_msg_or_event", "liming", "1"])
                     | st.text(max_size=10).map(escape)
                     | st.just("<SelectedItem><QuestionKey>q</QuestionKey><OptionIds>x</OptionIds></SelectedItem>"))
        parts.append(f"<{name}>{value}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


@pytest.fixture
async def everything(start_wecom, aiohttp_server):
    """One app with every endpoint on: the console, Slack, WeCom and its 智能机器人, against local fakes."""
    _slack, slack_url = await start_fake_slack(aiohttp_server)
    fake = AibotFake()
    client, _server = await start_wecom(
        fake, routes=[("/aibot/response/{key}", fake.response_url)],
        env={"WECOM_AIBOT_TOKEN": TOKEN, "WECOM_AIBOT_ENCODING_AES_KEY": AES_KEY, "SLACK_BOT_TOKEN": "xoxb-test",
             "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_BASE_URL": slack_url})
    return client


@FUZZ
@given(path=st.sampled_from(ENDPOINTS), body=st.binary(max_size=300),
       content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/xml", ""]),
       query=st.dictionaries(st.sampled_from(["msg_signature", "timestamp", "nonce", "echostr", "since", "as"]),
                             st.text(max_size=12), max_size=4))
async def test_unsigned_junk_never_gets_a_5xx(everything, path, body, content_type, query):
    response = await everything.post(path, params=query, data=body, headers={"Content-Type": content_type})
    assert response.status < 500, (path, body, await response.text())


@FUZZ
@given(value=json_values(SLACK_KEYS), as_form=st.booleans())
async def test_signed_slack_bodies_never_get_a_5xx(everything, value, as_form):
    if as_form and isinstance(value, dict):
        body, content_type = urlencode({str(k): json.dumps(v) if not isinstance(v, str) else v
                                        for k, v in value.items()}), "application/x-www-form-urlencoded"
    elif as_form:
        body, content_type = urlencode({"payload": json.dumps(value)}), "application/x-www-form-urlencoded"
    else:
        body, content_type = json.dumps(value), "application/json"
    response = await everything.post("/slack/events", data=body.encode(),
                                     headers={"Content-Type": content_type, **slack_sign(SECRET, body)})
    assert response.status < 500, (body, await response.text())


@FUZZ
@given(body=slack_payload_with_one_field_changed())
async def test_signed_slack_payloads_with_one_field_changed_never_get_a_5xx(everything, body):
    raw = json.dumps(body)
    response = await everything.post("/slack/events", data=raw.encode(),
                                     headers={"Content-Type": "application/json", **slack_sign(SECRET, raw)})
    assert response.status < 500, (raw, await response.text())


@FUZZ
@given(path=st.sampled_from(["/console/api/send", "/console/api/press"]), body=console_body(),
       viewer=st.sampled_from(["wang-store", "a\x00b", "x" * 300]))
async def test_console_requests_never_get_a_5xx(everything, path, body, viewer):
    response = await everything.post(path, json=body)
    assert response.status < 500, (body, await response.text())
    response = await everything.get("/console/api/messages", params={"as": viewer, "since": "0"})
    assert response.status < 500, (viewer, await response.text())


@FUZZ
@given(inner=wecom_xml())
async def test_signed_wecom_callbacks_never_get_a_5xx(everything, inner):
    query, body = encrypted(inner)
    response = await everything.post("/wecom/callback", params=query, data=body)
    assert response.status < 500, (inner, await response.text())


@FUZZ
@given(value=json_values(AIBOT_KEYS))
async def test_signed_ai_bot_callbacks_never_get_a_5xx(everything, value):
    query, body = callback(value)
    response = await everything.post("/wecom/aibot", params=query, data=body)
    assert response.status < 500, (value, await response.text())
