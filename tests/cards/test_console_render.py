"""The console renderer escapes data and carries action ids."""

from __future__ import annotations

from cards.console import render_card, render_text
from cards.model import Badge, Button, Card, Field, Option, Select


def test_everything_from_data_is_escaped():
    html = render_card(Card(title="<script>alert(1)</script>", fields=(Field("a<b", "\"x\" & y"),),
                            subtitle="line1\n<b>line2</b>"))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&quot;x&quot; &amp; y" in html and "<br>" in html and "<b>" not in html


def test_controls_carry_action_ids_and_initial_choice():
    card = Card(title="T-1", badge=Badge("respond in 35 min", "warn"),
                actions=(Button("Claim", "tb:claim:1:3", "primary"),
                         Select("Priority", "tb:priority:1:3", (Option("P0", "P0"), Option("P1", "P1")), initial="P1")))
    html = render_card(card)
    assert 'data-action="tb:claim:1:3"' in html and 'data-action="tb:priority:1:3"' in html
    assert '<option value="P1" selected>' in html and "badge-warn" in html


def test_render_text_keeps_lines_and_escapes():
    assert render_text("a\n<b>") == "a<br>&lt;b&gt;"
