"""The neutral splitter: long messages become parts every platform accepts."""

from __future__ import annotations

import pytest

from bot.text import split_text


def test_short_text_is_one_part():
    assert split_text("T-000001 [P1] 新建 · 打印机坏了", 40) == ["T-000001 [P1] 新建 · 打印机坏了"]


def test_cut_at_line_boundaries_within_the_limit():
    lines = [f"T-{n:06d} [P2] 处理中 · line {n}" for n in range(1, 501)]
    text = "\n".join(lines)
    parts = split_text(text, 1000)
    assert len(parts) > 1
    assert all(len(part) <= 1000 for part in parts)
    assert "\n".join(parts) == text, "nothing lost, nothing reordered, no line cut"
    assert all(part.split("\n")[0] in lines for part in parts), "every part starts with a whole line"


def test_a_line_longer_than_the_limit_is_cut_into_pieces():
    parts = split_text("head\n" + "x" * 25 + "\ntail", 10)
    assert parts == ["head", "x" * 10, "x" * 10, "xxxxx\ntail"]
    assert all(len(part) <= 10 for part in parts)


def test_empty_lines_are_kept():
    assert split_text("a\n\nb", 3) == ["a\n", "b"]
    assert "\n".join(split_text("a\n\nb", 3)) == "a\n\nb"


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError):
        split_text("text", 0)
