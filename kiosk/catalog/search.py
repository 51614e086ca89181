"""Find a catalog item however a resident types it, within a keystroke's budget (TARGETS.md P4).

A query may be 汉字 (简体 or 繁體), full pinyin (``shebao``), pinyin initials (``sbcbzm``), a mix
(``社保cb``, ``shebcb``), English, or any of these with one typo. Every name, alias and keyword is
indexed once:

- ``hanzi``: the text itself, lower-cased (繁體 queries are converted to 简体 with OpenCC t2s, and
  繁體 overrides written in the data are indexed too);
- ``pinyin``: the syllables of each term. A query is matched against them by a small state
  machine in which every letter either continues the current syllable or starts the next one;
  that single rule covers full pinyin, initials and any mix of them, and a 汉字 in a mixed query
  stands for any of its common readings (so a homophone typo such as 症明 still finds 证明). The
  states are memoised per query, so each keystroke costs one step from the previous one's;
- ``plain`` / ``initials`` / ``english``: for exact matches and the one-typo fallback.

The per-representation texts of all items are concatenated, so each substring test is one C-level
``str.find`` scan plus Python work only per matching item. Ranking: exact, then
prefix, then substring, then homophone, then typo; names before aliases before keywords; then
popularity. Any query string, of any length or content, gives results or none, never an error.

Search by intent (issue 20) reads ``config/catalog/synonyms.toml`` (kiosk/catalog/synonyms.py): its
terms are indexed as more aliases of their item or 一件事 bundle (bundles are results too,
:class:`BundleHit`, ``bundle:<code>``); a query is also read as a question — its question and verb words
stripped (养老金怎么查 → 养老金; the verb asks for a kind, and items of that kind come first), a word
replaced by one that means the same (看病 → 医疗), its words looked up apart (医保 … 报销), and, when
nothing matched well, the share of its character pairs an entry holds. A reading other than the query
itself ranks a little lower, so what the resident typed whole keeps its place.

The terms' syllables come from a cache file (:func:`syllable_map`) and a 汉字's readings from the
pinyin index file (kiosk/catalog/ime.py), so building the index takes ≈ 20 ms and pypinyin's tables
(≈ 55 MB) never load into the kiosk app; terms not in the cache are worked out in a helper process.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import importlib.metadata
import json
import logging
import re
import sys
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.catalog.ime import char_readings
from kiosk.catalog.model import TAIWAN_PHRASES, Bundle, ServiceItem
from kiosk.catalog.packed import cache_dir, stamped_map, worked_out_elsewhere
from kiosk.catalog.synonyms import SearchWords

log = logging.getLogger(__name__)

# Tiers of the ranking; spaced so weight and popularity (< 50 together) never cross a tier.
EXACT, PREFIX_HANZI, PREFIX, HANZI = 1000, 900, 850, 800
SUBSTRING, ENGLISH, HOMOPHONE, TYPO = 700, 650, 500, 300
NAME, ALIAS, KEYWORD = 3, 2, 1
# Search by intent (synonyms.toml): the item kind a verb asks for outranks the match (a matching kind's
# substring beats another kind's exact name); what the query says once its question and verb words are
# stripped, or with a word replaced by one that means the same, ranks a little below the query itself.
KIND_BONUS, KIND_FROM_TIER = 400, 650
CORE_PENALTY, VARIANT_PENALTY = 150, 170
ALL_WORDS = 760  # every word of a query found in the entry's texts (医保 + 报销), not as one phrase
TOGETHER = 20  # … all of them in one of its names
# When nothing matched well: the share of the query's character pairs found in an entry's texts.
BIGRAMS_FROM, BIGRAMS_SPAN, BIGRAMS_MIN_SHARE = 560, 200, 0.34
BIGRAM_VARIANTS = 8
BUNDLE_POPULARITY = 100  # a 一件事 matched by its name or life-event words is what the resident came for
MAX_VARIANTS = 24
_EN_STOP = frozenset({"a", "an", "the", "my", "of", "for", "to", "and", "in", "on", "i", "me"})
MAX_QUERY = 1000  # characters, before normalisation
MIN_TYPO_LEN = 4  # shorter queries with a "typo" match almost anything
TYPO_WHEN_FEWER_THAN = 3  # the typo fallback runs only when fewer items, none a prefix, were found
TYPO_CANDIDATES = 40
WORD_CACHE = 64  # words whose entries are kept (a few queries' words and their synonyms; ≤ ~1 MB)
STATE_CACHE = 512  # queries whose pinyin match states are kept (typing reuses the last one)
SYLLABLES_FILE = "search-syllables.json"
SYLLABLES_FORMAT = 1

_State = tuple[int, int, int, int]  # term, syllable where the match starts, current syllable, letters used

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_SURROGATES = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class SearchHit:
    """One result: the item, its score (higher is better), the text that matched and how."""

    item: ServiceItem
    score: float
    matched: str
    how: str  # exact, prefix, hanzi, pinyin, english, homophone, typo, words

    @property
    def key(self) -> str:
        """The item's code."""
        return self.item.code


