"""A pinyin input method for the on-screen keyboard (pure Python, no pygame).

The resident types Latin letters without tones and picks Chinese words from a candidate bar ranked
by word frequency. Full pinyin (``shebao`` → 社保), initials (``sb`` → 社保), a mix of both
(``shebz``), an unfinished last syllable (``sheb``) and several words in a row (``shebaozhengming``,
picked segment by segment) all work.

Where the data comes from: jieba's bundled ``dict.txt`` (≈ 350,000 words with corpus
frequencies) for the words and their ranking, pypinyin's phrase and character tables for each
word's reading. The index is a packed, memory-mapped file (:mod:`kiosk.catalog.packed`, ≈ 6 MB on
disk, only the pages a look-up touches resident, shared between processes) that deploy/setup.sh
builds at install time (``python -m kiosk.catalog.ime``); :func:`shared_index` maps it, and when it
is missing, stale or damaged it says so in the log and builds it again in a helper process (≈ 2–3 s,
so pypinyin's ≈ 55 MB of tables never load into the app).

Why hand-written: the well-kept Python IMEs (libpinyin, rime) are C libraries with their own
dictionaries and no wheels; pypinyin and jieba only give readings and frequencies, so the
segmentation and ranking below are ours.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kiosk.catalog.packed import PackedFile, PackedFileError, cache_dir, open_tables, pack, write_bytes

log = logging.getLogger(__name__)

PAGE_SIZE = 8
MIN_FREQ = 10         # jieba's rarer entries are mostly names and compounds nobody types; 10 keeps ~108k words
MAX_WORD_CHARS = 8    # longer entries are idioms and titles; picking them piecewise is fine
_MATCH_LIMIT = 48     # candidates kept per syllable pattern (nobody pages past six pages)
_MAX_SEGMENTATIONS = 24
_CACHE_SIZE = 512     # patterns whose candidates are kept; typing reuses the last few, a day's typing must not pile up

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
    spec = importlib.util.find_spec("jieba")  # only its dictionary file is used: no need to import it
    if spec is None or spec.origin is None:
        raise FileNotFoundError("jieba is not installed")
    return Path(spec.origin).with_name("dict.txt")


def _jieba_words(path: Path | None = None) -> Iterable[tuple[str, int]]:
    with open(path or _jieba_dict_path(), encoding="utf-8") as f:
        for line in f:
            parts = line.split(" ", 2)
            if len(parts) >= 2:
                yield parts[0], int(parts[1])


def _build_tables(words: Iterable[tuple[str, int]], *, min_freq: int, max_chars: int,
                  boost: Iterable[str]) -> tuple[dict[str, list[tuple[str, str]]], dict[str, object]]:
    """The index's tables as (key, value) records for :mod:`kiosk.catalog.packed`:

    - ``syl``: ``she'bao`` → ``社保\tfreq``, most frequent first, a few pages' worth per reading;
    - ``ini``: ``sb`` → ``she'bao\t社保\tfreq``, every word under its initials, most frequent first;

    and the meta data (the syllables that occur, the word count)."""
    # lazy: pypinyin's tables cost ≈ 55 MB and 0.2 s; only the index builder needs them
    from pypinyin.contrib.tone_convert import to_normal
    from pypinyin.phrases_dict import phrases_dict  # lazy: as above
    from pypinyin.pinyin_dict import pinyin_dict  # lazy: as above

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

    syl_records: list[tuple[str, str]] = []
    initials: dict[str, list[tuple[int, tuple[str, ...], str]]] = {}
    for syl, entries in by_syl.items():
        entries.sort(key=lambda e: -e[0])
        key = "'".join(syl)
        # A fully typed reading is answered from its first few pages only (see match()).
        syl_records += [(key, f"{w}\t{f}") for f, w in entries[:_MATCH_LIMIT]]
        initials.setdefault("".join(s[0] for s in syl), []).extend((f, syl, w) for f, w in entries)
    ini_records: list[tuple[str, str]] = []
    for key, ranked in initials.items():
        ranked.sort(key=lambda e: -e[0])
        ini_records += [(key, "'".join(s) + f"\t{w}\t{f}") for f, s, w in ranked]
    syllables = sorted({s for syl in by_syl for s in syl})
    return {"syl": syl_records, "ini": ini_records}, {"syllables": syllables, "word_count": len(freq)}


class PinyinIndex:
    """Words by their toneless syllables, most frequent first.

    The index is two sorted tables in a packed, memory-mapped form (:mod:`kiosk.catalog.packed`):
    ``syl`` answers a fully typed pattern with one look-up; ``ini`` holds every word under its
    initials (``社保`` under ``sb``) for patterns with unfinished syllables, which are filtered from
    that bucket. Built in memory from a word list (``PinyinIndex(words)``), or mapped from the file
    :func:`shared_index` keeps (:meth:`load`), so a day's processes share its pages.
    """

    def __init__(self, words: Iterable[tuple[str, int]], *, min_freq: int = MIN_FREQ,
                 max_chars: int = MAX_WORD_CHARS, boost: Iterable[str] = DOMAIN_WORDS) -> None:
        started = time.perf_counter()
        tables, meta = _build_tables(words, min_freq=min_freq, max_chars=max_chars, boost=boost)
        self._attach(PackedFile.from_bytes(pack(tables, stamp="memory", meta=meta)))
        self.build_seconds = time.perf_counter() - started  # to build it, or to map it (load)

    def _attach(self, packed: PackedFile) -> None:
        self._syl = packed.tables["syl"]
        self._ini = packed.tables["ini"]
        self.syllables = frozenset(packed.meta["syllables"])
        self.prefixes = frozenset(s[:k] for s in self.syllables for k in range(1, len(s) + 1))
        # Whole syllables that are also the start of longer ones (xian → xiang): typed last,
        # they may still be growing.
        self.extendable = self.syllables & frozenset(s[:k] for s in self.syllables for k in range(1, len(s)))
        self.word_count = int(packed.meta["word_count"])
        self._read = packed.tables.get("read")
        self._cache: dict[Pattern, list[tuple[str, int]]] = {}

    def readings(self, char: str) -> tuple[str, ...]:
        """Toneless common readings of one 汉字 (行 → xing, hang); () when unknown or not in this index."""
        if self._read is None:
            return ()
        found = self._read.get(char)
        return tuple(found[0].split(",")) if found else ()

    @classmethod
    def from_jieba(cls, path: Path | None = None, **options: object) -> PinyinIndex:
        """The index over jieba's bundled dictionary (or another file in its ``word freq [tag]`` format)."""
        return cls(_jieba_words(path), **options)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> PinyinIndex:
        """Map the index file written by :func:`build_file`; :class:`PackedFileError` if it is missing,
        stale (another dictionary, pypinyin or format) or damaged."""
        started = time.perf_counter()
        index = cls.__new__(cls)
        packed = open_tables(path, stamp=index_stamp())
        try:
            index._attach(packed)
        except (KeyError, TypeError, ValueError) as exc:
            raise PackedFileError(f"{path}: {type(exc).__name__}: {exc}") from None
        index.build_seconds = time.perf_counter() - started
        return index

    def by_syllables(self, syllables: tuple[str, ...]) -> list[tuple[str, int]]:
        """Words read exactly ``syllables``, most frequent first (a few pages' worth)."""
        out = []
        for value in self._syl.get("'".join(syllables)):
            word, f = value.split("\t")
            out.append((word, int(f)))
        return out

    def match(self, pattern: Pattern) -> list[tuple[str, int]]:
        """Words whose syllables fit ``pattern`` (whole syllables exactly, unfinished ones as a
        start), most frequent first, at most a few pages' worth."""
        hit = self._cache.get(pattern)
        if hit is not None:
            return hit
        if all(p.full for p in pattern):
            found = self.by_syllables(tuple(p.letters for p in pattern))[:_MATCH_LIMIT]
        else:
            found = []
            n = len(pattern)
            for value in self._ini.values("".join(p.letters[0] for p in pattern)):
                joined, word, f = value.split("\t")
                syl = joined.split("'")
                if len(syl) == n and all(s == p.letters if p.full else s.startswith(p.letters)
                                         for s, p in zip(syl, pattern)):
                    found.append((word, int(f)))
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


