"""The CLI and the config file: check-config, invalid config reporting, serve's defaults and /healthz."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, Settings, load_config
from tests.harness import EXAMPLE_CONFIG


def test_sample_config_is_valid_and_complete():
    config = load_config(EXAMPLE_CONFIG)
    departments = {d.key for d in config.departments}
    assert {"support", "finance", "rnd", "logistics"} <= departments
    assert {d.name["zh-CN"] for d in config.departments} >= {"客服", "财务", "研发", "物流"}
    roles = {role for p in config.people for role in p.roles}
    assert {"agent", "lead", "manager", "colleague"} <= roles
    assert config.business_hours.timezone == "Asia/Shanghai" and config.business_hours.hours == "09:00-18:00"
    assert config.routing


def test_check_config_reports_ok(capsys):
    assert main(["check-config", "--config", str(EXAMPLE_CONFIG)]) == 0
    out = capsys.readouterr().out
    assert "config OK" in out and "console" in out


@pytest.mark.parametrize(
    ("yaml_text", "key", "problem"),
    [
        ("people:\n  - {key: a, name: A, roles: [agent], department: sales}\n", "people.0.department", "unknown department"),
        ("language: fr\n", "language", "zh-CN"),
        ("intake: {join_window_minutes: -5}\n", "intake.join_window_minutes", "greater than or equal"),
        ("routing:\n  - {name: x, match: {}, then: {department: nowhere}}\n", "routing.0.then.department", "unknown"),
        # A rule's name: text, or text per language; the timeline names a rule by its key, so keys are unique.
        ("routing:\n  - {name: '', match: {}, then: {}}\n", "routing.0.name", "cannot be empty"),
        ("routing:\n  - {name: {en: VIP, fr: VIP}, match: {}, then: {}}\n", "routing.0.name", "unknown language 'fr'"),
        ("routing:\n  - {name: {en: VIP, zh-CN: ''}, match: {}, then: {}}\n", "routing.0.name", "'zh-CN' must be text"),
        ("routing:\n  - {name: {}, match: {}, then: {}}\n", "routing.0.name", "at least one language"),
        ("routing:\n  - {name: [VIP, 贵宾], match: {}, then: {}}\n", "routing.0.name", "as text, or per language"),
        ("routing:\n  - {name: VIP, match: {}, then: {}}\n  - {name: {en: VIP, zh-CN: 贵宾}, match: {}, then: {}}\n",
         "routing.1.key", "'VIP' is routing.0's already"),
        ("colour: blue\n", "colour", "Extra inputs are not permitted"),
        ("people: [\n", "", "not valid YAML"),
        # What serve used to die on with a traceback after check-config had passed it:
        ("sla:\n  targets:\n    P1: {first_response: 1 hour}\n", "sla.targets.P1.first_response", "not a duration"),
        ("sla:\n  overrides:\n    - {tier: vip, targets: {P2: {resolution: two days}}}\n",
         "sla.overrides.0.targets.P2.resolution", "not a duration"),
        ("sla:\n  escalation:\n    - {after: soon, to: lead}\n", "sla.escalation.0.after", "not a duration"),
        ("business_hours: {timezone: Asia/Shangai}\n", "business_hours.timezone", "did you mean 'Asia/Shanghai'"),
        ("sla:\n  calendars:\n    rnd: {timezone: Mars/Olympus}\n", "sla.calendars.rnd.timezone", "unknown time zone"),
        ("business_hours: {hours: 9-18}\n", "business_hours.hours", "use hours like 09:00-18:00"),
        ("business_hours: {hours: '18:00-09:00'}\n", "business_hours.hours", "the end must be after the start"),
        ("business_hours: {lunch: '12:00-20:00'}\n", "business_hours", "must lie inside the hours"),
        ("business_hours: {weekdays: workdays}\n", "business_hours.weekdays", "day names"),
        ("business_hours: {country: Narnia}\n", "business_hours.country", "no public holidays known"),
        ("business_hours: {extra_holidays: ['2026-02-30']}\n", "business_hours.extra_holidays.0", "not a day"),
        ("business_hours: {extra_workdays: [20261001]}\n", "business_hours.extra_workdays.0", "give a day"),
        ("business_hours: {extra_holidays: [2026-13-01]}\n", "", "not valid YAML"),
    ],
)
def test_invalid_config_names_file_key_and_problem(tmp_path: Path, capsys, yaml_text, key, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message and key in message and problem in message
    assert main(["check-config", "--config", str(path)]) == 2
    assert str(path) in capsys.readouterr().err


def test_missing_config_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_database_defaults_to_sqlite_in_working_directory(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    url = Settings().effective_database_url()
    assert url == f"sqlite+aiosqlite:///{tmp_path / 'ticketbot.db'}"


def test_platforms_enabled_only_when_configured(monkeypatch):
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert Settings().slack is None
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    assert Settings().slack is None, "half a configuration leaves the platform off"
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    assert Settings().slack is not None


def test_secrets_are_kept_out_of_logs_and_reprs(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-very-secret")
    slack = Settings().slack
    assert "very-secret" not in repr(slack) and "very-secret" not in str(slack.model_dump())
    assert slack.bot_token.get_secret_value() == "xoxb-very-secret"


def test_postgres_url_gets_async_driver(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert Settings().effective_database_url() == "postgresql+asyncpg://u@h/db"


async def test_serve_creates_sqlite_file_and_answers_healthz(tmp_path: Path, monkeypatch, aiohttp_client):
    from bot.app import build_app

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    app = await build_app(Settings(), config=load_config(EXAMPLE_CONFIG))
    client = await aiohttp_client(app)
    response = await client.get("/healthz")
    assert response.status == 200 and (await response.json())["status"] == "ok"
    assert (tmp_path / "ticketbot.db").exists()
    page = await client.get("/")
    assert page.status == 200 and "ticketbot" in (await page.text()).lower()


def test_outbox_status_shows_what_was_given_up_and_retry_sends_it_again(tmp_path: Path, monkeypatch, capsys):
    import asyncio

    from bot.events import Conversation, Platform
    from bot.ports import Outgoing, OutgoingKind, SystemClock
    from storage.db import create_engine
    from storage.migrate import upgrade
    from storage.store import SqlStore

    url = f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}"
    monkeypatch.setenv("DATABASE_URL", url)

    async def give_one_up() -> None:
        await upgrade(url)
        store = SqlStore(create_engine(url), SystemClock())
        try:
            async with store.unit() as uow:
                await uow.enqueue(Outgoing(OutgoingKind.TEXT, Conversation(platform=Platform.SLACK, id="C1"), text="x"))
            [item] = await store.claim_outbox(store.clock.now())
            await store.outbox_failed(item.id, error="slack channel_not_found", retry_at=None)
        finally:
            await store.close()

    asyncio.run(give_one_up())
    assert main(["outbox", "status"]) == 0
    shown = capsys.readouterr().out
    assert "1 given up" in shown and "slack channel_not_found" in shown
    assert main(["outbox", "retry"]) == 0
    assert "1 given-up message(s) will be sent again" in capsys.readouterr().out
    main(["outbox", "status"])
    assert "1 waiting, 0 being sent, 0 given up" in capsys.readouterr().out
