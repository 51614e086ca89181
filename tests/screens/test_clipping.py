"""Nothing clipped (issue 19): on every screen, in standard and elder mode and every language, every
text is drawn whole inside its box and inside the screen, no text lies over another, and every
control's whole rectangle is on screen and covered by no other control — on every page of the
screens that page, with the on-screen keyboard and the date picker open too.

Checked on the layout rectangles the canvas notes while drawing (tests/screens/layout_check.py), not
on pixels. The views come from driving the real flow (test_accessibility.every_screen_view); the
catalog-wide walk over every list and every form is tests/screens/test_reachability.py.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest
from layout_check import layout_problems
from test_accessibility import every_screen_view

from kiosk.flow.views import FieldView, FormView, SlotsView, View
from screens import paging
from screens.app import new_keyboard
from screens.i18n import LANGUAGES
from screens.renderer import Renderer

MODES = [pytest.param(False, id="standard"), pytest.param(True, id="elder")]



def every_page(renderer: Renderer, view: View, keyboard: object = None) -> dict[int, list[str]]:
    """Render ``view`` and each page after it (下一页); the problems found on each page."""
    renderer.keyboard = keyboard
    renderer.render(view, scroll=0.0)
    found: dict[int, list[str]] = {}
    for page in range(1, 100):
        problems = layout_problems(renderer.canvas, renderer.buttons)
        if problems:
            found[page] = problems
        if not renderer.turn(paging.NEXT):
            break
        renderer.redraw()
    return found


def typing_views(form: FormView) -> list[FormView]:
    """The form with each kind of input open: pinyin, a keypad, the ID keypad, the date picker."""
    kinds = [("text", "子女姓名"), ("mobile", "手机号码"), ("citizen_id", "子女公民身份号码"), ("date", "入学日期")]
    views = []
    for kind, label in kinds:
        field = FieldView(key=f"k_{kind}", label=label, type=kind, locked=False, required=True, value="",
                          problem="required", choices=[])
        views.append(replace(form, fields=[*form.fields, field], focus=field.key, focus_type=kind, focus_text=""))
    return views


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("elder", MODES)
def test_every_screen_draws_every_text_whole_and_every_control_uncovered(surface, language, elder):
    renderer = Renderer(surface)
    views = every_screen_view(language)
    problems: dict[str, dict[int, list[str]]] = {}
    for name, view in views.items():
        view = replace(view, elder=elder)
        keyboard = new_keyboard(view) if view.screen == "search" else None
        found = every_page(renderer, view, keyboard)
        if found:
            problems[name] = found
    # Many appointment times, and a form checked with every field's message showing.
    slots = replace(views["slots"], elder=elder,
                    slots=[(f"s{i}", f"2026-11-{23 + i // 16} {8 + i % 16 // 2:02d}:{30 * (i % 2):02d}", i % 3)
                           for i in range(40)])
    assert isinstance(slots, SlotsView)
    form = replace(views["form"], elder=elder)
    assert isinstance(form, FormView)
    checked = replace(form, fields=[dataclasses.replace(f, problem="required") for f in form.fields] * 3)
    # A terminal whose settings feature eight items, with a resident's card read (the name line).
    home = views["home"]
    eight = replace(home, elder=elder, items=(home.items * 8)[:8], applicant_name="张*",
                    applicant_id="1101**********002X")
    extra = {"slots (40)": (slots, None), "form checked": (checked, None), "home, 8 featured": (eight, None)}
    for typing in typing_views(form):
        extra[f"form typing {typing.focus_type}"] = (typing, new_keyboard(typing))
    for name, (view, keyboard) in extra.items():
        found = every_page(renderer, view, keyboard)
        if found:
            problems[name] = found
    assert not problems, problems


@pytest.mark.parametrize("elder", MODES)
def test_the_keyboard_never_covers_the_field_or_the_way_out(surface, elder):
    renderer = Renderer(surface)
    form = replace(every_screen_view("en")["form"], elder=elder)
    assert isinstance(form, FormView)
    for view in typing_views(form):
        renderer.keyboard = new_keyboard(view)
        renderer.canvas.reset_metrics()
        buttons = renderer.render(view)
        if elder:  # A1: the keyboard and the picker are elder-sized too
            assert renderer.canvas.min_text_px >= 30, (view.focus_type, renderer.canvas.min_text_px)
        keys = [b.rect for b in buttons if b.target.startswith(("key:", "kb:", "cand:", "date:"))]
        top = min(r.top for r in keys)
        way_out = {b.target: b.rect for b in buttons if b.target in ("exit", "back", "next", f"field:{view.focus}")}
        assert set(way_out) == {"exit", "back", "next", f"field:{view.focus}"}, (view.focus_type, way_out)
        for target, rect in way_out.items():
            assert rect.bottom <= top, (view.focus_type, target, rect, top)
            assert renderer.hit(rect.center) == target


@pytest.mark.parametrize("elder", MODES)
@pytest.mark.parametrize("letters", ["zhonghuarenmingongheguo", "shebao", "a"])
def test_pinyin_candidates_are_drawn_whole(surface, elder, letters):
    """Long phrases in the candidate bar shrink (never below the elder minimum) and are never cut."""
    renderer = Renderer(surface)
    form = replace(every_screen_view("zh_CN")["form"], elder=elder)
    view = typing_views(form)[0]
    keyboard = new_keyboard(view)
    for letter in letters:
        keyboard.ime.type_letter(letter)
    assert keyboard.ime.all_candidates()
    renderer.keyboard = keyboard
    renderer.canvas.reset_metrics()
    buttons = renderer.render(view)
    assert any(b.target.startswith("cand:") for b in buttons)
    assert not layout_problems(renderer.canvas, buttons)
    if elder:
        assert renderer.canvas.min_text_px >= 30
