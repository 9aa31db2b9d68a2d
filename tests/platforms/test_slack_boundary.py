"""Slack's boundary: shapes Slack never sends are refused (400, nothing changes), what the app does not use is
acknowledged quietly, and an uninstalled app stops sending. Signed requests to the real endpoint."""

from __future__ import annotations

import copy
import json
import logging

import pytest

from bot.app import SERVICES, build_app
from bot.config import Settings, load_config
from bot.events import Platform
from tests.harness import EXAMPLE_CONFIG
from tests.platforms.fake_slack import TEAM, form, start_fake_slack
from tests.platforms.slack_world import SECRET, SlackWorld
from tests.waiting import eventually

CUSTOMER, ALICE = "U0CUST", "U0ALICE"


async def nothing_happened(app) -> bool:
    """No delivery recorded as waiting, no ticket, no message queued."""
    store = app[SERVICES].store
    async with store.unit() as uow:
        ticket = await uow.get_ticket(1)
    return ticket is None and await store.pending_deliveries() == [] and await store.outbox_rows() == []




def warnings_and_worse(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def _wrong(fixture: dict, path: tuple, value) -> dict:
    """The fixture with one field at `path` replaced by `value` (a type Slack never sends there)."""
    body = copy.deepcopy(fixture)
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


WRONG_TYPES = [  # (fixture, path, value): a captured payload with one field of the wrong type
    ("event_reaction_added", ("event", "user"), 1),  # was a 500 (Bolt's context read it)
    ("event_customer_dm", ("event", "user"), 1),
    ("event_customer_dm", ("event", "ts"), 1700000000.1),
    ("event_customer_dm", ("event", "thread_ts"), ["1"]),
    ("event_app_mention_customer", ("event", "text"), 5),
    ("event_app_mention_customer", ("event", "channel"), {"id": 7}),
    ("event_member_joined_channel", ("event", "channel"), 3),
    ("shortcut_global", ("user", "id"), 1),
    ("event_customer_dm", ("authorizations",), [{"team_id": 1}]),
    ("event_tokens_revoked", ("event", "tokens"), ["U0BOT"]),
]


@pytest.mark.parametrize(("fixture", "path", "value"), WRONG_TYPES)
async def test_signed_events_with_wrong_typed_fields_get_400_and_change_nothing(slack, caplog, fixture, path, value):
    caplog.set_level(logging.INFO)
    response = await slack.event(_wrong(slack.fixture(fixture), path, value))
    assert response.status == 400, await response.text()
    assert await nothing_happened(slack.client.app) and slack.fake.calls == []
    assert [r.name for r in warnings_and_worse(caplog)] == ["bot.platforms.slack"]  # one line, no traceback
    assert all(r.exc_info is None for r in caplog.records)


@pytest.mark.parametrize("fixture", ["workflow_step_edit_without_step", "view_submission_workflow_step_without_step"])
@pytest.mark.parametrize("as_form", [False, True])
async def test_partial_interactivity_bodies_get_400_and_change_nothing(slack, caplog, fixture, as_form):
    body = slack.fixture(fixture)
    response = await (slack.post(form(payload=json.dumps(body)), "application/x-www-form-urlencoded") if as_form
                      else slack.event(body))
    assert response.status == 400, await response.text()  # Bolt raised a KeyError here: a 500
    assert await nothing_happened(slack.client.app) and slack.fake.calls == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_mention_without_a_channel_is_refused(slack):
    body = slack.fixture("event_app_mention_customer")
    del body["event"]["channel"]
    response = await slack.event(body)
    assert response.status == 400  # it opened a ticket and posted to channel ""
    assert await nothing_happened(slack.client.app) and slack.fake.calls == []


UNUSED = ["event_reaction_added", "event_member_joined_channel", "event_app_home_opened", "event_team_join",
          "shortcut_global"]


@pytest.mark.parametrize("fixture", UNUSED)
async def test_events_the_app_does_not_use_are_acknowledged_quietly(slack, caplog, fixture):
    caplog.set_level(logging.DEBUG)
    response = await slack.event(slack.fixture(fixture))
    assert response.status == 200, await response.text()  # Bolt answered 404, which Slack counts against the app
    assert await nothing_happened(slack.client.app) and slack.fake.calls == []
    assert warnings_and_worse(caplog) == []
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.platforms.slack"]
    assert len(lines) == 1 and "does not use" in lines[0]
    assert [r.levelno for r in caplog.records if r.name == "bot.platforms.slack"] == [logging.DEBUG]


async def test_a_press_on_a_control_that_is_not_ours_is_acknowledged_quietly(slack, caplog):
    caplog.set_level(logging.DEBUG)
    response = await slack.press(ALICE, {"ts": "1.1", "channel": "C0TRIAGE"}, "someone_elses_button")
    assert response.status == 200
    assert await nothing_happened(slack.client.app) and warnings_and_worse(caplog) == []


@pytest.mark.parametrize("fixture", ["event_app_uninstalled", "event_tokens_revoked"])
async def test_an_uninstalled_app_stops_sending_there_with_a_warning(slack, caplog, fixture):
    caplog.set_level(logging.INFO)
    response = await slack.event(slack.fixture(fixture))
    assert response.status == 200
    warned = [r.getMessage() for r in warnings_and_worse(caplog)]
    assert len(warned) == 1 and TEAM in warned[0] and "stop" in warned[0]
    # A customer's message still becomes a ticket (nothing acknowledged is lost), but nothing is sent to Slack:
    # the messages are given up at once instead of failing for hours against a revoked token.
    await slack.say(CUSTOMER, "my order page is broken", "D0CUST")
    store = slack.client.app[SERVICES].store

    async def given_up() -> bool:
        rows = await store.outbox_rows()
        return bool(rows) and all(row.status == "dead" for row in rows)
    await eventually(given_up)
    async with store.unit() as uow:
        assert (await uow.get_ticket(1)) is not None
    assert [c for c in slack.fake.calls if c.method.startswith(("chat.", "conversations.open"))] == []


async def test_tokens_revoked_for_users_only_keeps_sending(slack):
    body = slack.fixture("event_tokens_revoked")
    body["event"]["tokens"] = {"oauth": ["U0ALICE"], "bot": []}
    assert (await slack.event(body)).status == 200
    await slack.say(CUSTOMER, "my order page is broken", "D0CUST")
    await slack.eventually(slack.triage_cards)


async def test_socket_mode_acknowledges_what_the_app_does_not_use(database_url, aiohttp_client, aiohttp_server,
                                                                  monkeypatch):
    fake, base_url = await start_fake_slack(aiohttp_server)
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name, value in {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "SLACK_APP_TOKEN": "xapp-test",
                        "SLACK_API_BASE_URL": base_url}.items():
        monkeypatch.setenv(name, value)
    config = load_config(EXAMPLE_CONFIG)
    config.triage_channels[Platform.SLACK] = "C0TRIAGE"
    await aiohttp_client(await build_app(Settings(), config=config))
    world = SlackWorld(None, fake)
    socket = await world.eventually(lambda: fake.sockets)
    await socket[0].send_json({"envelope_id": "env-r", "type": "events_api", "accepts_response_payload": False,
                               "payload": world.fixture("event_reaction_added")})
    # Bolt answered "unhandled" (404), which Socket Mode leaves unacknowledged: Slack retried it.
    assert await world.eventually(lambda: [a for a in fake.socket_acks if a.get("envelope_id") == "env-r"])
