"""How the knowledge base reads text: Chinese segmented by jieba, English stemmed by Snowball, synonyms and typos.

The same analysis feeds both databases' full-text indexes (SQLite FTS5 and PostgreSQL tsvector) with ready-made
terms, so the two rank alike and neither depends on a server-side Chinese parser.
"""

from __future__ import annotations

import difflib
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import jieba
import snowballstemmer

from bot.kb_config import DEFAULT_SYNONYMS

jieba.setLogLevel(logging.WARNING)  # it logs its dictionary loading at DEBUG to stderr otherwise
_STEMMER = snowballstemmer.stemmer("english")
_STEM_LOCK = threading.Lock()  # the Snowball stemmer keeps state between calls
_PIECE = re.compile(r"[0-9a-z]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")
_MARKDOWN = re.compile(r"[#*_`>\[\]]+|^\s*[-+]\s+|^\s*\d+\.\s+", re.MULTILINE)
TYPO_MIN_LENGTH = 4  # shorter words have too many neighbours one letter away
TYPO_CUTOFF = 0.8

# Words that say nothing about the topic of a question (after stemming for English).
STOPWORDS = frozenset("""
的 了 吗 呢 吧 啊 呀 是 我 你 他 她 它 我们 你们 他们 这 那 这个 那个 在 和 与 或 及 就 都 也 还 又 把 被 给 让 要 想 会 能 可以
怎么 怎么办 怎样 如何 什么 为什么 为何 哪里 哪儿 请问 一下 一个 有 没 没有 不 已经 现在 时候 问题 请 麻烦 谢谢 您 好 吗 么 个 该
a an the to of in on at for from by with and or but is are was were be been am do doe did does i my me we our you your it its
this that these those how what why when where which who can could would should will shall not no yes so if then than there
get got have has had just please thank thanks hi hello help want need tri after befor again also veri too still some ani all
""".split())


@lru_cache(maxsize=100_000)
def _stem(word: str) -> str:
    with _STEM_LOCK:
        return _STEMMER.stemWord(word)


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC) and lower case: 'ＡＰＰ' and 'app' are one word."""
    return unicodedata.normalize("NFKC", text or "").lower()


def _terms_of_token(token: str) -> Iterable[str]:
    for piece in _PIECE.findall(token):
        if _CJK.match(piece):
            yield piece
        elif piece.isdigit() or len(piece) == 1:
            yield piece
        else:
            yield _stem(piece)


def terms(text: str) -> list[str]:
    """The text's index terms in order (stopwords dropped, repeats kept): what the full-text index stores."""
    found = []
    for token in jieba.cut_for_search(normalize(text)):
        for term in _terms_of_token(token):
            if term not in STOPWORDS:
                found.append(term)
    return found


def distinct_terms(*texts: str) -> list[str]:
    """Each term of the texts once, in order of first appearance."""
    return list(dict.fromkeys(term for text in texts for term in terms(text)))


def is_ready() -> bool:
    """Whether jieba's dictionary is loaded (loading takes about a second: do it off the event loop)."""
    return jieba.dt.initialized


def warm_up() -> None:
    """Load jieba's dictionary and teach it the synonyms' Chinese words (blocking: call in a thread)."""
    jieba.initialize()
    _teach(tuple(tuple(group) for group in DEFAULT_SYNONYMS))


_taught: set[str] = set()


def _teach(groups: Sequence[Sequence[str]]) -> None:
    for group in groups:
        for word in group:
            word = normalize(word).strip()
            if word and word not in _taught and _CJK.search(word) and " " not in word:
                jieba.add_word(word, freq=20000)  # keep it whole: '开票' must not split into '开' '票'
                _taught.add(word)


@dataclass(frozen=True)
class QueryGroup:
    """One word of a question and what else may stand for it; each alternative is a tuple of terms (all needed)."""

    alternatives: tuple[tuple[str, ...], ...]

    @property
    def flat(self) -> tuple[str, ...]:
        """Every term of every alternative."""
        return tuple(dict.fromkeys(term for alternative in self.alternatives for term in alternative))


class Synonyms:
    """A synonym list, analysed: each word's terms → the terms of its group's other words."""

    def __init__(self, groups: Sequence[Sequence[str]]):
        _teach(groups)
        self._by_term: dict[str, list[tuple[str, ...]]] = {}
        for group in groups:
            forms = [tuple(terms(word)) for word in group]
            forms = [form for form in dict.fromkeys(forms) if form]
            for form in forms:
                if len(form) == 1:
                    self._by_term.setdefault(form[0], []).extend(f for f in forms if f != form)

    def of(self, term: str) -> list[tuple[str, ...]]:
        """The other forms of `term` (empty when it has none)."""
        return self._by_term.get(term, [])


@lru_cache(maxsize=8)
def synonyms_for(groups: tuple[tuple[str, ...], ...]) -> Synonyms:
    """The analysed synonym list for these groups (cached: the config's list is analysed once)."""
    return Synonyms(groups)


def query_groups(text: str, synonyms: Synonyms) -> list[QueryGroup]:
    """The question's words, each with its synonyms (typos are corrected later, against the index's terms)."""
    groups = []
    for term in dict.fromkeys(terms(text)):
        alternatives = [(term,), *synonyms.of(term)]
        groups.append(QueryGroup(tuple(dict.fromkeys(alternatives))))
    return groups


def may_be_typo(term: str) -> bool:
    """Whether an unknown term is worth a look for a near spelling (Latin words of some length)."""
    return len(term) >= TYPO_MIN_LENGTH and term.isascii() and term.isalpha()


def closest(term: str, candidates: Sequence[str]) -> str | None:
    """The known term nearest to `term` (a typo's intended word), or None when none is near enough."""
    found = difflib.get_close_matches(term, candidates, n=1, cutoff=TYPO_CUTOFF)
    return found[0] if found else None


@lru_cache(maxsize=20_000)
def _sentence_terms(sentence: str) -> frozenset[str]:
    return frozenset(terms(sentence))  # cached: the same articles' sentences come back search after search


def snippet(texts: Sequence[str], wanted: Iterable[str], *, width: int = 120) -> str:
    """The sentence of `texts` that holds most of the wanted terms, plain text, at most `width` characters."""
    wanted = set(wanted)
    best, best_score = "", -1
    for text in texts:
        plain = _MARKDOWN.sub("", text or "")
        for sentence in _SENTENCE.findall(plain):
            sentence = " ".join(sentence.split())
            if not sentence:
                continue
            score = len(wanted.intersection(_sentence_terms(sentence)))
            if score > best_score:
                best, best_score = sentence, score
    return best if len(best) <= width else best[: width - 1] + "…"
