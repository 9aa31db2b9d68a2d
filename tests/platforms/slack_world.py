"""Slack's side of the wire for the tests: signed requests to /slack/events, the real app against a fake Web API."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from bot.app import SERVICES, build_app
from bot.config import Settings, load_config
from bot.events import Platform
from bot.ports import Pacing
from tests.harness import EXAMPLE_CONFIG
from tests.platforms.fake_slack import TEAM, form, slack_sign, start_fake_slack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "slack"


class SlackWorld:
    """Our app with Slack switched on, the fake Web API behind it, and Slack's side of the conversation."""

    def __init__(self, client, fake):
        self.client, self.fake = client, fake
        self._n = 0

    async def post(self, body: str, content_type: str, *, timestamp: str | None = None, secret: str = SECRET,
                   extra: dict | None = None):
        headers = {"Content-Type": content_type, **slack_sign(secret, body, timestamp), **(extra or {})}
        return await self.client.post("/slack/events", data=body.encode(), headers=headers)

    async def command(self, user: str, text: str, channel: str = "C0TRIAGE", **extra):
        self._n += 1
        body = form(token="x", team_id=TEAM, channel_id=channel, user_id=user, user_name=user.lower(),
                    command="/ticket", text=text, response_url="https://hooks.slack.test/1",
                    trigger_id=f"trig.{self._n}.{time.time()}", **extra)
        return await self.post(body, "application/x-www-form-urlencoded")

    def message_body(self, user: str, text: str, channel: str, *, thread_ts: str | None = None, kind="message",
                     user_team: str = TEAM) -> dict:
        self._n += 1
        event = {"type": kind, "channel": channel, "channel_type": "im" if channel.startswith("D") else "channel",
                 "user": user, "text": text, "ts": f"1700000100.{self._n:06d}", "team": TEAM, "user_team": user_team}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return {"token": "x", "team_id": TEAM, "api_app_id": "A0APP", "type": "event_callback",
                "event_id": f"Ev{self._n:08d}", "event_time": int(time.time()), "event": event}

    def fixture(self, name: str) -> dict:
        """A captured Slack payload from tests/fixtures/slack, by scenario name."""
        return json.loads(FIXTURES.joinpath(f"{name}.json").read_text())

    async def event(self, body: dict, extra: dict | None = None):
        return await self.post(json.dumps(body), "application/json", extra=extra)

    async def say(self, user: str, text: str, channel: str, **kwargs):
        return await self.event(self.message_body(user, text, channel, **kwargs))

    async def press(self, user: str, message: dict, action_id: str, *, value=None, kind="button", trigger=None):
        action = {"action_id": action_id, "block_id": "b", "type": kind, "action_ts": str(time.time())}
        if kind == "button":
            action["value"] = action_id
        elif kind == "static_select":
            action["selected_option"] = {"text": {"type": "plain_text", "text": value}, "value": value}
        elif kind == "users_select":
            action["selected_user"] = value
        self._n += 1
        payload = {"type": "block_actions", "user": {"id": user, "name": user.lower(), "team_id": TEAM},
                   "team": {"id": TEAM}, "api_app_id": "A0APP", "trigger_id": trigger or f"act.{self._n}",
                   "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"]},
                   "channel": {"id": message["channel"]}, "actions": [action]}
        return await self.post(form(payload=json.dumps(payload)), "application/x-www-form-urlencoded")

    async def eventually(self, check, timeout: float = 10.0):
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = check()
            if result:
                return result
            assert asyncio.get_running_loop().time() < deadline, "Slack never received it"
            await asyncio.sleep(0.05)

    def triage_cards(self) -> list[dict]:
        """Every card posted in the triage channel, with the latest blocks of each (after chat.update)."""
        cards = {}
        for call in self.fake.calls:
            args = call.args
            if call.status != 200:
                continue
            if call.method == "chat.postMessage" and args.get("channel") == "C0TRIAGE" and args.get("blocks"):
                ts = self.fake.answer_ts(call)
                cards[ts] = {"ts": ts, "channel": "C0TRIAGE", "blocks": args["blocks"]}
            elif call.method == "chat.update" and args.get("ts") in cards:
                cards[args["ts"]]["blocks"] = args["blocks"]
        return list(cards.values())

    def texts_to(self, channel: str, method: str = "chat.postMessage") -> list[str]:
        return [a.get("text", "") for a in self.fake.of(method) if a.get("channel") == channel and not a.get("blocks")]


def action_id(card: dict, verb: str) -> str:
    """The action id of the card's control for `verb`."""
    for element in controls(card):
        if element.get("action_id", "").split(":")[2:3] == [verb] and not element["action_id"].endswith(":team"):
            return element["action_id"]
    raise AssertionError(f"no {verb} control on the card")


def controls(card: dict) -> list[dict]:
    """Every interactive element of the card: an actions block's elements and each section's accessory."""
    found = []
    for block in card["blocks"]:
        found += [e for e in block.get("elements", []) if "action_id" in e]
        if "action_id" in block.get("accessory", {}):
            found.append(block["accessory"])
    return found


def label_of(card: dict, action: str) -> str:
    """The text a person reads beside the control `action`: its section's text (a placeholder is not one)."""
    for block in card["blocks"]:
        if block.get("accessory", {}).get("action_id") == action:
            return block["text"]["text"]
    raise AssertionError(f"no label beside {action}")


def card_text(card: dict) -> str:
    return json.dumps(card["blocks"], ensure_ascii=False)


async def start_slack(*, database_url, aiohttp_client, aiohttp_server, monkeypatch, config=None,
                      clock=None) -> SlackWorld:
    """The real app with Slack on, its Web API client pointed at a fresh fake served on port 0 (the sample config
    unless `config` is given; the system clock unless `clock`)."""
    fake, base_url = await start_fake_slack(aiohttp_server)
    # The fake hands out increasing ts values; remember which call got which, like Slack's answers.
    answers = {}
    original = fake.answer

    def answer(method, args):
        result = original(method, args)
        answers[id(args)] = result.get("ts")
        return result
    fake.answer = answer
    fake.answer_ts = lambda call: answers.get(id(call.args))
    app = await slack_app(base_url, database_url, monkeypatch, config=config, clock=clock)
    return SlackWorld(await aiohttp_client(app), fake)


async def slack_app(base_url: str, database_url: str, monkeypatch, *, config=None, clock=None):
    """The real app with Slack on (its Web API at `base_url`), the sample config's triage channels on Slack."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name, value in {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
                        "SLACK_API_BASE_URL": base_url, "SLACK_FILES_BASE_URL": base_url.removesuffix("api/")}.items():
        monkeypatch.setenv(name, value)
    config = config or load_config(EXAMPLE_CONFIG)
    config.triage_channels[Platform.SLACK] = "C0TRIAGE"
    config.sla.escalation_channels[Platform.SLACK] = "C0ESCALATE"
    app = await build_app(Settings(), config=config, clock=clock)
    app[SERVICES].messengers[Platform.SLACK].pacing = Pacing()  # pacing is tested on its own
    return app