@dataclass(frozen=True)
class BundleHit:
    """A 一件事 bundle found by its name or life-event words; its touch target is ``bundle:<code>``."""

    bundle: Bundle
    score: float
    matched: str
    how: str

    @property
    def key(self) -> str:
        """``bundle:<code>``: the browse target that opens the bundle."""
        return f"bundle:{self.bundle.code}"


@functools.cache
def _t2s() -> Any:
    import opencc  # lazy: OpenCC's tables take ~0.1 s to read; only the search index needs them

    return opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=8192)
def _readings(char: str) -> tuple[str, ...]:
    """Toneless pinyin readings of one 汉字, the common ones (行 → xing, hang), from the pinyin
    index file the keyboard uses too (kiosk/catalog/ime.py: mapped, not pypinyin's tables)."""
    return char_readings(char)


def _syllables(text: str) -> list[str]:
    """Toneless pinyin syllables of a name in context (pypinyin picks 重庆's chong); letters and
    digits inside a name (e通卡, 12315, HPV) stay as words."""
    # lazy: pypinyin's tables cost ≈ 55 MB; only the cache builder needs them
    from pypinyin import lazy_pinyin

    out = []
    for piece in lazy_pinyin(text, v_to_u=False):
        word = re.sub(r"[^a-z0-9]", "", piece.lower())
        if word:
            out.append(word)
    return out


def syllables_stamp() -> str:
    try:
        version = importlib.metadata.version("pypinyin")
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    return f"format {SYLLABLES_FORMAT}; pypinyin {version}"


def _syllables_elsewhere(keys: list[str]) -> dict[str, list[str]]:
    """:func:`_syllables` of ``keys`` worked out in a helper process, so pypinyin's tables never load
    into the app."""
    answer = worked_out_elsewhere("kiosk.catalog.search", keys, timeout_s=120)
    return {k: [str(x) for x in v] for k, v in answer.items()}


def syllable_map(keys: Iterable[str], path: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Syllables of each cleaned term, from the cache file (``search-syllables.json`` beside the
    pinyin index); terms not in it (a changed catalog, a first run) are worked out in a helper
    process and added. A damaged or stale file is said in the log and rebuilt, never a crash."""
    path = path or cache_dir() / SYLLABLES_FILE
    found = stamped_map(path, syllables_stamp(), "syllables", list(dict.fromkeys(keys)), what="search index",
                        read=lambda v: [str(x) for x in v] if isinstance(v, list) else None,
                        elsewhere=_syllables_elsewhere, here=_syllables, log=log)
    return {k: tuple(v) for k, v in found.items()}


def _clean(text: str) -> str:
    """Lower-case, NFKC (full-width letters become ASCII), no spaces or punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum() or _CJK.match(ch))


class _Blob:
    """Terms of one representation concatenated, each followed by a newline, with their owners."""

    def __init__(self, gram: int = 0) -> None:
        self.gram = gram  # q-gram length of the typo index; 0 = none
        self.postings: dict[str, list[int]] = {}
        self.keys: dict[int, str] = {}
        self.parts: list[str] = []
        self.starts: list[int] = []
        self.terms: list[int] = []  # index into CatalogSearch._terms
        self._length = 0
        self.text = ""

    def add(self, text: str, term: int) -> None:
        self.starts.append(self._length)
        self.terms.append(term)
        self.parts.append(text + "\n")
        self._length += len(text) + 1
        if self.gram:
            self.keys[term] = text
            for gram in self.grams_of(text):
                self.postings.setdefault(gram, []).append(term)

    def grams_of(self, text: str) -> set[str]:
        g = self.gram
        return {text[i:i + g] for i in range(len(text) - g + 1)}

    def key_of(self, term: int) -> str:
        return self.keys.get(term, "")

    def seal(self) -> None:
        self.text = "".join(self.parts)
        self.parts = []

    def term_at(self, pos: int) -> tuple[int, int]:
        """(term index, start of that term) for a position in the text."""
        k = bisect.bisect_right(self.starts, pos) - 1
        return self.terms[k], self.starts[k]


@dataclass(frozen=True)
class _Term:
    item: int
    text: str  # as shown (the name, alias or keyword)
    key: str  # cleaned 简体
    weight: int


