"""What one resident's session leaves in the app's memory once it ends (P9, memory after a day).

A real KioskApp under SDL's dummy driver: a session in English, elder mode, browsing every item, asks
for font sizes and list rows the next resident may never need. The font faces are a small pool that
re-sizes a face in place rather than opening one per size, so a day in every mode and language never
holds more than the pool; list rows go when the session ends, and the next resident's first screens
open no face.
"""

from __future__ import annotations

import pygame
import pytest

from kiosk.fonts import cjk_font_path
from screens import itemlist, theme
from tests.screens.test_ui_events import app, settle, tap  # noqa: F401  (the module's real app)

POOL = 2 * theme.FACES_PER_WEIGHT


@pytest.fixture(autouse=True)
def _at_attract(app):  # noqa: F811
    settle(app)
    if app.flow.screen.value != "attract":
        tap(app, "exit")
        settle(app)


def test_a_day_in_every_mode_keeps_the_faces_to_the_pool_and_a_sessions_rows_go_when_it_ends(app):  # noqa: F811
    tap(app, "start")
    settle(app)
    assert app.flow.screen.value == "home"
    tap(app, "exit")
    settle(app)
    pinned = theme.pinned_fonts()
    assert 0 < pinned == theme.open_fonts() <= POOL  # the attract and home screens' faces, nothing else
    resized = theme.font_stats()["resized"]
    tap(app, "lang:en")
    tap(app, "elder")
    settle(app)
    tap(app, "browse:all")
    settle(app)
    assert app.flow.screen.value == "list"
    assert itemlist.open_rows() > 0 and theme.open_fonts() <= POOL
    assert theme.font_stats()["resized"] > resized  # elder mode's sizes came from the pool's faces, not from faces opened for them
    tap(app, "exit")
    settle(app)
    assert app.flow.screen.value == "attract"
    assert itemlist.open_rows() == 0 and theme.open_fonts() == pinned
    # The next resident's attract and home screens open no face again.
    opened = theme.font_stats()["opened"]
    tap(app, "start")
    settle(app)
    assert app.flow.screen.value == "home" and theme.open_fonts() == pinned
    assert theme.font_stats()["opened"] == opened


@pytest.mark.parametrize("text", ["社保参保缴费证明打印", "戶籍謄本（繁體）", "Print proof of social insurance"])
def test_a_face_resized_in_place_draws_what_a_face_opened_at_that_size_draws(text):
    pygame.font.init()
    sizes = [30, 84, 44, 36, 52, 64, 40, 32, 48, 38, 58, 101]  # more than the pool holds, out of order
    for bold in (False, True):
        for px in sizes + sizes[::-1]:
            pooled = theme.font(px, bold)
            fresh = pygame.font.Font(str(cjk_font_path(bold)), px)
            assert pooled.size(text) == fresh.size(text)
            assert pooled.get_linesize() == fresh.get_linesize()
            ours, theirs = pooled.render(text, True, (20, 28, 40)), fresh.render(text, True, (20, 28, 40))
            assert pygame.image.tobytes(ours, "RGBA") == pygame.image.tobytes(theirs, "RGBA")
    assert theme.open_fonts() <= POOL
