"""Plain-text helpers that know no platform: cutting a long message into parts a platform accepts."""

from __future__ import annotations


def split_text(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` characters, cut at line boundaries where a line allows it.

    Lines are kept whole and in order; a single line longer than `limit` is cut into pieces of `limit`.
    Joining the parts with newlines gives `text` back (for text without over-long lines).
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    size = 0  # characters in `current`, with the newlines between its lines
    for line in text.split("\n"):
        pieces = [line[i:i + limit] for i in range(0, len(line), limit)] or [""]
        for piece in pieces:
            grown = size + len(piece) + (1 if current else 0)
            if current and grown > limit:
                parts.append("\n".join(current))
                current, size = [piece], len(piece)
            else:
                current.append(piece)
                size = grown
    if current:
        parts.append("\n".join(current))
    return parts
