"""The Slack renderer keeps a card within Block Kit's limits whatever its texts: trimmed with '…', never refused."""

from __future__ import annotations

import json

from cards.model import Button, Card, Field
from cards.slack import MAX_BLOCKS, fallback_text, render_blocks


def _texts(blocks: list[dict]) -> list[str]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(blocks)
    return found


def test_a_card_with_very_long_texts_and_many_notes_fits_block_kit():
    card = Card(title="打印机" * 100, subtitle="A & B <c> " * 600, fields=(Field("描述", "很长的值 & more " * 300),),
                notes=tuple(f"note {n}: " + "x" * 4000 for n in range(80)), footer="f" * 5000,
                actions=(Button("Claim", "tb:ticket:claim:1:1"),))
    blocks = render_blocks(card)
    assert len(blocks) <= MAX_BLOCKS, "Slack refuses more than 50 blocks (invalid_blocks)"
    assert blocks[-2]["type"] == "actions" and blocks[-1]["elements"][0]["text"].startswith("f"), \
        "the controls and the footer are kept; the notes beyond what fits are what goes"
    assert blocks[-3]["elements"][0]["text"] == "…", "and the card says something was left out"
    assert len(blocks[0]["text"]["text"]) <= 150 and blocks[0]["text"]["text"].endswith("…")
    section = blocks[1]["text"]["text"]
    assert len(section) <= 3000 and section.endswith("…")
    assert not section[:-1].endswith(("&", "&a", "&am", "&amp", "&l", "&lt", "&g", "&gt")), "no entity cut in two"
    assert len(blocks[2]["fields"][0]["text"]) <= 2000 and blocks[2]["fields"][0]["text"].endswith("…")
    assert all(len(text) <= 3000 for text in _texts(blocks)), max(len(t) for t in _texts(blocks))
    assert len(fallback_text(card)) <= 3000
    json.dumps(blocks)  # plain data the SDK can send
