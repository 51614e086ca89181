"""A pinyin input method for the on-screen keyboard (pure Python, no pygame).

The resident types Latin letters without tones and picks Chinese words from a candidate bar ranked
by word frequency. Full pinyin (``shebao`` → 社保), initials (``sb`` → 社保), a mix of both
(``shebz``), an unfinished last syllable (``sheb``) and several words in a row (``shebaozhengming``,
picked segment by segment) all work.

Where the data comes from: jieba's bundled ``dict.txt`` (≈ 350,000 words with corpus
frequencies) for the words and their ranking, pypinyin's phrase and character tables for each
word's reading. The index is built lazily on first use (:func:`shared_index`, ≈ 2–3 s on the
kiosk's CPU; call it behind the attract screen) and kept in memory for the life of the process.

Why hand-written: the well-kept Python IMEs (libpinyin, rime) are C libraries with their own
dictionaries and no wheels; pypinyin and jieba only give readings and frequencies, so the
segmentation and ranking below are ours.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PAGE_SIZE = 8
MIN_FREQ = 10         # jieba's rarer entries are mostly names and compounds nobody types; 10 keeps ~108k words
MAX_WORD_CHARS = 8    # longer entries are idioms and titles; picking them piecewise is fine
_MATCH_LIMIT = 48     # candidates kept per syllable pattern (nobody pages past six pages)
_MAX_SEGMENTATIONS = 24
_CACHE_SIZE = 4096

INITIALS = frozenset(("b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r", "z", "c", "s", "y",
                      "w", "zh", "ch", "sh"))

# Words residents type at a government-service kiosk, lifted above jieba's newspaper frequencies
# so that ``sb`` offers 社保 before 设备.
DOMAIN_WORDS: tuple[str, ...] = (
    "社保", "医保", "公积金", "身份证", "居住证", "户口", "户籍", "营业执照", "不动产", "社会保险",
    "养老保险", "医疗保险", "失业保险", "工伤保险", "生育保险", "缴费", "证明", "打印", "办理", "预约",
    "查询", "申请", "退休", "驾驶证", "行驶证", "港澳", "台胞证", "出生", "结婚", "离婚", "准生证",
    "低保", "残疾", "残疾证", "老年", "高龄", "补贴", "津贴", "公租房", "租房", "提取", "贷款",
    "社区", "街道", "思明", "湖里", "海沧", "集美", "同安", "翔安", "厦门", "福建",
)
_DOMAIN_FREQ = 10_000


@dataclass(frozen=True)
class Piece:
    """One stretch of typed letters: a whole syllable (``full``) or the start of one."""

    letters: str
    full: bool


Pattern = tuple[Piece, ...]


def _jieba_dict_path() -> Path:
    import jieba  # lazy: heavy-ish to import, and only its dictionary file is used, on first typing

    return Path(jieba.__file__).with_name("dict.txt")


def _jieba_words(path: Path | None = None) -> Iterable[tuple[str, int]]:
    with open(path or _jieba_dict_path(), encoding="utf-8") as f:
        for line in f:
            parts = line.split(" ", 2)
            if len(parts) >= 2:
                yield parts[0], int(parts[1])


class PinyinIndex:
    """Words by their toneless syllables, most frequent first.

    ``by_syllables`` answers a fully typed pattern with one dict look-up; ``by_initials`` holds every
    word under its initials (``社保`` under ``sb``) for patterns with unfinished syllables, which are
    filtered from that bucket.
    """

    def __init__(self, words: Iterable[tuple[str, int]], *, min_freq: int = MIN_FREQ,
                 max_chars: int = MAX_WORD_CHARS, boost: Iterable[str] = DOMAIN_WORDS) -> None:
        # lazy: pypinyin's tables take a noticeable time to load; only built once the keyboard opens
        from pypinyin.contrib.tone_convert import to_normal
        from pypinyin.phrases_dict import phrases_dict  # lazy: as above
        from pypinyin.pinyin_dict import pinyin_dict  # lazy: as above

        started = time.perf_counter()
        plain: dict[str, str] = {}

        def toneless(reading: str) -> str | None:
            if reading not in plain:
                s = to_normal(reading)
                plain[reading] = s if s.isascii() and s.isalpha() else ""
            return plain[reading] or None

        freq: dict[str, int] = {}
        for word, f in words:
            n = len(word)
            if n == 1 or (f >= min_freq and n <= max_chars):
                freq[word] = max(f, freq.get(word, 0))
        for word in boost:
            freq[word] = max(freq.get(word, 0), _DOMAIN_FREQ)

        by_syl: dict[tuple[str, ...], list[tuple[int, str]]] = {}
        for word, f in freq.items():
            if len(word) == 1:
                readings = pinyin_dict.get(ord(word))
                if not readings:
                    continue
                # A character is offered under every reading (行 under xing and hang); the
                # less common readings rank lower.
                for k, r in enumerate(dict.fromkeys(filter(None, map(toneless, readings.split(","))))):
                    by_syl.setdefault((r,), []).append((f if k == 0 else f // 64, word))
                continue
            phrase = phrases_dict.get(word)
            read: list[str | None]
            if phrase is not None and len(phrase) == len(word):
                read = [toneless(r[0]) for r in phrase]
            else:
                read = []
                for ch in word:
                    readings = pinyin_dict.get(ord(ch))
                    read.append(toneless(readings.split(",", 1)[0]) if readings else None)
            known = [s for s in read if s]
            if len(known) == len(read):  # every character has a reading
                by_syl.setdefault(tuple(known), []).append((f, word))

        self.by_syllables: dict[tuple[str, ...], list[tuple[str, int]]] = {}
        initials: dict[str, list[tuple[int, tuple[str, ...], str]]] = {}
        for syl, entries in by_syl.items():
            entries.sort(key=lambda e: -e[0])
            self.by_syllables[syl] = [(w, f) for f, w in entries]
            key = "".join(s[0] for s in syl)
            initials.setdefault(key, []).extend((f, syl, w) for f, w in entries)
        self.by_initials: dict[str, list[tuple[tuple[str, ...], str, int]]] = {}
        for key, ranked in initials.items():
            ranked.sort(key=lambda e: -e[0])
            self.by_initials[key] = [(s, w, f) for f, s, w in ranked]
        self.syllables = frozenset(s for syl in by_syl for s in syl)
        self.prefixes = frozenset(s[:k] for s in self.syllables for k in range(1, len(s) + 1))
        # Whole syllables that are also the start of longer ones (xian → xiang): typed last,
        # they may still be growing.
        self.extendable = self.syllables & frozenset(s[:k] for s in self.syllables for k in range(1, len(s)))
        self.word_count = len(freq)
        self._cache: dict[Pattern, list[tuple[str, int]]] = {}
        self.build_seconds = time.perf_counter() - started

    @classmethod
    def from_jieba(cls, path: Path | None = None, **options: object) -> PinyinIndex:
        """The index over jieba's bundled dictionary (or another file in its ``word freq [tag]`` format)."""
        return cls(_jieba_words(path), **options)  # type: ignore[arg-type]

    def match(self, pattern: Pattern) -> list[tuple[str, int]]:
        """Words whose syllables fit ``pattern`` (whole syllables exactly, unfinished ones as a
        start), most frequent first, at most a few pages' worth."""
        hit = self._cache.get(pattern)
        if hit is not None:
            return hit
        if all(p.full for p in pattern):
            found = self.by_syllables.get(tuple(p.letters for p in pattern), [])[:_MATCH_LIMIT]
        else:
            found = []
            for syl, word, f in self.by_initials.get("".join(p.letters[0] for p in pattern), ()):
                if all(s == p.letters if p.full else s.startswith(p.letters) for s, p in zip(syl, pattern)):
                    found.append((word, f))
                    if len(found) >= _MATCH_LIMIT:
                        break
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()  # a crude bound; typing refills what matters in a few keystrokes
        self._cache[pattern] = found
        return found

    def segmentations(self, letters: str) -> list[Pattern]:
        """Ways to read ``letters`` as syllables, fewest pieces and fewest unfinished ones first.

        A piece is a whole syllable; the last piece may be any start of a syllable; a lone
        initial (``s`` in ``sb``) may stand anywhere, but only where the next letter cannot
        continue it (``sh`` in ``shebao`` is read as the start of ``she``, not as an initial).
        """
        n = len(letters)
        memo: dict[int, list[Pattern]] = {n: [()]}

        def rest(pos: int) -> list[Pattern]:
            if pos in memo:
                return memo[pos]
            out: list[Pattern] = []
            for end in range(pos + 1, min(n, pos + 6) + 1):
                chunk = letters[pos:end]
                if chunk not in self.prefixes:
                    break
                heads = []
                if chunk in self.syllables:
                    heads.append(Piece(chunk, True))
                    if end == n and chunk in self.extendable:
                        heads.append(Piece(chunk, False))
                elif end == n or (chunk in INITIALS and letters[pos:end + 1] not in self.prefixes):
                    heads.append(Piece(chunk, False))
                for head in heads:
                    out.extend((head, *tail) for tail in rest(end))
            out.sort(key=_pattern_cost)
            memo[pos] = out[:_MAX_SEGMENTATIONS]
            return memo[pos]

        return rest(0)