FORMAT = 1  # of the index file; bump when the tables change
INDEX_FILE = "pinyin-index.bin"
BUILD_TIMEOUT_S = 180.0
_TONES = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ", "aaaaeeeeiiiioooouuuuvvvvvnnnm")

_shared: PinyinIndex | None = None
_shared_lock = threading.Lock()


def index_stamp() -> str:
    """What the index file was built from: this format, pypinyin's version and jieba's dictionary
    (its size and time); a file with another stamp is stale and rebuilt."""
    try:
        pypinyin_version = importlib.metadata.version("pypinyin")
    except importlib.metadata.PackageNotFoundError:
        pypinyin_version = "?"
    try:
        st = _jieba_dict_path().stat()
        jieba = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        jieba = "?"
    return f"format {FORMAT}; pypinyin {pypinyin_version}; jieba dict {jieba}; min_freq {MIN_FREQ}; " \
           f"max_chars {MAX_WORD_CHARS}; boost {len(DOMAIN_WORDS)}"


def _readings_records() -> list[tuple[str, str]]:
    """``行`` → ``xing,hang``: each 汉字's common toneless readings, for catalog search (the first
    three of pypinyin's: rare classical readings only add noise)."""
    from pypinyin.pinyin_dict import pinyin_dict  # lazy: ≈ 55 MB; only the index builder needs it

    out = []
    for code, raw in pinyin_dict.items():
        readings = dict.fromkeys(r.strip().translate(_TONES) for r in raw.split(",")[:3] if r.strip())
        if readings and not 0xD800 <= code <= 0xDFFF:
            out.append((chr(code), ",".join(readings)))
    return out


