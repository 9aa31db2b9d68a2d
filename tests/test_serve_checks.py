"""`check-config` rejects what `serve` would die on; `serve` checks config, port and database before its banner."""

from __future__ import annotations

import socket
from pathlib import Path

from bot.cli import main
from bot.config import load_config
from bot.sla import SlaPolicy
from tests.harness import EXAMPLE_CONFIG


def test_values_check_config_accepts_are_the_values_serve_runs_with(tmp_path: Path, capsys):
    path = tmp_path / "ticketbot.yaml"
    path.write_text(
        "business_hours: {timezone: Europe/Berlin, hours: '08:30-17:00', lunch: '12:00-13:00', weekdays: 'mon-thu,sat',"
        " country: DE, extra_holidays: [2026-12-24, '2026-12-31'], extra_workdays: ['2026-12-27']}\n"
        "sla:\n  targets:\n    P0: {first_response: 1h30m, resolution: 2d 4h, clock: 24x7}\n"
        "  escalation:\n    - {after: 45min, to: lead}\n"
        "  calendars:\n    night: {timezone: UTC, hours: '22:00-23:59', country: null}\n",
        encoding="utf-8",
    )
    assert main(["check-config", "--config", str(path)]) == 0, capsys.readouterr().err
    config = load_config(path)
    policy = SlaPolicy(config)  # what serve builds at start-up
    assert policy.default_calendar.timezone == "Europe/Berlin"
    assert policy.escalation_delays[0].total_seconds() == 45 * 60
    assert config.business_hours.extra_holidays[0].isoformat() == "2026-12-24"


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_serve_on_a_busy_port_says_so_in_one_line_without_a_banner(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["serve", "--config", str(EXAMPLE_CONFIG), "--host", "127.0.0.1", "--port", str(port)])
    out, err = capsys.readouterr()
    assert code == 1
    line = _one_line(err)
    assert f"127.0.0.1:{port}" in line and "in use" in line
    assert "console at" not in out, "no banner for a server that is not running"
    assert not (tmp_path / "ticketbot.db").exists(), "nothing was set up"


def test_serve_with_an_unreachable_database_says_so_in_one_line(tmp_path: Path, monkeypatch, capsys):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("DATABASE_URL", f"postgresql://ticketbot:s3cret@127.0.0.1:{closed}/ticketbot")
    code = main(["serve", "--config", str(EXAMPLE_CONFIG), "--host", "127.0.0.1", "--port", "0"])
    out, err = capsys.readouterr()
    assert code == 1
    line = _one_line(err)
    assert "database" in line and f"127.0.0.1:{closed}" in line
    assert "s3cret" not in line, "the password is not printed"
    assert "console at" not in out


def test_serve_with_an_invalid_config_prints_no_banner(tmp_path: Path, capsys):
    path = tmp_path / "ticketbot.yaml"
    path.write_text("business_hours: {timezone: Asia/Shangai}\n", encoding="utf-8")
    assert main(["serve", "--config", str(path), "--port", "0"]) == 2
    out, err = capsys.readouterr()
    assert "business_hours.timezone" in err and "Traceback" not in err
    assert "console at" not in out