class CatalogSearch:
    """The search index over a list of items (and the 一件事 bundles); build once, query per keystroke.
    Queries run one at a time (the UI thread's): a query's ranking state and the memoised matches live here."""

    def __init__(self, items: Sequence[ServiceItem], bundles: Sequence[Bundle] = (),
                 words: SearchWords | None = None) -> None:
        """Index ``items`` and ``bundles`` with the extra terms of ``words`` (synonyms.toml). Term
        syllables come from a cache file (:func:`syllable_map`; pypinyin runs in a helper process for
        terms not in it), so pypinyin's tables never load into the app."""
        self.items = list(items)
        self.bundles = list(bundles)
        self._intent = _Intent(words)
        self._terms: list[_Term] = []
        self._item_first_term: list[int] = []
        self._hanzi, self._plain, self._english = _Blob(gram=2), _Blob(gram=3), _Blob(gram=3)
        self._initials = _Blob()
        self._syllables: list[tuple[str, ...]] = []  # per term; () for English names
        self._by_first: dict[str, list[tuple[int, int]]] = {}  # letter → (term, syllable index)
        self._by_syllable: dict[str, list[tuple[int, int]]] = {}
        self._states: OrderedDict[str, tuple[_State, ...]] = OrderedDict()
        self._exact: dict[str, list[int]] = {}
        self._longest = 0
        # Entries: the items, then the bundles (``bundle:<code>``); per entry its key, kind and popularity.
        self._keys = [i.code for i in self.items] + [f"bundle:{b.code}" for b in self.bundles]
        # A bundle is applied for (出生一件事 is one application for several items): 办/申请 asks for it too.
        self._kinds = [i.kind for i in self.items] + ["apply"] * len(self.bundles)
        popularity = [i.popularity for i in self.items] + [BUNDLE_POPULARITY] * len(self.bundles)
        names = [(i.name.zh_CN, i.name.tw, i.name.en, i.aliases, i.keywords) for i in self.items]
        names += [(b.name.zh_CN, b.name.tw, b.name.en, (), ()) for b in self.bundles]
        texts, english = [], []
        for key, (zh, tw, en, aliases, keywords) in zip(self._keys, names, strict=True):
            extra = self._intent.terms.get(key, ())
            texts.append(self._texts(zh, tw, [*aliases, *(w for w in extra if not w.isascii())], keywords))
            english.append([en.casefold()] + [w for w in extra if w.isascii()])
        syllables = syllable_map(key for item_texts in texts for _text, key, _weight in item_texts)
        for index in range(len(self._keys)):
            self._item_first_term.append(len(self._terms))
            self._add_item(index, texts[index], english[index], syllables)
        self._item_first_term.append(len(self._terms))
        # Per term: its entry and the part of the score that does not depend on the query.
        self._term_item = [t.item for t in self._terms]
        self._term_bonus = [5 * t.weight + popularity[t.item] / 10 for t in self._terms]
        self._codes = self._keys
        self._by_department: dict[str, list[int]] = {}
        for index, item in enumerate(self.items):
            self._by_department.setdefault(_clean(item.department), []).append(index)
        for blob in (self._hanzi, self._plain, self._initials, self._english):
            blob.seal()
        self._want = ""  # the kind the query's verb asks for, while one query is ranked
        self._penalty = 0  # what this reading of the query costs (its words stripped, or replaced)
        self._strongest = 0  # the best tier any reading of the query reached so far
        self._strongest_wanted = 0  # … in an entry of the kind the query's verb asks for
        self._words: OrderedDict[str, dict[int, int]] = OrderedDict()  # word → entries holding it (_holding)

    @staticmethod
    def _texts(name: str, tw: str | None, aliases: Iterable[str],
               keywords: Iterable[str]) -> list[tuple[str, str, int]]:
        """(text, cleaned 简体 key, weight) of an entry's names, aliases and keywords, each key once."""
        texts: list[tuple[str, int]] = [(name, NAME)]
        if tw:  # a 繁體 name written in the data may use other words (申請 for 申领)
            texts.append((tw, NAME))
        texts += [(a, ALIAS) for a in aliases] + [(k, KEYWORD) for k in keywords]
        out: list[tuple[str, str, int]] = []
        seen: set[str] = set()
        for text, weight in texts:
            key = _clean(_to_simplified(text))
            if key and key not in seen:
                seen.add(key)
                out.append((text, key, weight))
        return out

    def _add_item(self, index: int, texts: list[tuple[str, str, int]], english: list[str],
                  syllable_of: dict[str, tuple[str, ...]]) -> None:
        for text, key, weight in texts:
            term = len(self._terms)
            self._terms.append(_Term(index, text, key, weight))
            syllables = list(syllable_of[key])
            plain, initials = "".join(syllables), "".join(s[0] for s in syllables)
            self._hanzi.add(key, term)
            self._syllables.append(tuple(syllables))
            for i, syllable in enumerate(syllables):
                self._by_first.setdefault(syllable[0], []).append((term, i))
                self._by_syllable.setdefault(syllable, []).append((term, i))
            self._plain.add(plain, term)
            self._initials.add(initials, term)
            for exact in {key, plain, initials}:
                self._exact.setdefault(exact, []).append(term)
            self._longest = max(self._longest, len(key), len(plain))
        for n, text in enumerate(english):
            term = len(self._terms)
            self._terms.append(_Term(index, text, text, NAME if n == 0 else ALIAS))
            self._syllables.append(())
            self._english.add(text, term)
            self._exact.setdefault(_clean(text), []).append(term)

    # -- querying --

    def clear_cache(self) -> None:
        """Forget memoised match states and words (benchmarks use it to time a fresh typing session)."""
        self._states.clear()
        self._words.clear()

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """Items for ``query``, best first, at most ``limit``; [] for a query that matches nothing."""
        return [h for h in self.find(query, limit + len(self.bundles)) if isinstance(h, SearchHit)][:limit]

    def find(self, query: str, limit: int = 20) -> list[SearchHit | BundleHit]:
        """Items and 一件事 bundles for ``query``, best first, at most ``limit``; [] for nothing.

        The query as typed is matched; then, read as a question (synonyms.toml), without its question
        and verb words (养老金怎么查 → 养老金, asking for a query item), with a word replaced by one that
        means the same (看病 → 医疗), and word by word (医保 and 报销 in different places of an item's
        texts). An entry's best reading counts; items of the kind the verb asks for come first."""
        if not isinstance(query, str) or limit <= 0 or len(query) > MAX_QUERY:
            return []  # nobody types a thousand characters at a kiosk; do not spend time on it
        # Lone surrogates (possible in a Python str, never in real text) would upset OpenCC.
        words = unicodedata.normalize("NFKC", _SURROGATES.sub("", query)).casefold().split()
        english = " ".join(words)
        q = _clean(_to_simplified("".join(words)))
        if not q.isascii():
            q = _mainland_words(q)
        if not q or len(q) > self._longest + 1 + self._intent.longest:
            return []  # nothing searchable, or longer than any name (with one typo) and a question
        intent = self._intent
        core, core_en, kind = intent.parse(q, english)
        self._want, self._penalty, self._strongest, self._strongest_wanted = kind, 0, 0, 0
        try:
            best: dict[int, tuple[float, str, str]] = {}
            if len(q) <= self._longest + 1:
                self._match(q, english, best)
            if core != q and core:
                self._penalty = CORE_PENALTY
                self._merge(best, self._match(core, core_en, {}))
            if core and (core in intent.bundle_words or q in intent.bundle_words):
                for index in range(len(self.items), len(self._keys)):
                    self._record(best, self._item_first_term[index], EXACT, "exact")
            if core:
                self._penalty = VARIANT_PENALTY
                for variant, variant_en in intent.variants(core, core_en)[:MAX_VARIANTS]:
                    self._exact_hits(variant, best)
                    if variant_en:
                        self._substring_hits(self._english, variant_en, best, PREFIX, ENGLISH, "english",
                                             words=True)
                    elif not variant.isascii():
                        self._substring_hits(self._hanzi, variant, best, PREFIX_HANZI, HANZI, "hanzi")
                segments = intent.segments(core, core_en)
                self._penalty = CORE_PENALTY
                # Not when the words were found together (in an item of the kind the verb asks for).
                if len(segments) >= 2 and (self._strongest_wanted if self._want else self._strongest) < HANZI:
                    self._all_words_hits(segments, best)
                elif not best and not core_en and len(core) >= 4:
                    # Nothing at all: perhaps two words far apart in a name (二手房 … 过户, 幼儿园 … 报名).
                    for cut in range(2, len(core) - 1):
                        self._all_words_hits([(core[:cut],), (core[cut:],)], best)
                if self._strongest < PREFIX and self._strongest != HOMOPHONE and not core_en and _CJK.search(core):
                    # Still nothing good (a name read alike, 医保抱销, is good): a question in the
                    # resident's own words (灵活就业怎么交社保). Its
                    # question and verb words go wherever they are; entries holding most of its
                    # character pairs, in any of its meanings, are offered.
                    inner, inner_kind = intent.inner(core)
                    self._want = self._want or inner_kind
                    for text, _en in [(inner, ""), *intent.variants(inner, "")[:BIGRAM_VARIANTS]]:
                        self._bigram_hits(text, best)
        finally:
            self._want, self._penalty = "", 0
        codes = self._codes
        ranked = heapq.nsmallest(limit, best.items(), key=lambda kv: (-kv[1][0], codes[kv[0]]))
        n = len(self.items)
        return [SearchHit(self.items[i], score, matched, how) if i < n
                else BundleHit(self.bundles[i - n], score, matched, how) for i, (score, matched, how) in ranked]

    @staticmethod
    def _merge(best: dict[int, tuple[float, str, str]], more: dict[int, tuple[float, str, str]]) -> None:
        for entry, hit in more.items():
            old = best.get(entry)
            if old is None or hit[0] > old[0]:
                best[entry] = hit

    def _match(self, q: str, english: str, best: dict[int, tuple[float, str, str]]) -> dict[int, tuple[float, str, str]]:
        """The query as text: exact, 汉字 substring, pinyin, English, then one typo when little was found."""
        self._exact_hits(q, best)
        self._substring_hits(self._hanzi, q, best, PREFIX_HANZI, HANZI, "hanzi")
        has_cjk = bool(_CJK.search(q))
        if not has_cjk or len(q) >= 2:
            # All-汉字 queries reach here only through their readings: homophones.
            typed = not has_cjk or not all(_CJK.match(ch) for ch in q)
            self._pinyin_hits(q, best, (PREFIX, SUBSTRING) if typed else (HOMOPHONE, HOMOPHONE),
                              "pinyin" if typed else "homophone")
        if english.isascii() and len(english) >= 2:
            self._substring_hits(self._english, english, best, PREFIX, ENGLISH, "english", words=True)
        if (len(best) < TYPO_WHEN_FEWER_THAN and len(q) >= (3 if has_cjk else MIN_TYPO_LEN)
                and all(score < PREFIX for score, _m, _h in best.values())):
            for blob in (self._hanzi, self._plain):
                self._typo_hits(blob, q, best)
            if english.isascii():
                self._typo_hits(self._english, english, best)
        return best

    def _all_words_hits(self, segments: list[tuple[str, ...]], best: dict[int, tuple[float, str, str]]) -> None:
        """Entries whose texts (or department) hold every segment, each in one of its meanings."""
        found: dict[int, int] | None = None
        for alternatives in segments:
            here: dict[int, int] = {}  # entry → the best weight of a term holding the segment
            for alt in alternatives:
                for entry, weight in self._holding(alt).items():
                    if weight > here.get(entry, 0):
                        here[entry] = weight
            if found is None:
                found = here
            else:
                found = {e: min(w, here[e]) for e, w in found.items() if e in here}
            if not found:
                return
        for entry, weight in (found or {}).items():
            terms = range(self._item_first_term[entry], self._item_first_term[entry + 1])
            # All the words in one of its names (积分入学 for 入学积分) ranks it as that name …
            together = [t for t in terms if all(any(a in self._terms[t].key for a in alternatives)
                                                for alternatives in segments)]
            if together:
                self._record(best, max(together, key=lambda t: self._terms[t].weight), ALL_WORDS + TOGETHER,
                             "words")
                continue
            # … else as the weakest of the terms that held a word (a keyword, or the department's name).
            term = min(terms, key=lambda t: (self._terms[t].weight < weight, self._terms[t].weight))
            self._record(best, term, ALL_WORDS, "words")

    def _holding(self, word: str) -> dict[int, int]:
        """Entries whose texts (or department) hold ``word``, with the best weight of such a term; kept for
        the words of the last few queries (a resident typing repeats them at every keystroke)."""
        known = self._words.get(word)
        if known is not None:
            self._words.move_to_end(word)
            return known
        here: dict[int, int] = {}
        blob = self._english if word.isascii() and not word.isdigit() else self._hanzi
        text, pos = blob.text, 0
        while (pos := text.find(word, pos)) >= 0:
            term, _start = blob.term_at(pos)
            entry, weight = self._term_item[term], self._terms[term].weight
            if weight > here.get(entry, 0):
                here[entry] = weight
            pos += 1
        for entry in self._by_department.get(word, ()):
            here.setdefault(entry, KEYWORD)
        self._words[word] = here
        while len(self._words) > WORD_CACHE:
            self._words.popitem(last=False)
        return here

    def _bigram_hits(self, text: str, best: dict[int, tuple[float, str, str]]) -> None:
        pairs = {text[i:i + 2] for i in range(len(text) - 1)}
        if len(pairs) < 2:
            return
        postings, term_item = self._hanzi.postings, self._term_item
        found: dict[int, set[str]] = {}
        for pair in pairs:
            for term in postings.get(pair, ()):
                found.setdefault(term_item[term], set()).add(pair)
        for entry, held in found.items():
            share = len(held) / len(pairs)
            if share >= BIGRAMS_MIN_SHARE and len(held) >= 2:
                self._record(best, self._item_first_term[entry], int(BIGRAMS_FROM + BIGRAMS_SPAN * share), "pairs")

    def _record(self, best: dict[int, tuple[float, str, str]], term_index: int, tier: int, how: str) -> None:
        self._strongest = max(self._strongest, tier)
        item = self._term_item[term_index]
        score = tier + self._term_bonus[term_index] - self._penalty
        # The query typed whole as an item's name or alias (查房产) is what the resident calls it: as good
        # as the kind its verb asks for.
        if self._want and ((tier >= KIND_FROM_TIER and self._kinds[item] == self._want)
                           or (tier == EXACT and not self._penalty)):
            score += KIND_BONUS
            self._strongest_wanted = max(self._strongest_wanted, tier)
        old = best.get(item)
        if old is None or score > old[0]:
            best[item] = (score, self._terms[term_index].text, how)

    def _exact_hits(self, q: str, best: dict[int, tuple[float, str, str]]) -> None:
        for term in self._exact.get(q, ()):
            # A keyword typed whole is a good sign, but not as good as a name or alias.
            exact = self._terms[term].weight >= ALIAS
            self._record(best, term, EXACT if exact else PREFIX, "exact" if exact else "prefix")

    def _next_item_start(self, blob: _Blob, term_index: int) -> int:
        """Where the next item's terms begin in ``blob`` (one hit per item is enough)."""
        item = self._terms[term_index].item
        nxt = self._item_first_term[item + 1]
        k = bisect.bisect_left(blob.terms, nxt)
        return blob.starts[k] if k < len(blob.starts) else len(blob.text)

    def _substring_hits(self, blob: _Blob, q: str, best: dict[int, tuple[float, str, str]],
                        prefix_tier: int, tier: int, how: str, *, words: bool = False) -> None:
        text, pos = blob.text, 0
        while (pos := text.find(q, pos)) >= 0:
            term, start = blob.term_at(pos)
            at_word = pos == start or (words and text[pos - 1] == " ")
            self._record(best, term, prefix_tier if at_word else tier, "prefix" if at_word else how)
            # A prefix is the best this item can do here; after a mid-term hit a later term
            # (an alias) may still match at its start.
            pos = self._next_item_start(blob, term) if at_word else pos + 1

    def _pinyin_hits(self, q: str, best: dict[int, tuple[float, str, str]], tiers: tuple[int, int],
                     how: str) -> None:
        first: dict[int, int] = {}  # term → earliest syllable where a match starts
        for term, start, _i, _off in self._states_for(q):
            if start < first.get(term, 1 << 30):
                first[term] = start
        for term, start in first.items():
            self._record(best, term, tiers[0] if start == 0 else tiers[1], how)

    def _states_for(self, q: str) -> tuple[_State, ...]:
        """Match states of ``q`` against every term's syllables. Memoised by query, so a resident
        typing one more letter costs one step from the previous keystroke's states."""
        cached = self._states.get(q)
        if cached is not None:
            self._states.move_to_end(q)
            return cached
        k = len(q) - 1
        while k > 0 and q[:k] not in self._states:
            k -= 1
        states = self._states[q[:k]] if k > 0 else self._start(q[0])
        for n in range(max(k, 1), len(q)):
            states = self._step(states, q[n])
            self._remember(q[:n + 1], states)
        self._remember(q[:1], self._states.get(q[:1]) or self._start(q[0]))
        return states

    def _remember(self, q: str, states: tuple[_State, ...]) -> None:
        self._states[q] = states
        self._states.move_to_end(q)
        while len(self._states) > STATE_CACHE:
            self._states.popitem(last=False)

    def _start(self, ch: str) -> tuple[_State, ...]:
        if _CJK.match(ch):
            return tuple((t, i, i, len(r)) for r in _readings(ch) for t, i in self._by_syllable.get(r, ()))
        return tuple((t, i, i, 1) for t, i in self._by_first.get(ch, ()))

    def _step(self, states: tuple[_State, ...], ch: str) -> tuple[_State, ...]:
        # A letter continues the current syllable or starts the next one (full pinyin, initials
        # and any mix); a 汉字 must be the whole next syllable, in any of its readings.
        out: set[_State] = set()
        syllables = self._syllables
        if _CJK.match(ch):
            readings = set(_readings(ch))
            for term, start, i, _off in states:
                syls = syllables[term]
                if i + 1 < len(syls) and syls[i + 1] in readings:
                    out.add((term, start, i + 1, len(syls[i + 1])))
            return tuple(out)
        for term, start, i, off in states:
            syls = syllables[term]
            current = syls[i]
            if off < len(current) and current[off] == ch:
                out.add((term, start, i, off + 1))
            if i + 1 < len(syls) and syls[i + 1][0] == ch:
                out.add((term, start, i + 1, 1))
        return tuple(out)

    def _typo_hits(self, blob: _Blob, q: str, best: dict[int, tuple[float, str, str]]) -> None:
        # Candidates share q-grams with the query (one edit spoils at most four of them); the
        # ones sharing most are checked first, and at most TYPO_CANDIDATES, to bound the time.
        grams = blob.grams_of(q)
        if not grams:
            return
        counts: dict[int, int] = {}
        for gram in grams:
            for term in blob.postings.get(gram, ()):
                counts[term] = counts.get(term, 0) + 1
        need = max(1, len(grams) - 4)  # a transposition spoils up to four trigrams
        candidates = sorted((t for t, c in counts.items() if c >= need), key=lambda t: -counts[t])
        for term in candidates[:TYPO_CANDIDATES]:
            if self._terms[term].item not in best and _approx_in(q, blob.key_of(term)):
                self._record(best, term, TYPO, "typo")


