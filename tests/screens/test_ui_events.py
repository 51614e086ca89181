"""The touchscreen under SDL's dummy driver: synthetic pygame events in, what a resident sees out.

A real KioskApp with its device simulators, the gateway and the platform simulator on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

import pygame
import pytest
from live_app import post, running_app, settle

from kiosk.flow.views import ConsentView
from kiosk.opening_hours import OpeningHours


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    yield from running_app(tmp_path_factory.mktemp("data"))


def tap(app, target):
    settle(app, app.ready_for_tap)  # as fast as a person, not faster than a double tap
    pos = app.renderer.target_centre(target)
    post(pygame.MOUSEBUTTONDOWN, pos=pos, button=1)
    post(pygame.MOUSEBUTTONUP, pos=pos, button=1)
    app.step()


def targets(app):
    return {b.target for b in app.renderer.buttons}


def go_home(app):
    if app.flow.screen.value != "attract":
        app.dispatch(__import__("kiosk.flow", fromlist=["Tapped"]).Tapped("exit"))
    settle(app)
    tap(app, "start")
    settle(app, lambda: app.flow.screen.value == "home")


def test_tap_counts_on_release_and_a_drag_off_the_button_cancels_it(app):
    go_home(app)
    pos = app.renderer.target_centre("browse:all")
    post(pygame.MOUSEBUTTONDOWN, pos=pos, button=1)
    post(pygame.MOUSEBUTTONUP, pos=(pos[0], 20), button=1)  # slid up onto the header and let go
    app.step()
    assert app.flow.screen.value == "home"
    tap(app, "browse:all")
    assert app.flow.screen.value == "list"
    assert "共 301 项" in app.renderer.main_text or len(app.flow.view().list) == 301


def test_dragging_the_list_scrolls_it_without_opening_an_item_and_a_fling_glides(app, tmp_path: Path):
    go_home(app)
    tap(app, "browse:all")
    first = sorted(b.target for b in app.renderer.buttons if b.target.startswith("detail:"))
    x, y = 540, 1500
    post(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1)
    for step in range(1, 11):
        post(pygame.MOUSEMOTION, pos=(x, y - step * 60), rel=(0, -60), buttons=(1, 0, 0))
    post(pygame.MOUSEBUTTONUP, pos=(x, y - 600), button=1)
    app.step()
    assert app.flow.screen.value == "list"  # a drag is not a tap
    scrolled = app.renderer.scroll
    assert scrolled >= 500
    for _ in range(10):
        app.step()
    assert app.renderer.scroll > scrolled  # the fling carried on after the finger lifted
    after = sorted(b.target for b in app.renderer.buttons if b.target.startswith("detail:"))
    assert after != first  # other rows are under the finger now
    app.display.save(str(tmp_path / "list-scrolled.png"))
    tap(app, after[0])
    assert app.flow.screen.value == "detail"
    assert "begin" in targets(app) or app.flow.view().item_unavailable


def test_search_with_the_pinyin_keyboard(app):
    go_home(app)
    tap(app, "search")
    assert app.flow.screen.value == "search"
    if app.renderer.keyboard is None:
        pytest.skip("screens/keyboard.py not installed")
    for letter in "sbjf":
        tap(app, f"key:{letter}")
    settle(app)
    assert "detail:rs-sbjfzm" in targets(app) or any(
        c == "rs-sbjfzm" for c, *_ in app.flow.view().list) or any(t.startswith("cand:") for t in targets(app))


def test_double_taps_and_taps_on_nothing_keep_the_screen_responsive(app):
    go_home(app)
    settle(app, app.ready_for_tap)
    pos = app.renderer.target_centre("browse:departments")
    for _ in range(2):
        post(pygame.MOUSEBUTTONDOWN, pos=pos, button=1)
        post(pygame.MOUSEBUTTONUP, pos=pos, button=1)
    for pos in ((0, 0), (1079, 1919), (540, 5)):
        post(pygame.MOUSEBUTTONDOWN, pos=pos, button=1)
        post(pygame.MOUSEBUTTONUP, pos=pos, button=1)
    app.step()
    assert app.flow.screen.value == "categories"  # the second tap was the same tap, not a category
    assert any(t.startswith("dept:") for t in targets(app))


def test_help_is_on_every_screen_and_comes_back(app):
    app.flow.help_hours = OpeningHours.parse("mon-sun 00:00-24:00")  # staff on site, whatever the hour
    go_home(app)
    for entry in ("browse:departments", "browse:themes", "search", "browse:all"):
        tap(app, entry)
        assert "help" in targets(app), app.flow.screen.value
        here = app.flow.screen.value
        tap(app, "help")
        assert app.flow.screen.value == "help"
        tap(app, "help:elderly")
        settle(app, lambda: app.flow.view().notice_key == "notice_help_no_help")
        tap(app, "back")
        assert app.flow.screen.value == here
        tap(app, "back")
        if app.flow.screen.value != "home":
            tap(app, "back")


def test_elder_toggle_and_languages_on_the_attract_screen(app):
    go_home(app)
    tap(app, "exit")
    settle(app)
    assert {"elder", "help", "lang:zh_TW", "lang:en"} <= targets(app)
    tap(app, "lang:en")
    tap(app, "elder")
    assert app.flow.screen.value == "home" and app.flow.view().elder
    assert "Large" not in app.renderer.main_text and app.renderer.main_text  # main text is spoken
    tap(app, "speech")
    assert app.flow.view().speech is False
    tap(app, "exit")
    assert not app.flow.view().elder and app.flow.view().language == "zh_CN"


def test_face_check_not_passed_says_why_and_offers_the_other_ways(app):
    """人证比对 for a print item: the real simulated face camera, the platform scripted to say the face
    does not match; the resident sees why, the other ways, and can try again."""
    import requests

    admin = app.settings.platform.url.rstrip("/") + "/admin/identity"
    go_home(app)
    settle(app, lambda: not app.terminal.sample_card_on_pad)
    app.insert_sample_card()
    settle(app, lambda: app.flow.session is not None and app.flow.session.identity is not None)
    tap(app, "item:rs-sbjfzm")
    settle(app, lambda: app.flow.screen.value == "consent")
    assert {"consent", "alt:social_security_card", "alt:app_qr"} <= targets(app)
    requests.post(admin, json={"default": "face_mismatch"}, timeout=10).raise_for_status()
    try:
        tap(app, "consent")
        settle(app, lambda: isinstance(app.flow.view(), ConsentView) and app.flow.view().face_failed, timeout_s=60)
        assert app.flow.screen.value == "consent" and app.flow.view().face_failed == "face_reason_mismatch"
        assert {"consent", "alt:social_security_card", "alt:app_qr"} <= targets(app)
    finally:
        requests.post(admin, json={"default": "verified"}, timeout=10).raise_for_status()
    tap(app, "consent")  # 再试一次: verified this time, and the certificate prints with no confirm touch
    settle(app, lambda: app.flow.screen.value == "done", timeout_s=60)
    assert app.flow.view().printed
    tap(app, "rate:1")
    settle(app, lambda: app.flow.screen.value == "thanks")


def test_elder_departments_page_by_touch_to_the_last_department(app):
    """Elder mode shows fewer departments a page: 下一页 (a real touch through the app) brings the rest,
    the position says where the resident is, and 上一页 goes back."""
    go_home(app)
    tap(app, "elder")
    assert app.flow.view().elder
    tap(app, "browse:departments")
    assert "dept:zh" not in targets(app) and "page:next" in targets(app) and "page:prev" not in targets(app)
    tap(app, "page:next")
    assert app.flow.screen.value == "categories"
    assert "dept:zh" in targets(app) and "page:prev" in targets(app)
    tap(app, "page:prev")
    assert "dept:zh" not in targets(app) and "dept:rs" in targets(app)
    tap(app, "page:next")
    tap(app, "dept:zh")
    assert app.flow.screen.value == "list" and app.flow.view().elder
    tap(app, "back")
    assert "dept:zh" in targets(app)  # back on the page the resident left
def test_a_message_is_spoken_and_covers_no_control(app):
    """已通知工作人员: shown as a success message that leaves the help page's 返回 free, and spoken."""
    from screens.i18n import messages

    app.flow.help_hours = OpeningHours.parse("mon-sun 00:00-24:00")  # staff on site, whatever the hour
    settle(app)
    if app.flow.screen.value != "attract":
        tap(app, "home" if app.flow.screen.value in ("thanks", "timeout") else "exit")
        settle(app, lambda: app.flow.screen.value == "attract")
    tap(app, "start")
    settle(app, lambda: app.flow.screen.value == "home")
    tap(app, "help")
    settle(app, lambda: app.flow.screen.value == "help")
    tap(app, "help:elderly")
    settle(app, lambda: app.flow.view().notice_key == "notice_help_no_help")
    said = messages().text("zh_CN", "notice_help_no_help", number=app.flow.view().help_no)  # its number, spoken
    assert app.renderer.message_text == said and app.speaker.last_text == said
    banner = app.renderer.message_rect
    assert banner is not None and not [b.target for b in app.renderer.buttons if b.rect.colliderect(banner)]
    assert "back" in targets(app)
    tap(app, "back")
    settle(app, lambda: app.flow.screen.value == "home")
    tap(app, "exit")
