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


CATALOG = Path(__file__).resolve().parents[2] / "config" / "catalog"


def catalog_with(tmp_path: Path, synonyms: str) -> Path:
    for source in CATALOG.glob("*.toml"):
        if source.name != "synonyms.toml":
            (tmp_path / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "synonyms.toml").write_text(synonyms, encoding="utf-8")
    return tmp_path


GOOD = """
[search.question]
zh_CN = ["请问"]
en = ["please"]
[search.bundles]
zh_CN = ["一件事"]
en = ["one-stop"]
[[search.verbs]]
kind = "query"
zh_CN = ["查询"]
en = ["check"]
"""


@pytest.mark.parametrize(("extra", "where", "message"), [
    ('[[search.terms]]\nitem = "rs-nope"\nzh_CN = ["x"]\n', "search.terms[0]", "unknown item code 'rs-nope'"),
    ('[[search.terms]]\nbundle = "wedding"\nzh_CN = ["x"]\n', "search.terms[0]", "unknown bundle code 'wedding'"),
    ('[[search.verbs]]\nkind = "complain"\nzh_CN = ["投诉"]\nen = ["complain"]\n', "verbs[1].kind", "Input should be"),
    ('[[search.verbs]]\nkind = "print"\nzh_CN = ["打印"]\n', "verbs[1]", "needs words in zh_CN and en"),
    ('[[search.verbs]]\nkind = "print"\nzh_CN = ["查询"]\nen = ["print"]\n', "search.verbs[1]",
     "'查询' is a print verb and a query verb"),
    ('[[search.same]]\nzh_CN = ["医保"]\n', "same[0]", "at least two"),
    ('[[search.terms]]\nitem = "rs-sbjfzm"\nbundle = "birth"\nzh_CN = ["x"]\n', "terms[0]", "exactly one"),
    ('[search.misspelt]\nzh_CN = ["x"]\n', "misspelt", "Extra inputs are not permitted"),
])
def test_the_synonyms_file_is_refused_with_its_file_and_entry_named(tmp_path, extra, where, message):
    folder = catalog_with(tmp_path, GOOD + extra)
    with pytest.raises(CatalogError) as caught:
        Catalog.load(folder)
    text = str(caught.value)
    assert "synonyms.toml" in text and where in text and message in text, text


def test_a_good_synonyms_file_loads_and_is_used(tmp_path):
    catalog = Catalog.load(catalog_with(tmp_path, GOOD + '[[search.terms]]\nitem = "mz-gljt"\nzh_CN = ["寿星钱"]\n'))
    assert catalog.find("寿星钱", 1)[0].key == "mz-gljt"
    assert catalog.find("请问寿星钱", 1)[0].key == "mz-gljt"


def test_every_item_is_found_first_by_its_own_name_in_every_language(catalog):
    # 繁體 names use Taiwan words (列印, 資訊, 帳戶): a resident typing the name as shown must find the item.
    misses = [f"{lang} {item.name.get(lang)!r}: got {first(catalog, item.name.get(lang))}"
              for item in catalog.items for lang in ("zh_CN", "zh_TW", "en")
              if first(catalog, item.name.get(lang)) != item.code]
    assert not misses, "\n  ".join(misses)