class _Intent:
    """synonyms.toml compiled for matching: every word as a query would be after normalising (简体,
    lower case, no spaces for 汉字; words separated by one space for English)."""

    def __init__(self, words: SearchWords | None) -> None:
        self.terms: dict[str, tuple[str, ...]] = {}  # entry key → extra words (as written)
        self.bundle_words: frozenset[str] = frozenset()
        self.longest = 0  # the longest question or verb word: how much longer than a name a query may be
        self._kind: dict[str, str] = {}  # stripped word → the kind it asks for ("" for a question word)
        self._en_strip: list[tuple[tuple[str, ...], str]] = []  # longest first
        self._same: dict[str, tuple[str, ...]] = {}  # a word → the others that mean the same
        self._same_en: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._prefix: re.Pattern[str] | None = None
        self._suffix: re.Pattern[str] | None = None
        self._inner: re.Pattern[str] | None = None
        self._same_re: re.Pattern[str] | None = None
        if words is None:
            return
        terms: dict[str, list[str]] = {}
        for term in words.terms:
            terms.setdefault(term.target, []).extend(term.all())
        self.terms = {k: tuple(dict.fromkeys(v)) for k, v in terms.items()}
        self.bundle_words = frozenset(_clean(_to_simplified(w)) for w in words.bundles.all())
        stripped: list[tuple[str, str]] = [(w, "") for w in words.question.all()]
        stripped += [(w, verb.kind) for verb in words.verbs for w in verb.all()]
        cjk: dict[str, str] = {}
        for word, kind in stripped:
            if word.isascii():
                tokens = tuple(_en_tokens(word))
                if tokens:
                    self._en_strip.append((tokens, kind))
            else:
                key = _clean(_to_simplified(word))
                if key:
                    cjk.setdefault(key, kind)
        self._en_strip.sort(key=lambda tk: -len(tk[0]))
        self._kind = cjk
        self.longest = max((len(k) for k in cjk), default=0)
        if cjk:
            alternation = "|".join(re.escape(k) for k in sorted(cjk, key=len, reverse=True))
            self._prefix = re.compile(f"(?:{alternation})")
            self._suffix = re.compile(f"(?:{alternation})$")
            inside = [k for k in sorted(cjk, key=len, reverse=True) if len(k) >= 2]
            self._inner = re.compile("|".join(re.escape(k) for k in inside)) if inside else None
        same: dict[str, set[str]] = {}
        for group in words.same:
            keys = [_word_key(w) for w in group.all()]
            for key in keys:
                same.setdefault(key, set()).update(k for k in keys if k != key)
        for key, others in same.items():
            alternatives = tuple(sorted(others, key=lambda k: (k.isascii(), k)))
            if key.isascii():
                self._same_en[tuple(key.split())] = alternatives
            else:
                self._same[key] = alternatives
        if self._same:
            alternation = "|".join(re.escape(k) for k in sorted(self._same, key=len, reverse=True))
            self._same_re = re.compile(alternation)

    def parse(self, q: str, english: str) -> tuple[str, str, str]:
        """(what the query asks about, the same as English words or "", the kind its verb asks for or "").
        Question and verb words are taken off its start and end while something is left."""
        kind = ""
        if q.isascii():
            tokens = _en_tokens(english)
            changed = True
            while changed and len(tokens) > 1:
                changed = False
                for phrase, said in self._en_strip:
                    n = len(phrase)
                    if n >= len(tokens):
                        continue
                    if tuple(tokens[:n]) == phrase:
                        tokens = tokens[n:]
                    elif tuple(tokens[-n:]) == phrase:
                        tokens = tokens[:-n]
                    else:
                        continue
                    kind, changed = kind or said, True
                    break
            core_en = " ".join(tokens)
            return _clean(core_en), core_en, kind
        s = q
        while self._prefix is not None and self._suffix is not None:
            m = self._prefix.match(s)
            if m and m.end() < len(s):
                kind, s = kind or self._kind[m.group()], s[m.end():]
                continue
            m = self._suffix.search(s)
            if m and m.start() > 0:
                kind, s = kind or self._kind[m.group()], s[:m.start()]
                continue
            break
        return s, "", kind

    def inner(self, core: str) -> tuple[str, str]:
        """``core`` without the question and verb words (two characters or more) inside it, and the kind
        the first such verb asks for."""
        kind = ""
        if self._inner is None:
            return core, kind
        for m in self._inner.finditer(core):
            kind = kind or self._kind[m.group()]
        return self._inner.sub("", core) or core, kind

    def variants(self, core: str, core_en: str) -> list[tuple[str, str]]:
        """The query with one word replaced by another that means the same: (cleaned, English or "")."""
        out: list[tuple[str, str]] = []
        if core_en:
            tokens = core_en.split()
            for i in range(len(tokens)):
                for n in (3, 2, 1):
                    alternatives = self._same_en.get(tuple(tokens[i:i + n]))
                    if alternatives is None:
                        continue
                    for alt in alternatives:
                        if alt.isascii():
                            replaced = " ".join([*tokens[:i], alt, *tokens[i + n:]])
                            out.append((_clean(replaced), replaced))
                        elif n == len(tokens):
                            out.append((alt, ""))
                    break
            return out
        if self._same_re is None:
            return out
        each: list[list[tuple[str, str]]] = []  # per word found, the query with each other word in its place
        for m in self._same_re.finditer(core):
            mine: list[tuple[str, str]] = []
            for alt in self._same[m.group()]:
                if alt.isascii() and not alt.isdigit():
                    if m.start() == 0 and m.end() == len(core):
                        mine.append((_clean(alt), alt))
                    continue
                mine.append((core[:m.start()] + alt + core[m.end():], ""))
            each.append(mine)
        # Taken in turn, so the first few variants replace every word once (a cap keeps all words' share).
        for k in range(max((len(m) for m in each), default=0)):
            out += [mine[k] for mine in each if k < len(mine)]
        return out

    def segments(self, core: str, core_en: str) -> list[tuple[str, ...]]:
        """The query's words, each with the words that mean the same (医保报销 → (医保, 医疗 …), (报销 …))."""
        if core_en:
            tokens = [t for t in core_en.split() if t not in _EN_STOP]
            out: list[tuple[str, ...]] = []
            i = 0
            while i < len(tokens):
                for n in (3, 2, 1):
                    phrase = tuple(tokens[i:i + n])
                    if len(phrase) == n and (n == 1 or phrase in self._same_en):
                        out.append((" ".join(phrase), *self._same_en.get(phrase, ())))
                        i += n
                        break
            return out
        if self._same_re is None:
            return [(core,)]
        out, at = [], 0
        for m in self._same_re.finditer(core):
            if m.start() > at:
                out.append((core[at:m.start()],))
            out.append((m.group(), *self._same[m.group()]))
            at = m.end()
        if at < len(core):
            out.append((core[at:],))
        return out


