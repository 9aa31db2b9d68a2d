"""timeline entries say why as data (a `detail` JSON column) instead of English sentences

Intake and changes wrote an entry's reason as English ("rule 'VIP'", "round-robin in support", "by the requester",
"follows the closed ticket") and the reader's side parsed it back with regexes. The reason is now stored as data
(bot/reasons.py) and put into words in the reader's language. Existing rows are converted here, once; this is the
only place that still knows the old sentences.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 17:40:00
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_RULE = re.compile(r"^rule '(.*)'$")
_ROTATION = re.compile(r"^(round-robin|least-loaded) in (\S+)$")
_LINKS = {"follows the closed ticket": "follows", "continued in": "continued"}
_EFFECTS = ("category", "department", "priority", "assignee")


def _detail(kind: str, text: str | None, after: str | None) -> dict | None:
    """The data an old row's sentence said; None when the text is a person's words (kept as they are)."""
    if not text:
        return None
    if kind == "assigned":
        if text == "by the requester":
            return {"how": "requester"}
        if match := _RULE.match(text):
            return {"how": "rule", "rule": match.group(1)}
        if match := _ROTATION.match(text):
            return {"how": match.group(1), "department": match.group(2)}
    if kind == "routed" and (match := _RULE.match(text)):
        detail = {"rule": match.group(1)}
        for pair in filter(None, (p.strip() for p in (after or "").split(","))):
            key, _, value = pair.partition("=")
            if key in _EFFECTS and value:
                detail[key] = value
        return detail
    if kind == "linked" and text in _LINKS:
        return {"link": _LINKS[text]}
    return None


def upgrade() -> None:
    op.add_column("timeline", sa.Column("detail", sa.JSON(), nullable=True))
    timeline = sa.table("timeline", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                        sa.column("text", sa.Text), sa.column("after", sa.Text), sa.column("detail", sa.JSON))
    connection = op.get_bind()
    rows = connection.execute(sa.select(timeline.c.id, timeline.c.kind, timeline.c.text, timeline.c.after)
                              .where(timeline.c.kind.in_(("assigned", "routed", "linked")),
                                     timeline.c.text.is_not(None))).all()
    for row in rows:
        detail = _detail(row.kind, row.text, row.after)
        if detail is not None:
            # A routed row's `after` was the effects as text; they now live in the detail.
            values = {"detail": detail, "text": None}
            if row.kind == "routed":
                values["after"] = None
            connection.execute(sa.update(timeline).where(timeline.c.id == row.id).values(**values))


def downgrade() -> None:
    op.drop_column("timeline", "detail")
