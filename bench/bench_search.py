"""P4: catalog search per keystroke over the catalog's items (TARGETS.md).

Residents' typing is replayed keystroke by keystroke for a sample of items in seven forms: 汉字,
繁體, full pinyin, initials, mixed (full pinyin then initials), full pinyin with two letters swapped,
and English. Each round is a fresh typing session (memoised states cleared); a keystroke's latency
is the median of its rounds, so a neighbour's burst on this shared machine does not become our
p99. The anchor, measured on the same keystrokes in the same run, is a naive substring scan of the
names (which finds only 汉字 and English, none of the other forms).

    .venv/bin/python -m bench.run --only P4
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable

from bench.common import Figure, median, percentile

TARGET_S = 0.001
MAX_TYPED = 16  # residents rarely type more before picking


def _sequences(catalog) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    from kiosk.catalog.search import _syllables

    forms: dict[str, list[str]] = {k: [] for k in
                                   ("hanzi", "traditional", "pinyin", "initials", "mixed", "typo", "english")}
    for item in catalog.items[::6]:
        syllables = _syllables(item.name.zh_CN)
        plain = "".join(syllables)
        forms["hanzi"].append(item.name.zh_CN)
        forms["traditional"].append(item.name.zh_TW)
        forms["pinyin"].append(plain)
        forms["initials"].append("".join(s[0] for s in syllables))
        forms["mixed"].append("".join(syllables[:2]) + "".join(s[0] for s in syllables[2:]))
        middle = len(plain) // 2
        forms["typo"].append(plain[:middle - 1] + plain[middle] + plain[middle - 1] + plain[middle + 1:])
        forms["english"].append(item.name.en.lower())
    return {form: [w[:n] for w in words for n in range(1, min(len(w), MAX_TYPED) + 1)]
            for form, words in forms.items()}


def _replay(keystrokes: dict[str, list[str]], search: Callable[[str], object], rounds: int,
            reset: Callable[[], None], clock: Callable[[], float]) -> dict[str, list[float]]:
    """Per form, the median latency of each keystroke over ``rounds`` fresh sessions."""
    samples: dict[str, list[list[float]]] = {f: [[] for _ in qs] for f, qs in keystrokes.items()}
    for _ in range(rounds):
        reset()
        for form, queries in keystrokes.items():
            for k, q in enumerate(queries):
                start = clock()
                search(q)
                samples[form][k].append(clock() - start)
    return {form: [median(s) for s in per_key] for form, per_key in samples.items()}


def run(quick: bool) -> list[Figure]:
    from kiosk.catalog.loading import Catalog

    rounds = 3 if quick else 9
    t0 = time.perf_counter()
    catalog = Catalog.load()
    load_s = time.perf_counter() - t0
    from kiosk.catalog.ime import shared_index
    from kiosk.catalog.search import CatalogSearch

    saved = os.environ.get("KIOSK_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="bench-search-cache-") as cache:
        os.environ["KIOSK_CACHE_DIR"] = cache  # no syllable cache yet: as on a terminal's first start
        try:
            t0 = time.perf_counter()
            index = catalog.prepare_search()  # the helper process works the terms' syllables out
            first_build_s = time.perf_counter() - t0
            builds = []
            for _ in range(3):
                t0 = time.perf_counter()
                CatalogSearch(catalog.items)  # from the syllable cache, as at every later start
                builds.append(time.perf_counter() - t0)
        finally:
            if saved is None:
                os.environ.pop("KIOSK_CACHE_DIR", None)
            else:
                os.environ["KIOSK_CACHE_DIR"] = saved
    shared_index()  # 汉字 queries read readings from the pinyin index file: mapped before the clock runs
    keystrokes = _sequences(catalog)
    items = catalog.items

    def naive(q: str) -> list[object]:
        ql = q.lower()
        return [i for i in items if ql in i.name.zh_CN or ql in i.name.en.lower()]

    def ours(q: str) -> object:
        return index.find(q, 20)  # what the search screen asks: items and 一件事 bundles, by intent

    wall = _replay(keystrokes, ours, rounds, index.clear_cache, time.perf_counter)
    cpu = _replay(keystrokes, ours, rounds, index.clear_cache, time.thread_time)
    anchor = _replay(keystrokes, naive, rounds, lambda: None, time.perf_counter)
    all_wall = [v for vs in wall.values() for v in vs]
    all_anchor = [v for vs in anchor.values() for v in vs]
    p99, a99 = percentile(all_wall, 99), percentile(all_anchor, 99)
    n = len(all_wall)
    figures = [
        Figure("P4", f"search per keystroke p99, all forms ({n} keystrokes × {rounds} sessions)", p99 * 1e3,
               "ms", "≤ 1 ms", p99 <= TARGET_S, anchor="naive substring scan p99 (ms)",
               anchor_value=a99 * 1e3, ratio=p99 / a99 if a99 else None,
               note="per keystroke: median of its sessions; anchor finds only 汉字 and English"),
        Figure("P4", "search per keystroke p50, all forms", median(all_wall) * 1e3, "ms", "—", None,
               anchor="naive substring scan p50 (ms)", anchor_value=median(all_anchor) * 1e3,
               ratio=median(all_wall) / median(all_anchor) if median(all_anchor) else None),
        Figure("P4", "search per keystroke p99, CPU time of the searching thread",
               percentile([v for vs in cpu.values() for v in vs], 99) * 1e3, "ms", "≤ 1 ms", None,
               note="excludes time the shared machine gave to other processes"),
    ]
    for form, values in wall.items():
        value = percentile(values, 99)
        figures.append(Figure("P4", f"search per keystroke p99: {form}", value * 1e3, "ms", "≤ 1 ms",
                              value <= TARGET_S, anchor="naive scan p99 (ms)",
                              anchor_value=percentile(anchor[form], 99) * 1e3))
    figures += _intent(index, rounds)
    figures += [
        Figure("P4", f"catalog load and validation ({len(catalog.items)} items, their guides and synonyms)", load_s * 1e3, "ms", "—", None),
        Figure("P4", "search index, first build (no syllable cache: pypinyin in a helper process)",
               first_build_s * 1e3, "ms", "—", None,
               note="Catalog.prepare_search() on a terminal's first start; the kiosk app does it on a thread"),
        Figure("P4", "search index build from the syllable cache (every later start; median of 3)",
               median(builds) * 1e3, "ms", "—", None, note="no pypinyin in the app's process"),
    ]
    return figures


QUERY_SUITE = "tests/kiosk/search_queries.toml"


def _intent(index, rounds: int) -> list[Figure]:  # type: ignore[no-untyped-def]
    """P13: the real-sounding queries of the test suite (questions, colloquial words, 繁體, English,
    pinyin, typos): the share whose first result is the expected one, and their keystrokes' latency."""
    import tomllib
    from pathlib import Path

    data = tomllib.loads((Path(__file__).resolve().parents[1] / QUERY_SUITE).read_text(encoding="utf-8"))
    suite = [(q, want) for section, rows in data.items() for q, want in rows]
    right = 0
    for q, want in suite:
        hits = index.find(q, 1)
        right += bool(hits) and hits[0].key == want
    keystrokes = {"intent": [q[:n] for q, _want in suite for n in range(1, len(q) + 1)]}
    wall = _replay(keystrokes, lambda q: index.find(q, 20), rounds, index.clear_cache, time.perf_counter)["intent"]
    share, p99 = right / len(suite), percentile(wall, 99)
    return [
        Figure("P13", f"search by intent: right first result ({len(suite)} real-sounding queries, {QUERY_SUITE})",
               share * 100, "%", "≥ 95 %", share >= 0.95,
               note="the last 99 were written before their results were seen"),
        Figure("P13", f"search by intent per keystroke p99 ({len(wall)} keystrokes of those queries)", p99 * 1e3,
               "ms", "≤ 1 ms (P4)", p99 <= TARGET_S),
    ]
