"""`ticketbot digest` and `ticketbot stats`: text, markdown, json under the stable keys, the chart, --send once."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.events import Conversation, ConversationKind, Platform
from bot.ports import SystemClock
from bot.tickets import Identity, Status, Ticket
from storage.db import create_engine
from storage.migrate import upgrade
from storage.store import SqlStore
from storage.tables import OutboxRow
from tests.harness import EXAMPLE_CONFIG

DM = Conversation(platform=Platform.CONSOLE, id="cust", kind=ConversationKind.DM)
STABLE_KEYS = {"period", "new", "resolved", "reopened", "backlog", "unassigned", "frt_median_s", "frt_p90_s",
               "ttr_median_s", "sla_response_pct", "sla_resolution_pct", "fcr_pct", "csat_avg", "breached"}


@pytest.fixture
def database(tmp_path, monkeypatch):
    """A SQLite file with two tickets opened on 2026-11-20 (Shanghai), one of them resolved that day."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)

    async def seed() -> None:
        await upgrade(url)
        store = SqlStore(create_engine(url), SystemClock())
        at = datetime(2026, 11, 20, 2, tzinfo=UTC)
        async with store.unit() as uow:
            await uow.add_ticket(Ticket(title="发票", requester=Identity(Platform.CONSOLE, "cust"), source=DM,
                                        created_at=at, department="support", category="billing"))
            await uow.add_ticket(Ticket(title="VPN", requester=Identity(Platform.CONSOLE, "cust"), source=DM,
                                        created_at=at, department="support", status=Status.RESOLVED, resolved_at=at))
        await store.close()

    asyncio.run(seed())
    return url


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--config", str(EXAMPLE_CONFIG)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_has_the_stable_keys(database, capsys):
    code, out, _err = _run(capsys, "digest", "--period", "2026-11-20", "--format", "json")
    figures = json.loads(out)
    assert code == 0 and STABLE_KEYS <= set(figures)
    assert (figures["period"], figures["new"], figures["resolved"], figures["backlog"]) == ("2026-11-20", 2, 1, 1)
    assert figures["csat_avg"] is None and figures["breached"] == []


def test_text_in_chinese_and_markdown_and_stats_share_the_figures(database, capsys):
    code, out, _err = _run(capsys, "stats", "--period", "2026-11-20", "--lang", "zh-CN", "--department", "support")
    assert code == 0 and out.splitlines()[0] == "工单数据 · 2026-11-20 — 部门：客服"
    assert "新建: 2 (+2)" in out and "分类排行：账单 1 · 其他 1" in out
    code, out, _err = _run(capsys, "digest", "--period", "2026-11-20", "--format", "markdown", "--lang", "en")
    assert out.startswith("## Ticket figures · 2026-11-20 — All tickets") and "| New | 2 (+2) |" in out


def test_the_chart_is_written(database, capsys, tmp_path):
    png = tmp_path / "chart.png"
    assert _run(capsys, "digest", "daily-sla", "--period", "2026-11-20", "--chart", str(png))[0] == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_send_claims_the_run_once(database, capsys):
    code, _out, err = _run(capsys, "digest", "daily-sla", "--period", "2026-11-20", "--send")
    assert code == 0 and err.startswith("sent: run ")
    code, _out, err = _run(capsys, "digest", "daily-sla", "--period", "2026-11-20", "--send")
    assert code == 0 and err.strip() == "not sent: daily-sla for 2026-11-20 was sent before"

    async def rows() -> int:
        engine = create_engine(database)
        async with engine.connect() as connection:
            count = (await connection.execute(select(func.count()).select_from(OutboxRow)
                                              .where(OutboxRow.subject_kind == "digest"))).scalar()
        await engine.dispose()
        return count
    assert asyncio.run(rows()) == 1, "one card: to the director's console DM"


def test_bad_input_is_refused_clearly(database, capsys):
    code, _out, err = _run(capsys, "digest", "--period", "2026-02-30")
    assert code == 2 and "'2026-02-30' is not a date." in err
    with pytest.raises(SystemExit, match="no digest named 'weekly'"):
        _run(capsys, "digest", "weekly")
    code, _out, err = _run(capsys, "digest", "--send")
    assert code == 2 and "--send needs a digest of the config" in err


def test_check_config_lists_the_digests(capsys):
    assert main(["check-config", "--config", str(EXAMPLE_CONFIG)]) == 0
    assert "digests: daily-sla (0 9 * * mon-fri Asia/Shanghai, yesterday, business days only)" in capsys.readouterr().out


def test_check_config_refuses_a_cron_apscheduler_cannot_read(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text(EXAMPLE_CONFIG.read_text().replace('schedule: "0 9 * * mon-fri"', 'schedule: "0 25 * * *"'))
    assert main(["check-config", "--config", str(config)]) == 2
    assert "digests: daily-sla: schedule '0 25 * * *'" in capsys.readouterr().err