def index_bytes() -> bytes:
    """The whole index file (``syl``, ``ini`` and ``read`` tables) over jieba's dictionary."""
    tables, meta = _build_tables(_jieba_words(), min_freq=MIN_FREQ, max_chars=MAX_WORD_CHARS, boost=DOMAIN_WORDS)
    return pack({**tables, "read": _readings_records()}, stamp=index_stamp(), meta=meta)


def build_file(path: Path) -> None:
    """Build the index and write it to ``path`` atomically (deploy/setup.sh does it at install time)."""
    write_bytes(path, index_bytes())


def index_path() -> Path:
    return cache_dir() / INDEX_FILE


def _build_elsewhere(path: Path) -> None:
    """Build the file in a helper process, so pypinyin's ≈ 55 MB of tables never load into the app."""
    subprocess.run([sys.executable, "-m", "kiosk.catalog.ime", str(path)], check=True, timeout=BUILD_TIMEOUT_S,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _load_or_build(path: Path) -> PinyinIndex:
    try:
        return PinyinIndex.load(path)
    except PackedFileError as exc:
        log.warning("pinyin index: building it again (%s)", exc)
    try:
        _build_elsewhere(path)
        return PinyinIndex.load(path)
    except (OSError, subprocess.SubprocessError, PackedFileError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        log.warning("pinyin index: the helper process could not build %s (%s %s); building it in this process",
                    path, exc, detail.decode("utf-8", "replace")[-300:].strip())
    started = time.perf_counter()
    data = index_bytes()
    try:
        write_bytes(path, data)
        return PinyinIndex.load(path)
    except (OSError, PackedFileError) as exc:
        log.warning("pinyin index: cannot keep it at %s (%s); it stays in memory", path, exc)
    index = PinyinIndex.__new__(PinyinIndex)
    index._attach(PackedFile.from_bytes(data))
    index.build_seconds = time.perf_counter() - started
    return index


def shared_index() -> PinyinIndex:
    """The process-wide index over jieba's dictionary (thread-safe): the file prebuilt in
    :func:`index_path` mapped, or built (and kept there) when it is missing, stale or damaged."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = _load_or_build(index_path())
        return _shared


def char_readings(char: str) -> tuple[str, ...]:
    """Toneless common readings of one 汉字 (行 → xing, hang), from the shared index file."""
    return shared_index().readings(char)


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


def main(argv: list[str] | None = None) -> int:
    """``python -m kiosk.catalog.ime [FILE]``: build the index file (default: :func:`index_path`)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else index_path()
    build_file(path)
    print(f"pinyin index written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