def _pattern_cost(p: Pattern) -> tuple[int, int]:
    return (sum(not x.full for x in p), len(p))


_shared: PinyinIndex | None = None
_shared_lock = threading.Lock()


def shared_index() -> PinyinIndex:
    """The process-wide index over jieba's dictionary, built on first call (thread-safe)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PinyinIndex.from_jieba()
        return _shared


@dataclass(frozen=True)
class Candidate:
    """A word on offer and how many of the typed letters picking it uses up."""

    word: str
    consumed: int


class Ime:
    """The composition state of one text field: the letters typed so far and their candidates.

    Picking a candidate commits its word (returned to the caller, who appends it to the field) and
    leaves the letters it did not cover for the next pick, so a sentence is entered word by word.
    """

    def __init__(self, index: PinyinIndex | None = None) -> None:
        self._index = index
        self.letters = ""
        self._candidates: list[Candidate] | None = None

    @property
    def index(self) -> PinyinIndex:
        if self._index is None:
            self._index = shared_index()
        return self._index

    @property
    def composing(self) -> bool:
        """True while there are typed letters not yet turned into characters."""
        return bool(self.letters)

    def type_letter(self, c: str) -> None:
        """Add one Latin letter (case and ``ü`` forgiven: ``ü`` is typed as ``v``)."""
        c = c.lower().replace("ü", "v")
        if len(c) != 1 or not ("a" <= c <= "z"):
            raise ValueError("the pinyin keyboard types the letters a–z only")
        if len(self.letters) < 48:  # a bound, not a limit anyone meets: six words of full pinyin
            self.letters += c
            self._candidates = None

    def backspace(self) -> bool:
        """Remove the last typed letter; False when there was none (delete from the field instead)."""
        if not self.letters:
            return False
        self.letters = self.letters[:-1]
        self._candidates = None
        return True

    def clear(self) -> None:
        """Forget the typed letters."""
        self.letters = ""
        self._candidates = None

    def preedit(self) -> str:
        """The typed letters split the way the best reading splits them (``she'bao``)."""
        segs = self.index.segmentations(self.letters) if self.letters else []
        return "'".join(p.letters for p in segs[0]) if segs else self.letters

    def all_candidates(self) -> list[Candidate]:
        """Every candidate, best first: words covering all the letters, then words covering a
        leading part of them (longest first), each group by reading quality and frequency."""
        if self._candidates is None:
            self._candidates = self._rank(self.letters) if self.letters else []
        return self._candidates

    def candidates(self, page: int = 0, per_page: int = PAGE_SIZE) -> list[str]:
        """The words on candidate page ``page`` (0-based)."""
        start = page * per_page
        return [c.word for c in self.all_candidates()[start:start + per_page]]

    def page_count(self, per_page: int = PAGE_SIZE) -> int:
        return -(-len(self.all_candidates()) // per_page)

    def pick(self, i: int) -> str:
        """Commit candidate ``i`` (index over all pages); returns its word, or "" if there is no
        such candidate. The letters it covered are used up; the rest stay for the next pick."""
        cands = self.all_candidates()
        if not 0 <= i < len(cands):
            return ""
        chosen = cands[i]
        self.letters = self.letters[chosen.consumed:]
        self._candidates = None
        return chosen.word

    def commit_letters(self) -> str:
        """Give up on Chinese for what is typed: return the raw letters and clear them."""
        letters, self.letters, self._candidates = self.letters, "", None
        return letters

    def _rank(self, letters: str) -> list[Candidate]:
        index = self.index
        # An unreadable tail (a stray "i" or "v") is dropped until some reading remains.
        cut = len(letters)
        segs = index.segmentations(letters)
        while not segs and cut > 1:
            cut -= 1
            segs = index.segmentations(letters[:cut])
        scored: dict[str, tuple[tuple[int, int, int], int]] = {}
        for seg in segs:
            consumed = 0
            for j in range(1, len(seg) + 1):
                consumed += len(seg[j - 1].letters)
                head = seg[:j]
                partial = sum(not p.full for p in head)
                # A word spelling out several typed syllables is likelier meant than a character
                # whose standalone-word frequency jieba counted (xian: 西安 near 先, 现).
                weight = 2 if j > 1 else 1
                for word, f in index.match(head):
                    key = (-consumed, partial, -f * weight)
                    if word not in scored or key < scored[word][0]:
                        scored[word] = (key, consumed)
        ordered = sorted(scored.items(), key=lambda kv: kv[1][0])
        return [Candidate(word, consumed) for word, (_, consumed) in ordered]
