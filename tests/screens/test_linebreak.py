"""The line breaker (screens/linebreak.py): GB/T 15834 / W3C clreq rules for Chinese, words for English."""

from __future__ import annotations

import pygame
import pytest

from kiosk.fonts import cjk_font_path
from screens.linebreak import NO_LINE_END, NO_LINE_START, fit, units, wrap


class Cells:
    """A monospace measure: every CJK character 2 cells, everything else 1 (10 px a cell)."""

    def size(self, text):
        return (sum(20 if ord(ch) > 0x2E80 else 10 for ch in text), 10)


@pytest.fixture(scope="module")
def font():
    pygame.font.init()
    return pygame.font.Font(str(cjk_font_path()), 40)


TEXTS = [
    "未能打印：打印机缺纸。请凭回执编号在“闽政通”查询或到窗口领取。",
    "请携带《居民身份证》原件（或临时身份证）到窗口办理，材料不全的，可先行受理。",
    "您的申请已提交……请留意短信——如有疑问，请拨打“12345”热线。",
    "「閩政通」登入碼已過期，請在手機上重新產生後再試。",
]


@pytest.mark.parametrize("text", TEXTS)
def test_no_line_starts_with_closing_or_ends_with_opening_punctuation(text):
    for width in range(60, 700, 10):
        lines = wrap(text, Cells(), width)
        assert "".join(lines) == text
        for line in lines[1:]:
            assert line[0] not in NO_LINE_START, (width, lines)
        for line in lines[:-1]:
            assert line[-1] not in NO_LINE_END, (width, lines)


def test_the_old_break_before_the_stop_is_gone(font):
    """窗口办/理。: the stop takes the character before it to the next line."""
    text = "请到窗口办理。"
    for width in range(font.size("请到")[0], font.size(text)[0] + 2, 3):
        lines = wrap(text, font, width)
        assert all(line[0] not in NO_LINE_START for line in lines[1:]), lines
        assert "".join(lines) == text


def test_quoted_names_and_titles_stay_whole():
    text = "请用“闽政通”扫码，或登录《福建省网上办事大厅》办理"
    for width in range(Cells().size("《福建省网上办事大厅》")[0], 600, 10):
        joined = "\n".join(wrap(text, Cells(), width))
        assert "“闽政通”" in joined and "《福建省网上办事大厅》" in joined, (width, joined)


def test_paired_marks_are_not_split():
    text = "正在为您办理，请稍候……马上就好——谢谢"
    for width in range(60, 500, 10):
        joined = "\n".join(wrap(text, Cells(), width))
        assert "……" in joined and "——" in joined, (width, joined)


def test_a_name_longer_than_a_line_is_still_broken_somewhere():
    lines = wrap("“闽政通”", Cells(), 60)
    assert "".join(lines) == "“闽政通”" and all(Cells().size(x)[0] <= 60 for x in lines)
    assert wrap("a verylongword b", Cells(), 60) == ["a", "verylongword", "b"]  # left whole for fit()


def test_english_wraps_on_words_and_keeps_numbers_whole(font):
    text = "Take your receipt HC-DEMO-001-20261121-123456-0001 from the slot."
    for width in range(font.size("HC-DEMO-001-20261121-123456-0001")[0], 1000, 37):
        lines = wrap(text, font, width)
        assert " ".join(lines).split() == text.split(), (width, lines)
        assert all(font.size(line)[0] <= width for line in lines)
        assert not lines[-1].startswith(".")


def test_units_glue_punctuation_to_its_neighbour():
    assert units("在“闽政通”查询。") == ["在", "“闽政通”", "查", "询。"]
    assert units("（或临时身份证）") == ["（或", "临", "时", "身", "份", "证）"]
    assert units("Social Security · Pension") == ["Social", " ", "Security ·", " ", "Pension"]


def test_fit_shrinks_a_word_too_wide_for_the_box_before_anything_is_cut():
    pygame.font.init()

    def font_at(px):
        return pygame.font.Font(str(cjk_font_path(True)), px)

    word = "Dissatisfied"
    width = font_at(40).size(word)[0] - 30
    size, lines = fit(word, 40, 24, width, font_at)
    assert size < 40 and lines == [word] and font_at(size).size(word)[0] <= width
    assert fit("短", 40, 24, 500, font_at) == (40, ["短"])
    size, lines = fit("Supercalifragilistic", 40, 30, 50, font_at)  # the floor: drawn at it, the caller clips
    assert size == 30


@pytest.mark.parametrize("language", ["zh_CN", "zh_TW", "en"])
def test_every_message_wraps_without_losing_or_repeating_a_character(font, language):
    from screens.i18n import messages

    for key, text in messages().table[language].items():
        for width in (200, 333, 517, 940):
            lines = wrap(text, font, width)
            assert "".join("".join(lines).split()) == "".join(text.split()), (key, width, lines)
