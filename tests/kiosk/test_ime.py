"""The pinyin input method: what a resident gets for what they type, on jieba's real dictionary."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.catalog.ime import Ime, PinyinIndex, shared_index


@pytest.fixture(scope="module")
def index() -> PinyinIndex:
    return shared_index()


def typed(index: PinyinIndex, letters: str) -> Ime:
    ime = Ime(index)
    for c in letters:
        ime.type_letter(c)
    return ime


def test_full_pinyin_offers_the_word_first_and_picking_commits_it(index):
    ime = typed(index, "shebao")
    assert ime.candidates(0)[0] == "社保"
    assert ime.pick(0) == "社保"
    assert not ime.composing and ime.candidates(0) == []


@pytest.mark.parametrize("letters, word", [
    ("sb", "社保"),          # initials
    ("gjj", "公积金"),
    ("sheb", "社保"),        # unfinished last syllable
    ("shebz", "社保"),       # the word covering a leading part, while more is being typed
    ("juzhuzheng", "居住证"),
    ("lvxing", "旅行"),      # ü typed as v, no tones
    ("nv", "女"),
    ("xian", "西安"),        # xi'an, not only xian
    ("fangan", "方案"),      # fang'an
    ("yinhang", "银行"),     # the phrase reading of 行, not xing
])
def test_common_ways_of_typing_find_the_word_on_the_first_page(index, letters, word):
    assert word in typed(index, letters).candidates(0)


def test_most_frequent_character_comes_first(index):
    assert typed(index, "shi").candidates(0)[0] == "是"
    assert typed(index, "de").candidates(0)[0] == "的"


def test_frequency_decides_and_the_kiosk_vocabulary_is_lifted():
    words = [("社保", 100), ("设备", 5000), ("社", 300), ("设", 900), ("保", 50), ("备", 40)]
    plain = PinyinIndex(words, boost=())
    ime = Ime(plain)
    for c in "sb":
        ime.type_letter(c)
    assert ime.candidates()[:2] == ["设备", "社保"]
    ime = Ime(PinyinIndex(words))  # default boost: government-service words
    for c in "sb":
        ime.type_letter(c)
    assert ime.candidates()[:2] == ["社保", "设备"]


def test_a_sentence_is_entered_segment_by_segment(index):
    ime = typed(index, "shebaozhengming")
    text = ime.pick(ime.candidates(0).index("社保"))
    assert ime.letters == "zhengming"
    assert ime.candidates(0)[0] == "证明"
    text += ime.pick(0)
    assert text == "社保证明" and not ime.composing


def test_space_like_pick_of_first_candidate_on_a_single_syllable(index):
    ime = typed(index, "she")
    word = ime.pick(0)
    assert len(word) == 1 and ime.letters == ""


def test_backspace_and_clear(index):
    ime = typed(index, "sheb")
    assert ime.backspace() and ime.letters == "she"
    assert "社保" not in ime.candidates(0)
    ime.clear()
    assert ime.backspace() is False and ime.candidates() == []


def test_letters_only(index):
    ime = Ime(index)
    ime.type_letter("S")  # case forgiven
    with pytest.raises(ValueError):
        ime.type_letter("1")
    with pytest.raises(ValueError):
        ime.type_letter("ab")
    assert ime.letters == "s"


def test_pick_outside_the_list_changes_nothing(index):
    ime = typed(index, "shebao")
    assert ime.pick(10_000) == "" and ime.pick(-1) == ""
    assert ime.letters == "shebao"


def test_an_unreadable_tail_still_offers_what_can_be_read(index):
    ime = typed(index, "shebaoi")
    assert "社保" in ime.candidates(0)
    assert ime.pick(ime.candidates(0).index("社保")) == "社保" and ime.letters == "i"
    assert ime.commit_letters() == "i" and not ime.composing


def test_preedit_shows_the_syllables(index):
    assert typed(index, "shebao").preedit() == "she'bao"
    assert typed(index, "sb").preedit() == "s'b"


def test_pages_do_not_repeat_words(index):
    ime = typed(index, "ji")
    pages = [ime.candidates(p) for p in range(ime.page_count())]
    seen = [w for page in pages for w in page]
    assert len(pages) > 3 and len(seen) == len(set(seen))


def test_index_is_built_once_and_reports_its_build_time(index):
    assert shared_index() is index
    assert index.build_seconds > 0 and index.word_count > 50_000


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=20))
def test_any_letters_give_candidates_that_use_up_letters(index, letters):
    ime = typed(index, letters)
    before = ime.letters
    cands = ime.all_candidates()
    for c in cands[:5]:
        assert 0 < c.consumed <= len(before)
    if cands:
        ime.pick(0)
        assert len(ime.letters) < len(before)
