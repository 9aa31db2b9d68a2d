"""Maintainer helper: merge a {msgid: translation} dict into the zh_CN catalog (`python -m bot.i18n.catalog_tool F`)."""

from __future__ import annotations

import runpy
import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.i18n.extract import CATALOG, used_msgids


def merge(translations: dict[str, str]) -> int:
    """Add or update translations; keep existing ones; returns how many entries the catalog holds."""
    with CATALOG.open("rb") as handle:
        old = read_po(handle)
    catalog = Catalog(locale="zh_CN", project="ticketbot", charset="utf-8", fuzzy=False)
    known = {m.id: m.string for m in old if m.id}
    known.update(translations)
    used = used_msgids()
    for msgid in sorted(set(known) | set(used), key=lambda k: used.get(k, "~")):
        catalog.add(msgid, known.get(msgid, ""), locations=[(used[msgid].rsplit(":", 1)[0], 0)] if msgid in used else [])
    with CATALOG.open("wb") as handle:
        write_po(handle, catalog, width=0, omit_header=False, include_lineno=False)
    return len(catalog)


if __name__ == "__main__":
    print(merge(runpy.run_path(sys.argv[1])["ZH"]))
