"""The on-screen keyboard and date picker, rendered under SDL's dummy driver and touched through
synthetic pygame events, as a resident would use them."""

from __future__ import annotations

import datetime as dt

import pygame
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kiosk.catalog.ime import Ime, shared_index
from screens import datepicker, keyboard, theme
from screens.fieldcheck import field_problem
from screens.keyboard import KeyboardState, handle, release
from screens.renderer import Renderer

VALID_ID = "11010519491231002X"


@pytest.fixture(scope="module")
def surface():
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_mode((1080, 1920))
    yield pygame.display.get_surface()
    pygame.display.quit()


@pytest.fixture(scope="module")
def index():
    return shared_index()


class Rig:
    """A screen showing only a keyboard: draw, post a touch, map it back, handle it."""

    def __init__(self, surface: pygame.Surface, state, elder: bool = False, module=keyboard) -> None:
        self.renderer = Renderer(surface)
        self.state, self.elder, self.module = state, elder, module
        self.results = []
        self.draw()

    def draw(self) -> None:
        c = self.renderer.canvas
        c.fill()
        h = self.module.height(self.state, self.elder) if self.module is keyboard else self.module.height(self.elder)
        self.renderer.buttons = self.module.draw(c, self.state, 1920 - h - 40, self.elder)

    @property
    def targets(self) -> list[str]:
        return [b.target for b in self.renderer.buttons]

    def touch(self, target: str):
        """Post a finger-down and finger-up at the target's centre and run them through hit/handle."""
        x, y = self.renderer.target_centre(target)
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(x, y), button=1))
        for event in pygame.event.get((pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP)):
            if event.type == pygame.MOUSEBUTTONDOWN:
                hit = self.renderer.hit(event.pos)
                if hit is not None:
                    self.results.append(self.module.handle(self.state, hit))
                    self.draw()
            else:
                self.module.release(self.state)
        return self.results[-1]

    def type(self, keys: str):
        for k in keys:
            self.touch(f"key:{k}")
        return self.results[-1]


@pytest.mark.parametrize("elder", [False, True])
@pytest.mark.parametrize("layout", keyboard.LAYOUTS)
def test_every_layout_draws_big_targets_that_map_back(surface, index, layout, elder, tmp_path):
    state = KeyboardState(layout=layout, ime=Ime(index))
    if layout == "pinyin":
        for k in "shebao":
            handle(state, f"key:{k}")
    rig = Rig(surface, state, elder)
    pygame.image.save(surface, str(tmp_path / f"keyboard-{layout}-{'elder' if elder else 'normal'}.png"))
    smallest = 60 if elder else 44
    assert rig.targets
    for b in rig.renderer.buttons:
        assert b.rect.width >= smallest and b.rect.height >= smallest, (b.target, b.rect)
        assert rig.renderer.hit(b.rect.center) == b.target
    assert "kb:done" in rig.targets and "key:BKSP" in rig.targets
    if layout == "pinyin":
        assert "cand:0" in rig.targets and "kb:layout:numeric" in rig.targets and "key:SPACE" in rig.targets


def test_targets_scale_with_the_screen(index):
    small = pygame.Surface((720, 1280))
    renderer = Renderer(small)
    buttons = keyboard.draw(renderer.canvas, KeyboardState(layout="id_number"), 900, True)
    assert all(small.get_rect().contains(b.rect) for b in buttons)
    assert min(b.rect.height for b in buttons) >= 60 * 720 / 1080


def test_typing_shebao_then_picking_candidate_0_gives_shebao(surface, index):
    rig = Rig(surface, KeyboardState(layout="pinyin", ime=Ime(index)))
    rig.type("shebao")
    assert rig.state.ime.candidates(0)[0] == "社保" and rig.state.text == ""
    result = rig.touch("cand:0")
    assert result.changed and result.text == "社保" and not rig.state.ime.composing
    rig.type("zhengming")
    rig.touch("key:SPACE")  # space takes the first candidate
    assert rig.state.text == "社保证明"
    rig.touch("key:BKSP")
    assert rig.state.text == "社保证"


