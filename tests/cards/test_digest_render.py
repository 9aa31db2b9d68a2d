"""The digest card as each platform receives it, against captured payloads (tests/fixtures/<platform>/)."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

from bot.config import load_config
from bot.directory import Directory
from bot.i18n import translator
from bot.kpis import (
    AgentLoad,
    BreachedTicket,
    Period,
    PeriodKind,
    Report,
    Scope,
    Share,
    Spread,
)
from bot.subjects import Subject, SubjectKind
from bot.tickets import Priority
from cards import console, slack, wecom
from cards.digest import Figures, figures_card, figures_text, names
from tests.harness import EXAMPLE_CONFIG

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DAY = Period(PeriodKind.YESTERDAY, date(2026, 11, 19), date(2026, 11, 19), "Asia/Shanghai")
REPORT = Report(
    period=DAY, scope=Scope(department="support"), new=42, resolved=37, closed=30, reopened=2, backlog=18,
    backlog_ages={"lt_1d": 9, "d1_3": 5, "d3_7": 3, "gt_7d": 1}, unassigned=4, frt=Spread(1800, 7200, 40),
    ttr=Spread(86_400, 259_200, 37), sla_response=Share(38, 40), sla_resolution=Share(30, 33), breached_count=5,
    breached=(BreachedTicket(1234, "支付页面白屏", "alice", Priority.P1, "resolve", datetime(2026, 11, 19, 3, tzinfo=UTC)),
              BreachedTicket(1240, "发票抬头错误", None, Priority.P2, "respond", datetime(2026, 11, 19, 6, tzinfo=UTC))),
    fcr=Share(25, 37), reopen_rate=Share(2, 37), by_category=(("bug", 20), ("billing", 12), ("how-to", 10)),
    by_module=(("payments", 15), ("mobile-app", 9)), by_customer=(("ACME 贸易", 6),),
    agents=(AgentLoad("alice", 7, 15), AgentLoad("li", 5, 22)))
PREVIOUS = dataclasses.replace(REPORT, period=DAY.previous(), new=35, resolved=40, closed=28, reopened=3, backlog=13)


def _card(language: str):
    t = translator(language)
    figures = Figures(REPORT, PREVIOUS, chart=b"png", name="daily-sla")
    card = figures_card(figures, t, names(Directory(load_config(EXAMPLE_CONFIG)), t.language),
                        subject=Subject(SubjectKind.DIGEST, 7))
    # As the dispatcher hands it to a renderer: the chart uploaded, its reference in place of the bytes.
    return dataclasses.replace(card, image=dataclasses.replace(card.image, ref="F0CHART", data=None))


def _matches(rendered, fixture: Path) -> None:
    if os.environ.get("CAPTURE_FIXTURES"):  # how the fixtures were captured; read them before committing
        fixture.write_text(rendered if isinstance(rendered, str) else json.dumps(rendered, ensure_ascii=False, indent=1))
    expected = fixture.read_text()
    assert rendered == (expected if isinstance(rendered, str) else json.loads(expected))


def test_slack_blocks_of_the_daily_digest():
    blocks = slack.render_blocks(_card("zh-CN"))
    _matches(blocks, FIXTURES / "slack" / "digest_card_daily_sla.json")
    image = next(b for b in blocks if b["type"] == "image")
    assert image["slack_file"] == {"id": "F0CHART"} and image["alt_text"] == "每日新建与解决工单数及首次响应达标率"


def test_wecom_template_card_shows_the_six_headline_figures():
    template = wecom.render_template_card(_card("zh-CN"), task_id="d7-fixture")
    _matches(template, FIXTURES / "wecom" / "template_card_digest_daily_sla.json")
    assert [row["keyname"] for row in template["horizontal_content_list"]] == [
        "新建", "已解决", "期末积压", "首次响应时长", "首次响应达标", "解决时效达标"]


def test_wecom_sends_what_its_card_cannot_show_as_the_text_after_it():
    card = _card("zh-CN")
    text = wecom.overflow_text(card)
    # Every row past the card's six, the breached tickets and the top lists: nothing of the digest is lost.
    for field in card.fields[wecom.MAX_ROWS:]:
        assert f"{field.label}: {field.value}" in text
    assert "超时承诺：5 项" in text and "T-001234" in text and "支付页面白屏" in text and "… 还有 3 项" in text
    assert "分类排行：" in text and "括号内为与上一周期相比的变化。" in text
    # A group chat (text only) reads the whole card too.
    assert "T-001240" in wecom.render_text(card) and "首次响应达标" in wecom.render_text(card)


def test_the_tickets_at_risk_now_are_listed_under_the_breached_ones():
    soon = BreachedTicket(1250, "退款未到账", "li", Priority.P1, "respond", datetime(2026, 11, 20, 2, tzinfo=UTC))
    report = dataclasses.replace(REPORT, at_risk_count=1000, at_risk=(soon,))
    t = translator("zh-CN")
    lines = figures_text(Figures(report, name="daily-sla"), t, names(Directory(load_config(EXAMPLE_CONFIG)), "zh-CN"))
    lines = lines.splitlines()
    at = lines.index("即将超时（临近期限、尚未超时）：1000+ 项")
    assert lines[at + 1].startswith("· T-001250 [P1] 退款未到账") and lines[at + 2] == "· … 还有 999+ 项"
    assert at > lines.index("超时承诺：5 项")


def test_console_html_and_the_text_forms():
    _matches(console.render_card(_card("en")), FIXTURES / "console" / "digest_card_daily_sla.html")
    t = translator("en")
    text = figures_text(Figures(REPORT, PREVIOUS, name="daily-sla"), t, names(Directory(load_config(EXAMPLE_CONFIG)),
                                                                           "en"))
    assert text.splitlines()[:4] == ["Digest “daily-sla” · 2026-11-19 — Department: Support", "New: 42 (+7)",
                                     "Resolved: 37 (−3)", "Backlog at the end: 18 (+5) (4 unassigned)"]
    assert "· T-001234 [P1] 支付页面白屏 · Alice Wang (resolution)" in text and "· … and 3 more" in text
