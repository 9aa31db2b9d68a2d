"""zh-CN and en through gettext catalogs (.po files, compiled in memory with Babel when first used)."""

from __future__ import annotations

import gettext
import io
import re
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SUPPORTED = ("zh-CN", "en")
DOMAIN = "ticketbot"
CATALOGS = Path(__file__).resolve().parent
_LATIN = re.compile(r"[A-Za-z]{2,}")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class Translator:
    """Translates English msgids into one language and fills `{named}` placeholders."""

    def __init__(self, language: str, translations: gettext.NullTranslations):
        self.language = language
        self._translations = translations

    def gettext(self, msgid: str, **params) -> str:
        """The translation of `msgid`, formatted with `params`."""
        text = self._translations.gettext(msgid)
        return text.format(**params) if params else text

    _ = gettext

    def ngettext(self, singular: str, plural: str, n: int, **params) -> str:
        """The singular or plural translation for `n`, formatted with `params` (and `n`)."""
        return self._translations.ngettext(singular, plural, n).format(n=n, **params)


def normalize_language(tag: str | None) -> str | None:
    """'zh', 'zh_CN', 'zh-Hans' → 'zh-CN'; 'en-US' → 'en'; anything else → None."""
    if not tag:
        return None
    lowered = tag.strip().replace("_", "-").lower()
    if lowered.startswith("zh"):
        return "zh-CN"
    if lowered.startswith("en"):
        return "en"
    return None


def guess_language(text: str) -> str | None:
    """'zh-CN' for text with Chinese characters, 'en' for Latin-letter text, else None (unknown)."""
    if _CJK.search(text or ""):
        return "zh-CN"
    return "en" if _LATIN.search(text or "") else None


@lru_cache(maxsize=8)
def _load(language: str) -> gettext.NullTranslations:
    folder = language.replace("-", "_")
    path = CATALOGS / folder / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=folder)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def translator(language: str | None) -> Translator:
    """The translator for `language` (unknown languages fall back to English msgids)."""
    normalized = normalize_language(language) or "en"
    return Translator(normalized, _load(normalized))


def preload() -> None:
    """Compile every catalog now, so the first message of a running bot does not pay for it."""
    for language in SUPPORTED:
        translator(language)
