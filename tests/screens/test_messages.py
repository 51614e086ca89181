"""One message component: the kind says what happened (colour and icon), and a passing message never
covers a control, on any screen, in either mode."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_accessibility import every_screen_view

from screens import theme
from screens.i18n import LANGUAGES, messages
from screens.messages import kind_of, message_box
from screens.renderer import Renderer
from screens.widgets import Canvas

NOTICES = sorted(k for k in messages().table["zh_CN"] if k.startswith("notice_"))



def test_successes_are_not_warnings():
    assert kind_of("notice_progress_printed") == "success" and kind_of("notice_help_sent") == "success"
    assert kind_of("notice_fix_fields") == "warning" and kind_of("notice_card_pulled") == "info"
    assert kind_of("notice_card_unsupported") == "error"


@pytest.mark.parametrize("kind", ["success", "info", "warning", "error"])
def test_each_kind_draws_its_own_colour_and_icon(surface, kind):
    c = Canvas(surface)
    c.fill()
    message_box(c, "进度单已打印，请在出纸口取走", kind, 300)
    fill, edge = theme.MESSAGE_COLOURS[kind]
    colours = {surface.get_at((x, y))[:3] for x in range(40, 1040, 4) for y in range(300, 420, 4)}
    assert fill in colours and edge in colours
    others = {theme.MESSAGE_COLOURS[k][0] for k in theme.MESSAGE_COLOURS if k != kind}
    assert not others & colours


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("elder", [False, True], ids=["standard", "elder"])
def test_a_message_never_covers_a_control(surface, language, elder):
    renderer = Renderer(surface)
    for name, view in every_screen_view(language).items():
        for key in NOTICES:
            buttons = renderer.render(replace(view, elder=elder, notice_key=key))
            banner = renderer.message_rect
            assert banner is not None and surface.get_rect().contains(banner), (name, key)
            covered = [b.target for b in buttons if b.rect.colliderect(banner)]
            assert not covered, (name, key, covered)
            assert renderer.canvas.min_text_px >= (30 if elder else 24), (name, key)
