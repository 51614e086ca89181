"""High contrast on a terminal (issue 24): a technician sets ``[ui] contrast = "high"`` and every screen is
drawn white and yellow on black — measured on the rendered pixels as tests/screens/test_contrast.py
measures the standard palette, but to high contrast's own figure: every text ≥ 7:1 against what it is
drawn on (standard and elder mode), every control's boundary ≥ 3:1. The setting reaches the screen of a
real app, a bad value is refused by name, and the standard palette comes back when a frame asks for it.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import replace

import pygame
import pytest
from test_accessibility import every_screen_view
from test_clipping import typing_views
from test_contrast import boundary_contrast, frames, ink_contrast

from kiosk.settings import SettingsError, load_settings
from local_api.server import start_gateway, start_platform_sim
from screens import theme, tokens
from screens.app import KioskApp, new_keyboard
from screens.demo import demo_settings
from screens.i18n import LANGUAGES
from screens.renderer import Renderer

BLACK = (0, 0, 0)


@pytest.fixture(autouse=True)
def standard_after():
    """The screens' colour names are module state: leave them standard for the tests that follow."""
    yield
    theme.use(tokens.STANDARD)


def most_common(surface: pygame.Surface, step: int = 8) -> tuple[int, int, int]:
    w, h = surface.get_size()
    return Counter(surface.get_at((x, y))[:3] for x in range(0, w, step) for y in range(0, h, step)).most_common(1)[0][0]


def standard_page(surface: pygame.Surface, step: int = 8) -> int:
    """How many sampled pixels have the standard palette's page or light button colour."""
    w, h = surface.get_size()
    light = (tokens.STANDARD.background, tokens.STANDARD.secondary)
    return sum(1 for x in range(0, w, step) for y in range(0, h, step) if surface.get_at((x, y))[:3] in light)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("elder", [False, True], ids=["standard", "elder"])
def test_every_screen_in_high_contrast_keeps_text_at_7_to_1_and_control_edges_at_3_to_1(surface, language, elder):
    renderer = Renderer(surface)
    renderer.canvas.palette = tokens.HIGH_CONTRAST
    problems = []
    # Every screen, two passing messages, and the form with each input open (pinyin, keypads, date picker).
    typing = [(f"form+{v.focus_type}", v) for v in typing_views(replace(every_screen_view(language)["form"],
                                                                        elder=elder))]
    for name, view in [*frames(language, elder), *typing]:
        renderer.keyboard = new_keyboard(view) if name.startswith("form+") and name != "form+message" else None
        buttons = renderer.render(view)
        # The page is black (a list's near-black rows may cover most of it); nothing of the standard page left.
        assert most_common(surface) in (BLACK, tokens.HIGH_CONTRAST.card), f"{name}: the page is not black"
        assert not standard_page(surface), f"{name}: the standard page's colour shows"
        for block in renderer.canvas.text_blocks:
            ratio, ink, background = ink_contrast(surface, block)
            if ratio < 7.0:
                problems.append(f"{name}: text at {block} {ink} on {background} is {ratio:.2f}:1")
        for button in buttons:
            band = button.rect.inflate(-min(24, button.rect.width // 4), -button.rect.height // 3)
            ratio, ink, fill = ink_contrast(surface, band)
            if ink != fill and ratio < 7.0:
                problems.append(f"{name}: label of {button.target} {ink} on {fill} is {ratio:.2f}:1")
            edge = boundary_contrast(surface, button.rect)
            if edge < 3.0:
                problems.append(f"{name}: boundary of {button.target} is {edge:.2f}:1")
    assert not problems, "\n".join(problems[:30])


def test_switching_back_draws_the_standard_palette_again(surface):
    """One process, two palettes: a standard frame after a high-contrast one is the standard frame."""
    home = every_screen_view("zh_CN")["home"]
    renderer = Renderer(surface)
    renderer.render(home)
    standard = pygame.image.tobytes(surface, "RGB")
    renderer.canvas.palette = tokens.HIGH_CONTRAST
    renderer.render(home)
    assert most_common(surface) == BLACK and theme.TEXT == tokens.HIGH_CONTRAST.text
    renderer.canvas.palette = tokens.STANDARD
    renderer.render(home)
    assert pygame.image.tobytes(surface, "RGB") == standard
    assert (theme.BACKGROUND, theme.TEXT, theme.HEADER) == (
        tokens.STANDARD.background, tokens.STANDARD.text, tokens.STANDARD.header)


def test_a_bad_contrast_setting_is_refused_by_name():
    with pytest.raises(SettingsError) as refused:
        load_settings(environ={"KIOSK_UI__CONTRAST": "bright"})
    problem = str(refused.value)
    assert "ui.contrast" in problem and "'standard'" in problem and "'high'" in problem
    assert load_settings(environ={}).ui.contrast == "standard"


def test_a_terminal_set_to_high_contrast_draws_its_screens_black(tmp_path):
    """A real app started with ``[ui] contrast = "high"``: its first screen is black with the yellow header
    bar, and so is the operators' mirror of it."""
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    settings = load_settings(environ={"KIOSK_UI__CONTRAST": "high"})
    platform = start_platform_sim("127.0.0.1", 0, settings.platform.secret)
    gateway = None
    app = None
    try:
        s = demo_settings(settings, str(tmp_path), platform.url)
        gateway = start_gateway(s)
        app = KioskApp(s, gateway_url=gateway.url, headless=True)
        app.step()
        screen = app.display.surface
        assert app.frames >= 1 and most_common(screen) == BLACK
        header = screen.get_at((screen.get_width() // 2, 4))[:3]
        assert header == tokens.HIGH_CONTRAST.header
        mirror = app.mirror.frame(app.flow.view())
        assert most_common(mirror) == BLACK
    finally:
        if app is not None:
            app.close()
        if gateway is not None:
            gateway.close()
        platform.close()


def test_a_text_colour_taken_before_the_switch_is_drawn_in_high_contrast(surface):
    """A screen that kept ``theme.TEXT`` from import time (a default argument, a dataclass field) still draws
    white on black: the canvas maps a standard role's colour to the same role of the palette it draws with."""
    renderer = Renderer(surface)
    canvas = renderer.canvas
    canvas.palette = tokens.HIGH_CONTRAST
    canvas.fill()
    canvas.text("办事 Services", 300, tokens.TYPE["heading"], colour=tokens.STANDARD.text)
    canvas.text("办事 Services", 500, tokens.TYPE["heading"], colour=tokens.STANDARD.header)
    body, accent = canvas.text_blocks
    assert ink_contrast(surface, body)[1:] == (tokens.HIGH_CONTRAST.text, BLACK)
    assert ink_contrast(surface, accent)[1:] == (tokens.HIGH_CONTRAST.header, BLACK)
