"""免申即办 and 数据互认 on screen, in elder mode, English and 繁體: the notice after the card, an exempt
item's detail and status, the materials screen with e-licences, the follow-ups on done. The views come
from driving the real flow (test_accessibility.exempt_views); what is checked is what a resident reads."""

from __future__ import annotations

from dataclasses import replace

import pytest
from layout_check import layout_problems
from test_accessibility import every_screen_view

from screens import paging
from screens.renderer import Renderer

CASES = [pytest.param("zh_CN", True, id="elder"), pytest.param("en", False, id="en"),
         pytest.param("zh_TW", False, id="zh_TW"), pytest.param("en", True, id="en-elder"),
         pytest.param("zh_TW", True, id="zh_TW-elder")]
# What each language says (messages.toml), to look for on the screen.
SAYS = {
    "zh_CN": {"title": "您已自动享受", "mother": "生育津贴申领", "amount": "¥18600.00", "day": "2026年3月20日",
              "month": "每月 ¥100.00", "fetched": "已调取电子证照", "scan": "未能调取电子证照", "exempt": "无需申请",
              "follow": "办结后将自动为您办理", "due": "2030年6月1日"},
    "zh_TW": {"title": "您已自動享受", "mother": "生育津貼申領", "amount": "¥18600.00", "day": "2026年3月20日",
              "month": "每月 ¥100.00", "fetched": "已調取電子證照", "scan": "未能調取電子證照", "exempt": "無需申請",
              "follow": "辦結後將自動為您辦理", "due": "2030年6月1日"},
    "en": {"title": "Granted to you automatically", "mother": "Maternity allowance", "amount": "¥18600.00",
           "day": "20 Mar 2026", "month": "¥100.00 a month", "fetched": "e-licence library", "scan": "scan the original",
           "exempt": "No application needed", "follow": "arranged for you without applying", "due": "1 Jun 2030"},
}


@pytest.fixture(scope="module")
def views():
    return {language: every_screen_view(language) for language in SAYS}


def drawn(surface, view, elder):
    """Render the view and each page after it (下一页), checking each page's layout: the texts on every
    page (one string), the first page's targets, and the renderer."""
    renderer = Renderer(surface)
    renderer.render(replace(view, elder=elder), scroll=0.0)
    targets = [b.target for b in renderer.buttons]
    texts: list[str] = []
    for _ in range(10):
        assert layout_problems(renderer.canvas, renderer.buttons) == []
        texts += [t for t, _, _ in renderer.canvas.texts]
        if not renderer.turn(paging.NEXT):
            break
        renderer.redraw()
    return " ".join(texts), targets, renderer


@pytest.mark.parametrize(("language", "elder"), CASES)
def test_the_notice_shows_what_was_granted_with_dates_and_amounts_and_continues_in_one_touch(
        surface, views, language, elder):
    says = SAYS[language]
    text, targets, renderer = drawn(surface, views[language]["exempt"], elder)
    for what in ("title", "mother", "amount", "day", "month", "due"):
        assert says[what] in text, (what, text)
    assert "continue" in targets and "print" not in targets
    assert says["title"] in renderer.main_text and says["amount"] not in renderer.main_text  # never to the hall


@pytest.mark.parametrize(("language", "elder"), CASES)
def test_an_exempt_item_offers_its_status_not_an_application(surface, views, language, elder):
    text, targets, _ = drawn(surface, views[language]["detail_exempt"], elder)
    assert SAYS[language]["exempt"] in text and "exempt:status" in targets and "begin" not in targets
    text, targets, _ = drawn(surface, views[language]["exempt_status"], elder)
    assert SAYS[language]["amount"] in text and "print" in targets and "continue" in targets
    text, _, _ = drawn(surface, views[language]["detail_follow_ups"], elder)
    assert SAYS[language]["follow"] in text and SAYS[language]["mother"] in text


@pytest.mark.parametrize(("language", "elder"), CASES)
def test_the_materials_screen_asks_the_camera_only_for_what_the_library_lacks(surface, views, language, elder):
    view = views[language]["materials_licences"]
    text, targets, _ = drawn(surface, view, elder)
    assert SAYS[language]["fetched"] in text
    assert "capture:0" not in targets and "retake:0" not in targets  # the licence: nothing to photograph
    assert "retake:1" in targets  # the household register was scanned instead
    text, targets, _ = drawn(surface, replace(view, pages={}, previews={}), elder)
    assert SAYS[language]["scan"] in text and "capture:1" in targets


@pytest.mark.parametrize(("language", "elder"), CASES)
def test_done_names_what_follows_without_applying(surface, views, language, elder):
    done = replace(views[language]["done"], item_kind="apply", item_follow_ups=[SAYS[language]["mother"]],
                   rating_followup=False, printed=True)
    text, _, _ = drawn(surface, done, elder)
    assert SAYS[language]["follow"] in text and SAYS[language]["mother"] in text
