"""Search by intent (issue 20): real-sounding queries find what the resident most likely wants first.

The queries and their expected first results are data (tests/kiosk/search_queries.toml): 简体, 繁體, English,
colloquial words, questions, verbs, pinyin and typos, and every query the issue found failing.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kiosk.catalog.loading import Catalog, CatalogError

QUERIES = tomllib.loads((Path(__file__).with_name("search_queries.toml")).read_text(encoding="utf-8"))
SECTIONS = ("required", "zh_CN", "zh_TW", "en", "pinyin_and_typos", "unseen")
ALL = [(section, q, expected) for section in SECTIONS for q, expected in QUERIES[section]]
GOAL = 0.95


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    catalog = Catalog.load()
    catalog.prepare_search()
    return catalog


def first(catalog: Catalog, query: str) -> str:
    hits = catalog.find(query, 1)
    return hits[0].key if hits else "(nothing)"


def test_the_suite_is_real_and_its_answers_exist(catalog):
    assert len(ALL) >= 150
    assert len({q for _s, q, _e in ALL if _s != "zh_TW"}) == len([q for s, q, _e in ALL if s != "zh_TW"])
    for _section, query, expected in ALL:
        if expected.startswith("bundle:"):
            assert expected[7:] in catalog.bundles, query
        else:
            assert catalog.get(expected) is not None, query


def test_every_query_the_issue_named_is_right_first(catalog):
    misses = [f"{q!r}: got {first(catalog, q)}, want {want}" for q, want in QUERIES["required"]]
    misses = [m for m, (q, want) in zip(misses, QUERIES["required"], strict=True) if first(catalog, q) != want]
    assert not misses, "wrong first results:\n  " + "\n  ".join(misses)


def test_at_least_95_percent_of_the_queries_are_right_first(catalog):
    misses = []
    for section, query, expected in ALL:
        got = first(catalog, query)
        if got != expected:
            misses.append(f"[{section}] {query!r}: got {got}, want {expected}")
    right = 1 - len(misses) / len(ALL)
    assert right >= GOAL, (f"{right:.1%} right first ({len(ALL) - len(misses)}/{len(ALL)}); misses:\n  "
                           + "\n  ".join(misses))


@pytest.mark.parametrize("section", SECTIONS)
def test_each_language_and_way_of_typing_is_mostly_right(catalog, section):
    # The unseen queries were written before their results were looked at: a check that the data generalises,
    # held to a lower bar (they are ≥ 95 % together with the rest).
    goal = 0.88 if section == "unseen" else GOAL
    entries = QUERIES[section]
    misses = [f"{q!r}: got {first(catalog, q)}, want {want}" for q, want in entries if first(catalog, q) != want]
    assert len(misses) <= len(entries) * (1 - goal) + 1, "misses:\n  " + "\n  ".join(misses)


def test_search_without_bundles_still_lists_items_only(catalog):
    hits = catalog.search("生孩子", 5)
    assert hits and all(h.item.code == h.key for h in hits)
    assert "bundle:birth" in [h.key for h in catalog.find("生孩子", 5)]
