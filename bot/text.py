"""Plain-text helpers that know no platform: cutting a long message into parts a platform accepts."""

from __future__ import annotations

from collections.abc import Callable

ELLIPSIS = "…"


def utf8_size(text: str) -> int:
    """The size of `text` in UTF-8 bytes (how WeCom counts a message: a Chinese character is 3)."""
    return len(text.encode("utf-8"))


def split_text(text: str, limit: int, *, size: Callable[[str], int] = len) -> list[str]:
    """`text` in parts of at most `limit` (characters, or what `size` counts), cut at line boundaries.

    Lines are kept whole and in order; a single line longer than `limit` is cut into pieces that fit, always
    between two characters (never inside one, whatever `size` counts), after a space or punctuation where one is
    near the end. Joining the parts with newlines gives `text` back, for text without over-long lines (their
    pieces join without one) and without blank lines where a cut falls; a part that would hold nothing but blank
    lines is left out (a platform refuses an empty message).
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if size(text) <= limit:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    used = 0  # size of `current`, with the newlines between its lines
    newline = size("\n")
    for line in text.split("\n"):
        for piece in _pieces(line, limit, size):
            grown = used + size(piece) + (newline if current else 0)
            if current and grown > limit:
                parts.append("\n".join(current))
                current, used = [piece], size(piece)
            else:
                current.append(piece)
                used = grown
    if current:
        parts.append("\n".join(current))
    return [part for part in parts if part.strip()] or [text[:_fitting(text, limit, size)]]


def fit_text(text: str, limit: int, *, size: Callable[[str], int] = len) -> str:
    """`text` cut to at most `limit` (characters, or what `size` counts) between two characters, ending in '…'."""
    if size(text) <= limit:
        return text
    room = limit - size(ELLIPSIS)
    return text[:_fitting(text, room, size)] + ELLIPSIS if room > 0 else text[:_fitting(text, limit, size)]


# Where a line too long for one part is best cut: after a space or a sentence's punctuation, Chinese or not.
_BREAKS = frozenset(" \t。，；！？、,;!?")


def _pieces(line: str, limit: int, size: Callable[[str], int]) -> list[str]:
    """`line` itself when it fits, else pieces of it that do, each cut between two characters — after a space or
    punctuation when there is one in the piece's second half, so that words and sentences stay whole."""
    pieces = []
    while size(line) > limit:
        end = max(_fitting(line, limit, size), 1)  # a character bigger than the limit still moves on
        cut = max((i + 1 for i in range(end // 2, end) if line[i] in _BREAKS), default=end)
        pieces.append(line[:cut])
        line = line[cut:]
    return pieces + [line] if line or not pieces else pieces


def _fitting(text: str, limit: int, size: Callable[[str], int]) -> int:
    """How many leading characters of `text` fit in `limit` (a binary search: `size` grows with the prefix)."""
    if size is len:
        return min(len(text), max(limit, 0))
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if size(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low
