"""`python -m bot.i18n.extract`: list msgids used in the code that the zh_CN catalog does not translate."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("bot", "handlers", "schedules", "cards")
# `t._("…")`, `t.gettext`, `_("…")` markers and `t.ngettext(s, p, n)` all count.
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}
CATALOG = Path(__file__).resolve().parent / "zh_CN" / "LC_MESSAGES" / "ticketbot.po"


def used_msgids() -> dict[str, str]:
    """msgid → 'file:line' of its first use."""
    found: dict[str, str] = {}
    for folder in SOURCES:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            for msgid in message if isinstance(message, tuple) else (message,):
                if msgid:
                    found.setdefault(msgid, f"{folder}/{filename}:{lineno}")
    return found


def missing_translations() -> dict[str, str]:
    """Used msgids without a Chinese translation."""
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    # A plural entry counts only with every form translated (its msgstr is a tuple, truthy even when empty).
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog
                  if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)}
    return {msgid: where for msgid, where in used_msgids().items() if msgid not in translated}


def main() -> int:
    """Print the untranslated msgids; exit 1 when there are any."""
    missing = missing_translations()
    for msgid, where in sorted(missing.items(), key=lambda item: item[1]):
        print(f"{where}: {msgid!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
