"""The neutral splitter: long messages become parts every platform accepts."""

from __future__ import annotations

import pytest

from bot.text import fit_text, split_text, utf8_size


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


def test_a_byte_limit_counts_utf8_and_never_cuts_inside_a_character():
    lines = [f"第{n}行：打印机又坏了，请尽快处理 · line {n} the printer is down" for n in range(1, 400)]
    text = "\n".join(lines)
    parts = split_text(text, 2048, size=utf8_size)
    assert len(parts) > 1
    assert all(utf8_size(part) <= 2048 for part in parts), "WeCom counts bytes: a Chinese character is three"
    assert "\n".join(parts) == text


def test_a_long_chinese_line_is_cut_between_characters_within_the_bytes():
    line = "工单描述很长" * 1000  # one line of 6,000 characters, 18,000 bytes
    parts = split_text(line, 2048, size=utf8_size)
    assert all(utf8_size(part) <= 2048 for part in parts)
    assert all(utf8_size(part) > 2048 - 3 for part in parts[:-1]), "each piece as full as whole characters allow"
    assert "".join(parts) == line, "no character cut in two (a cut one would not decode, or would differ)"


def test_no_part_is_only_blank_lines():
    text = "x" * 10 + "\n\n" + "y" * 10
    parts = split_text(text, 10)
    assert parts == ["x" * 10, "y" * 10], "an empty message would be refused by the platform"


def test_fit_text_trims_with_an_ellipsis_within_the_limit():
    assert fit_text("short", 10) == "short"
    assert fit_text("abcdefghijkl", 10) == "abcdefghi…"
    trimmed = fit_text("工单" * 100, 20, size=utf8_size)
    assert trimmed.endswith("…") and utf8_size(trimmed) <= 20 and trimmed[:-1] == "工单工单工单"[: len(trimmed) - 1]


def test_a_long_line_is_cut_after_a_space_or_punctuation_near_the_end():
    assert split_text("one two three four", 10) == ["one two ", "three four"]
    parts = split_text("请先重启打印机。再检查纸盒是否卡纸，然后联系我们。", 30, size=utf8_size)
    assert parts == ["请先重启打印机。", "再检查纸盒是否卡纸，", "然后联系我们。"]
    assert "".join(parts) == "请先重启打印机。再检查纸盒是否卡纸，然后联系我们。"
