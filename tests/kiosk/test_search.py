"""Search finds an item however a resident types it, and never fails on any input."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.catalog.loading import Catalog


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    catalog = Catalog.load()
    catalog.prepare_search()
    return catalog


def codes(catalog: Catalog, query: str, limit: int = 5) -> list[str]:
    return [hit.item.code for hit in catalog.search(query, limit)]


@pytest.mark.parametrize(("query", "code"), [
    ("社保参保缴费证明打印", "rs-sbjfzm"),  # the whole name
    ("参保缴费证明", "rs-sbjfzm"),  # a hanzi substring
    ("权益记录", "rs-qyjl"),
    ("shebaocanbaojiaofei", "rs-sbjfzm"),  # full pinyin
    ("gongjijinjiaocun", "gjj-jczm"),
    ("sbcbzm", "rs-sbjfzm"),  # initials (社保参保证明)
    ("gjjjczm", "gjj-jczm"),
    ("shebcb", "rs-sbjfzm"),  # full pinyin then initials
    ("社保cb", "rs-sbjfzm"),  # hanzi then initials
    ("yibaocbpz", "yb-cbpz"),
    ("ＳＢＣＢＺＭ", "rs-sbjfzm"),  # full-width, upper case
    ("she bao can bao", "rs-sbjfzm"),  # spaces between syllables
    ("Housing fund deposit", "gjj-jczm"),  # English
    ("pension rights", "rs-qyjl"),
])
def test_every_way_of_typing_finds_the_item_first(catalog, query, code):
    assert codes(catalog, query)[0] == code


@pytest.mark.parametrize(("query", "code"), [
    ("社保參保繳費證明", "rs-sbjfzm"),  # 繁體 input
    ("公積金繳存證明", "gjj-jczm"),
    ("醫保參保憑證", "yb-cbpz"),
    ("臺灣居民居住證申請", "ga-twjzz"),  # the 繁體 name written in the data (申請, not 申领)
])
def test_traditional_chinese_finds_the_item(catalog, query, code):
    assert codes(catalog, query)[0] == code


@pytest.mark.parametrize(("query", "code"), [
    ("shebaocanbso", "rs-sbjfzm"),  # one letter wrong
    ("gongjijinjiaocn", "gjj-jczm"),  # one letter left out
    ("yibaocanbaopingzhegn", "yb-cbpz"),  # two letters swapped
    ("社保参保缴废证明", "rs-sbjfzm"),  # a homophone (废 for 费)
    ("社保参宝缴费", "rs-sbjfzm"),
    ("公积金缴存证名打印", "gjj-jczm"),
    ("pensoin rights", "rs-qyjl"),  # English typo
])
def test_one_typo_is_tolerated(catalog, query, code):
    assert code in codes(catalog, query, 3)


def test_typing_letter_by_letter_keeps_the_item_in_view(catalog):
    word = "shebaocanbaojiaofei"
    for n in range(3, len(word) + 1):
        assert "rs-sbjfzm" in codes(catalog, word[:n], 10), word[:n]


def test_backspace_gives_the_same_results_as_typing_afresh(catalog):
    for n in range(1, 9):
        catalog.search("gongjijin"[:n])
    typed = codes(catalog, "gongj", 20)
    catalog.prepare_search().clear_cache()
    assert codes(catalog, "gongj", 20) == typed


def test_exact_name_ranks_before_prefix_before_substring(catalog):
    hits = catalog.search("居住证", 20)
    hows = [h.how for h in hits]
    assert hits[0].item.name.zh_CN.startswith("居住证")
    assert hows.index("prefix") < hows.index("hanzi")
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert codes(catalog, "失业登记", 1) == ["rs-sydj"]


def test_popularity_breaks_ties(catalog):
    hits = catalog.search("社保", 10)
    assert hits[0].item.code == "rs-sbjfzm"  # the most used 社保 item
    prefix = [h for h in hits if h.how == "prefix" and h.matched == h.item.name.zh_CN]
    assert [h.item.popularity for h in prefix] == sorted((h.item.popularity for h in prefix), reverse=True)


def test_aliases_and_keywords_are_searched(catalog):
    assert codes(catalog, "社保证明")[0] == "rs-sbjfzm"
    assert "ga-csdj" in codes(catalog, "新生儿落户")
    assert "scjg-ts" in codes(catalog, "12315")
    assert "yb-syjt" in codes(catalog, "免申即办", 10)


def test_limit_is_respected(catalog):
    assert len(catalog.search("s", 7)) == 7
    assert catalog.search("社保", 0) == []


def test_nonsense_finds_nothing(catalog):
    assert catalog.search("qqqqqq") == []
    assert catalog.search("🙂🙂") == []
    assert catalog.search("") == [] and catalog.search("   ") == []


@pytest.mark.parametrize("query", [
    "\ud800", "\x00", "a" * 100_000, "社" * 10_000, "\u202e社保", "e\u0301", "𠀀𪚥", "ﾃｽﾄ", "\n\t\r",
    "'; DROP TABLE items;--", "%s%n", "ß" * 50, "İ", "ǅ", "\uffff", "\U0010ffff",
])
def test_hostile_queries_give_results_or_none(catalog, query):
    assert isinstance(catalog.search(query), list)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=60))
def test_any_unicode_query_gives_results_or_none(catalog, query):
    hits = catalog.search(query, 5)
    assert len(hits) <= 5
    assert all(h.item.code == catalog.get(h.item.code).code for h in hits)
