"""Every screen speaks the visual language (issue 24): on every screen the flow reaches, in standard and
elder mode and every language, each text is asked at a size of the type scale (screens/tokens.py: the
few sizes the design sheet shows; a caller that fits a text to its room starts from one of them), and
each control that names a department, theme, 一件事 bundle, item or common action carries its icon
(config/icons.toml) beside its label.

Read from what the canvas noted while the real renderer drew the real flow's views
(test_accessibility.every_screen_view), not from the source.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_accessibility import every_screen_view

from screens import tokens
from screens.i18n import LANGUAGES
from screens.renderer import Renderer
from screens.visual import language_problems, wants_icon

SCALE = frozenset(tokens.TYPE.values())


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("elder", [False, True], ids=["standard", "elder"])
def test_every_text_uses_the_type_scale_and_every_named_control_its_icon(surface, language, elder):
    renderer = Renderer(surface)
    problems: dict[str, list[str]] = {}
    for name, view in every_screen_view(language).items():
        renderer.render(replace(view, elder=elder))
        found = language_problems(renderer.canvas)
        if found:
            problems[name] = found
    assert not problems, problems


def test_the_check_sees_a_bare_control_and_an_off_scale_size(surface):
    """The two checks can fail: a canvas that drew a 38-px text and an icon-less 帮助 notes both."""
    renderer = Renderer(surface)
    canvas = renderer.canvas
    canvas.fill()
    canvas.text("帮助", 100, 38)
    canvas.button("帮助", "help", (60, 200, 960, 120))
    assert (38, "帮助") in canvas.type_asked and 38 not in SCALE
    assert canvas.button_icons == {"help": ""} and wants_icon("help")
    assert language_problems(canvas) == [f"text at 38 px, off the type scale {sorted(SCALE)}", "help without its icon"]