@functools.cache
def _taiwan_words() -> tuple[re.Pattern[str], dict[str, str]]:
    """Taiwan words (列印, 資訊, 帳) as 简体 → the mainland words the catalog's 简体 names use: the inverse of
    how the names' 繁體 are derived (:data:`kiosk.catalog.model.TAIWAN_PHRASES`)."""
    back = {_clean(_to_simplified(taiwan)): _clean(_to_simplified(mainland)) for mainland, taiwan in TAIWAN_PHRASES}
    back = {k: v for k, v in back.items() if k and k != v}
    return re.compile("|".join(re.escape(k) for k in sorted(back, key=len, reverse=True))), back


def _mainland_words(q: str) -> str:
    pattern, back = _taiwan_words()
    return pattern.sub(lambda m: back[m.group()], q)


def _en_tokens(text: str) -> list[str]:
    """English words of a query or a word list, without question marks and full stops."""
    return [t for t in (w.strip("?？!！.,，。") for w in unicodedata.normalize("NFKC", text).casefold().split()) if t]


def _word_key(word: str) -> str:
    """A synonyms.toml word as a query would be: English as lower-case words, 汉字 as :func:`_clean`."""
    return " ".join(_en_tokens(word)) if word.isascii() else _clean(_to_simplified(word))


def _to_simplified(text: str) -> str:
    """简体 for a query or name; ASCII is left alone (OpenCC is not needed for pinyin)."""
    return text if text.isascii() else str(_t2s().convert(text))