def test_candidate_pages(surface, index):
    rig = Rig(surface, KeyboardState(layout="pinyin", ime=Ime(index)))
    rig.type("ji")
    first = [t for t in rig.targets if t.startswith("cand:") and t[5:].isdigit()]
    assert "cand:from:0" not in rig.targets  # no page before the first
    nxt = next(t for t in rig.targets if t.startswith("cand:from:"))
    rig.touch(nxt)
    second = [t for t in rig.targets if t.startswith("cand:") and t[5:].isdigit()]
    assert second and not set(first) & set(second)
    word = rig.state.ime.all_candidates()[int(second[0][5:])].word
    rig.touch(second[0])
    assert rig.state.text == word


def test_press_feedback_is_drawn_from_state_and_released(surface, index):
    rig = Rig(surface, KeyboardState(layout="latin"))
    rect = next(b.rect for b in rig.renderer.buttons if b.target == "key:q")
    spot = (rect.left + rect.width // 8, rect.centery)
    assert surface.get_at(spot)[:3] == theme.CARD
    handle(rig.state, "key:q")
    rig.draw()
    assert surface.get_at(spot)[:3] == theme.HEADER
    release(rig.state)
    rig.draw()
    assert surface.get_at(spot)[:3] == theme.CARD and rig.state.text == "q"


def test_id_number_keypad_has_x_only_for_the_last_place_and_validates(surface):
    rig = Rig(surface, KeyboardState(layout="id_number", field_type="id_number", max_length=18), elder=True)
    assert "key:X" not in rig.targets  # X can only be the 18th character
    rig.type(VALID_ID[:17])
    assert "key:X" in rig.targets
    rig.touch("key:X")
    assert rig.state.text == VALID_ID and "key:1" not in rig.targets  # full: digits greyed out
    assert rig.touch("kb:done").done
    rig.touch("key:BKSP")
    rig.touch("key:5")  # wrong check character
    result = rig.touch("kb:done")
    assert not result.done and result.problem == "最后一位校验码不对，请逐位核对"


def test_id_number_mistakes_are_told_while_typing(surface):
    rig = Rig(surface, KeyboardState(layout="id_number", field_type="id_number", language="en"))
    assert rig.type("99").problem.startswith("The first two digits")
    rig.touch("key:CLEAR")
    assert rig.type("1101051949").problem is None
    assert rig.type("1399").problem.startswith("Digits 7–14")  # 1949-13-99
    rig.touch("key:CLEAR")
    rig.type("110105")
    done = rig.touch("kb:done")
    assert not done.done and done.problem == "An ID number has 18 characters; 12 more to go"


def test_numeric_field_keeps_to_digits_and_its_length(surface):
    rig = Rig(surface, KeyboardState(layout="numeric", field_type="mobile", max_length=11))
    assert not any(t.startswith("kb:layout:") for t in rig.targets)  # a phone field stays digits
    assert rig.type("12").problem == "手机号码以 13–19 开头"
    rig.touch("key:CLEAR")
    rig.type("13800138000")
    assert "key:9" not in rig.targets  # full: the digits are greyed out and untouchable
    assert handle(rig.state, "key:9").kind == "nothing" and rig.state.text == "13800138000"
    assert rig.touch("kb:done").done


def test_switching_layouts_keeps_what_was_typed(surface, index):
    rig = Rig(surface, KeyboardState(layout="pinyin", ime=Ime(index), language="en"))
    rig.type("abc")
    rig.touch("kb:layout:numeric")
    rig.type("12")
    rig.touch("kb:layout:pinyin")
    rig.touch("kb:layout:latin")
    rig.touch("key:SHIFT")
    rig.type("ok")
    assert rig.state.text == "abc12Ok"


def test_done_while_composing_puts_the_letters_in_the_field_first(surface, index):
    rig = Rig(surface, KeyboardState(layout="pinyin", ime=Ime(index), field_type="name"))
    rig.type("li")
    first = rig.touch("kb:done")
    assert not first.done and rig.state.text == "li"
    assert rig.touch("kb:done").done


def test_max_length_says_so(surface, index):
    rig = Rig(surface, KeyboardState(layout="pinyin", ime=Ime(index), max_length=1))
    rig.type("shebao")
    rig.touch("cand:0")
    assert rig.state.text == "" and rig.state.notice == "最多 1 个字"


@pytest.mark.parametrize("language", ["zh_CN", "zh_TW", "en"])
def test_field_problems_in_every_language(language):
    assert field_problem("id_number", VALID_ID, language) is None
    assert field_problem("id_number", "110105194912310021", language)
    assert field_problem("mobile", "13800138000", language, final=True) is None
    assert field_problem("mobile", "1380013", language, final=True)
    assert field_problem("mobile", "1380013", language) is None  # still typing
    assert field_problem("date", "2024-02-30", language)
    assert field_problem("date", "2024-02-29", language) is None
    assert field_problem("birth_date", "2999-01-01", language)
    assert field_problem("text", "", language, final=True)
    assert field_problem("text", "", language, final=True, required=False) is None
    assert field_problem("name", "张三1", language)
    assert field_problem("name", "阿卜杜·热合曼", language) is None
    with pytest.raises(ValueError):
        field_problem("shoe_size", "42", language)


def test_date_picker_steps_to_real_dates_only(surface, tmp_path):
    state = datepicker.DatePickerState(value=dt.date(2024, 1, 31), field_type="birth_date",
                                       earliest=dt.date(1900, 1, 1), latest=dt.date(2025, 6, 30))
    rig = Rig(surface, state, elder=True, module=datepicker)
    pygame.image.save(surface, str(tmp_path / "datepicker-elder.png"))
    for b in rig.renderer.buttons:
        assert b.rect.width >= 60 and b.rect.height >= 60
    rig.touch("date:month:+1")
    assert state.value == dt.date(2024, 2, 29)  # 31 January + 1 month: the last day of February
    rig.touch("date:year:-1")
    assert state.value == dt.date(2023, 2, 28)
    for _ in range(4):
        rig.touch("date:year:+10")
    assert state.value == dt.date(2025, 2, 28)  # clamped to the latest year
    for _ in range(20):
        rig.touch("date:year:-10")
    assert state.value.year == 1900
    rig.touch("date:day:-1")
    assert state.value == dt.date(1900, 2, 27)
    result = rig.touch("date:done")
    assert result.done and result.text == "1900-02-27"


def test_date_picker_refuses_a_future_birth_date(surface):
    state = datepicker.DatePickerState(value=dt.date.today() + dt.timedelta(days=40), field_type="birth_date")
    result = datepicker.handle(state, "date:done")
    assert not result.done and result.problem == "日期不能晚于今天"


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    def lum(c):
        ch = [v / 255 for v in c]
        ch = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_key_labels_have_enough_contrast():
    for ink, fill in ((theme.TEXT, theme.CARD), (theme.PRIMARY_TEXT, theme.PRIMARY),
                      (theme.PRIMARY_TEXT, theme.HEADER), (theme.MUTED, theme.BACKGROUND)):
        assert contrast(ink, fill) >= 4.5


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(
    st.sampled_from(["key:BKSP", "key:SPACE", "key:SHIFT", "key:CLEAR", "kb:done", "cand:0", "cand:3",
                     "cand:from:6", "cand:from:999", "kb:layout:latin", "kb:layout:numeric",
                     "kb:layout:pinyin", "kb:layout:id_number", "key:X", "key:1", "cand:-1", "date:year:+1"]),
    st.sampled_from([f"key:{c}" for c in "abcdehijklmnosuxz"]),
    st.text(max_size=12)), max_size=40))
@example(targets=["key:a", "cand:from:6", "kb:done"])  # a candidate page kept after the letters were taken
def test_any_touches_in_any_order_never_break_the_keyboard(surface, index, targets):
    state = KeyboardState(layout="pinyin", ime=Ime(index), max_length=20, field_type="name")
    for target in targets:
        result = handle(state, target)
        assert result.kind in ("changed", "done", "nothing")
        assert len(state.text) <= 20
    keyboard.draw(Renderer(surface).canvas, state, 1000, False)
