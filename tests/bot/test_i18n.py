"""Catalogs: every user-facing string has a Chinese translation; languages are chosen sensibly."""

from __future__ import annotations

import pytest

from bot.i18n import guess_language, normalize_language, translator
from bot.i18n.extract import missing_translations, used_msgids


def test_every_used_msgid_has_a_chinese_translation():
    assert len(used_msgids()) > 100
    assert missing_translations() == {}


def test_translation_with_placeholders_both_ways():
    msgid = "{number} claimed by {name}."
    assert translator("zh-CN")._(msgid, number="T-000001", name="李明") == "T-000001 已由 李明 认领。"
    assert translator("en")._(msgid, number="T-000001", name="Alice") == "T-000001 claimed by Alice."


def test_unknown_msgid_and_language_fall_back_to_english():
    assert translator("zh-CN")._("no such text {x}", x=1) == "no such text 1"
    assert translator("fr").language == "en"


@pytest.mark.parametrize(("tag", "expected"), [("zh", "zh-CN"), ("zh_CN", "zh-CN"), ("zh-Hans", "zh-CN"),
                                               ("en-US", "en"), ("EN", "en"), ("fr", None), (None, None)])
def test_normalize_language(tag, expected):
    assert normalize_language(tag) == expected


@pytest.mark.parametrize(("text", "expected"), [("打印机坏了", "zh-CN"), ("my printer is broken", "en"),
                                                ("VPN 连不上", "zh-CN"), ("12345", None), ("", None)])
def test_guess_language(text, expected):
    assert guess_language(text) == expected