def _approx_in(q: str, text: str) -> bool:
    """True if ``q`` appears in ``text`` with at most one edit. Pigeonhole: one edit leaves one
    half of ``q`` intact (a transposition across the middle leaves the outer parts intact), so
    only the windows around where a piece occurs are compared."""
    n, h = len(q), len(q) // 2
    pieces = [(q[:h], 0), (q[h:], h)]
    if h >= 2:
        pieces += [(q[:h - 1], 0), (q[h + 1:], h + 1)]
    for piece, offset in pieces:
        if not piece:
            continue
        pos = text.find(piece)
        while pos >= 0:
            origin = pos - offset
            # substitution or transposition; a letter left out (before / after the piece); one
            # letter too many (before / after the piece)
            for start, size in ((origin, n), (origin - 1, n + 1), (origin, n + 1), (origin + 1, n - 1),
                                (origin, n - 1)):
                if start >= 0 and start + size <= len(text) and _within_one_edit(q, text[start:start + size]):
                    return True
            pos = text.find(piece, pos + 1)
    return False


def _within_one_edit(a: str, b: str) -> bool:
    """True if ``b`` is ``a`` with at most one substitution, insertion, deletion or transposition."""
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i, n = 0, min(la, lb)
    while i < n and a[i] == b[i]:
        i += 1
    if i == n:
        return True
    if la == lb:
        return a[i + 1:] == b[i + 1:] or (
            i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2:] == b[i + 2:])
    return a[i + 1:] == b[i:] if la > lb else a[i:] == b[i + 1:]


def main() -> int:
    """``python -m kiosk.catalog.search``: a JSON list of cleaned terms on stdin → their syllables
    (a JSON object) on stdout; the app's helper process for :func:`syllable_map`."""
    keys = json.loads(sys.stdin.buffer.read())
    json.dump({str(k): _syllables(str(k)) for k in keys}, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
