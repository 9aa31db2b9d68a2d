"""The digest's chart is a real PNG of the expected size, with drawn pixels and Chinese labels in a CJK font."""

from __future__ import annotations

import io
import struct
from datetime import date, timedelta

import pytest

from bot.kpis import DailyPoint
from cards import chart

POINTS = [DailyPoint(date(2026, 11, 20) + timedelta(days=i), new=10 + i, resolved=8 + (i % 3),
                      sla_pct=None if i == 5 else 80.0 + i) for i in range(14)]


def _size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def _pixels(png: bytes):
    from matplotlib import image
    return image.imread(io.BytesIO(png), format="png")


def test_a_png_of_the_expected_size_with_bars_and_a_line():
    png = chart.draw(POINTS, languages=["en"], title="daily-sla · 2026-12-03")
    assert _size(png) == (chart.WIDTH_PX, chart.HEIGHT_PX)
    pixels = _pixels(png)
    rgb = pixels[..., :3].reshape(-1, 3)
    blue = ((abs(rgb[:, 0] - 0x4e / 255) < 0.02) & (abs(rgb[:, 2] - 0xa7 / 255) < 0.02)).sum()
    red = ((abs(rgb[:, 0] - 0xe1 / 255) < 0.02) & (abs(rgb[:, 1] - 0x57 / 255) < 0.02)).sum()
    assert blue > 2000 and red > 100, "the new-ticket bars and the SLA line are drawn"


@pytest.mark.skipif(chart.cjk_font() is None, reason="no CJK font installed (the Dockerfile and .ci/run install one)")
def test_chinese_labels_use_the_cjk_font_and_render():
    from matplotlib import font_manager
    chinese = chart.draw(POINTS, languages=["zh-CN"], title="每日简报")
    english = chart.draw(POINTS, languages=["en"], title="daily")
    both = chart.draw(POINTS, languages=["zh-CN", "en"], title="daily")
    assert _size(chinese) == _size(english) == _size(both) and len({chinese, english, both}) == 3
    path = font_manager.findfont(font_manager.FontProperties(family=chart.cjk_font()), fallback_to_default=False)
    assert "DejaVu" not in path, "a real CJK font, not the fallback that draws boxes"


def test_without_a_cjk_font_chinese_falls_back_to_english_labels(monkeypatch):
    monkeypatch.setattr(chart, "cjk_font", lambda: None)
    assert chart.draw(POINTS, languages=["zh-CN", "en"], title="每日简报") == chart.draw(POINTS, languages=["en"],
                                                                                     title="")
