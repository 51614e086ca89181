"""Motion (issue 24): a touched button shows pressed in the next frame, a new screen fades in within
150 ms while its buttons take touches from its first frame, the waiting and guidance animations move —
and none of it runs in audio mode or with reduced motion (then every frame is a still frame).

A real KioskApp under SDL's dummy driver, its gateway and the platform simulator on 127.0.0.1.
"""

from __future__ import annotations

import time

import pygame
import pytest
from live_app import post, running_app, settle

from screens import guidance, motion, theme, tokens
from screens.i18n import messages
from screens.widgets import Canvas


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    yield from running_app(tmp_path_factory.mktemp("data"))


def fill_at(app, target):
    rect = next(b.rect for b in app.renderer.buttons if b.target == target)
    return app.display.surface.get_at((rect.left + 12, rect.bottom - 12))[:3]


def test_a_touched_button_shows_pressed_in_the_next_frame_and_comes_back_up(app):
    settle(app)
    if app.flow.screen.value != "home":
        settle(app, app.ready_for_tap)
        app.press_and_release("start")
        settle(app, lambda: app.flow.screen.value == "home")
    settle(app, app.ready_for_tap)
    assert fill_at(app, "browse:all") == theme.SECONDARY
    pos = app.renderer.target_centre("browse:all")
    post(pygame.MOUSEBUTTONDOWN, pos=pos, button=1)
    app.step()  # one turn of the loop: the finger is down
    assert fill_at(app, "browse:all") == theme.PRESSED
    post(pygame.MOUSEBUTTONUP, pos=(pos[0], 20), button=1)  # slid off onto the header: no tap
    app.step()
    assert app.flow.screen.value == "home"
    assert fill_at(app, "browse:all") == theme.SECONDARY


def test_a_new_screen_fades_in_within_150_ms_and_takes_touches_from_its_first_frame(app):
    settle(app, lambda: app.flow.screen.value == "home")
    settle(app, app.ready_for_tap)
    app.motion.enabled = True
    try:
        before = app.display.surface.copy()
        app.press_and_release("browse:departments")
        started = time.monotonic()
        app.step()
        assert app.flow.screen.value == "categories"
        assert any(b.target.startswith("dept:") for b in app.renderer.buttons)  # input is not delayed
        # The first frame is (nearly) the old screen, fading: closer to it than to the new one.
        first = pygame.surfarray.array3d(app.display.surface).astype(int)
        old = pygame.surfarray.array3d(before).astype(int)
        app.renderer.redraw()
        new = pygame.surfarray.array3d(app.renderer.canvas.surface).astype(int)
        assert abs(first - old).sum() < abs(first - new).sum()
        while app.motion.transition.running:
            app.step()
            assert time.monotonic() - started < 5.0  # liveness only
        app.step()
        shown = pygame.image.tobytes(app.display.surface, "RGB")
        app.renderer.redraw()
        assert shown == pygame.image.tobytes(app.display.surface, "RGB")  # the new screen, whole
    finally:
        app.motion.enabled = False
        app.motion.stop()


def test_a_fade_lasts_the_transition_time_and_ends_on_the_new_frame():
    old, new = pygame.Surface((4, 4)), pygame.Surface((4, 4))
    old.fill((0, 0, 0))
    new.fill((200, 200, 200))
    fade = motion.Transition()
    fade.start(old, 10.0)
    half = new.copy()
    assert fade.cover(half, 10.0 + tokens.MOTION["transition"] / 2000)
    assert 80 <= half.get_at((0, 0))[0] <= 120  # half way
    assert not fade.cover(new, 10.0 + tokens.MOTION["transition"] / 1000 + 0.001)  # over, under 150 ms
    assert new.get_at((0, 0))[:3] == (200, 200, 200) and not fade.running
    assert tokens.MOTION["transition"] < 150


def test_motion_is_off_in_audio_mode_and_with_reduced_motion(app):
    app.motion.enabled = True
    try:
        assert app.motion.on
        app.audio.on = True
        assert not app.motion.on
        assert app.motion.clock_ms(12.0) is None  # still frames
        assert app.motion.before_new_screen(app.display.surface) is None  # no fade
    finally:
        app.audio.on = False
        app.motion.enabled = False
    assert not app.motion.on
    assert app.motion.step(app.display.surface, "card_prompt", time.monotonic() + 100) == ""


def frame(device, anim_ms):
    surface = pygame.Surface((1080, 700))
    c = Canvas(surface)
    c.fill()
    c.anim_ms = anim_ms
    table = messages()
    guidance.draw(c, lambda key, **v: table.text("zh_CN", key, **v), device, 20, 420)
    return pygame.image.tobytes(surface, "RGB"), c


@pytest.mark.parametrize("device", guidance.DEVICES)
def test_device_guidance_loops_with_motion_and_is_one_still_frame_without(surface, device):
    still, c = frame(device, None)
    assert frame(device, None)[0] == still
    moving = {frame(device, ms)[0] for ms in range(0, tokens.MOTION["guidance"], tokens.MOTION["guidance"] // 4)}
    assert len(moving) >= 3  # the gesture moves
    said = " ".join(text for text, _, _ in c.texts)
    assert "在" in said  # the drawing is said in words: where the device is


def test_the_waiting_dots_move_only_with_motion():
    assert motion.wave(None) == (0.0, 0.0, 0.0)
    assert motion.wave(0) != motion.wave(300)
