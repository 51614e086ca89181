"""The design tokens (screens/tokens.py): every mode's colour roles keep the A1 contrast figures, and the
type scale stays small and above the elder-mode minimum."""

from __future__ import annotations

import pytest
from test_accessibility import contrast

from screens import theme, tokens

# (ink role, surface role, least ratio): text 7:1 (elder mode's figure, met in every mode), controls and
# icons 3:1 against what they sit on (WCAG 1.4.11).
PAIRS = [("text", "background", 7.0), ("muted", "background", 7.0), ("header_text", "header", 7.0),
         ("primary_text", "primary", 7.0), ("secondary_text", "secondary", 7.0), ("muted", "secondary", 7.0),
         ("text", "card", 7.0), ("pressed_text", "pressed", 7.0), ("danger", "background", 7.0),
         ("success", "background", 7.0), ("icon", "background", 3.0), ("icon", "secondary", 3.0),
         ("icon", "card", 3.0), ("secondary_edge", "background", 3.0), ("primary", "background", 3.0),
         ("card_edge", "background", 3.0), ("pressed", "background", 3.0),
         # messages (screens/messages.py): dark text on the panel, its edge and sign against it and the page
         *[("text", fill, 7.0) for fill in ("success_fill", "info_fill", "warning_fill", "error_fill")],
         ("success", "success_fill", 3.0), ("header", "info_fill", 3.0), ("warning", "warning_fill", 3.0),
         ("danger", "error_fill", 3.0), ("header", "background", 3.0), ("warning", "background", 3.0),
         *[("on_status", status, 3.0) for status in ("success", "header", "warning", "danger")]]


@pytest.mark.parametrize("mode", sorted(tokens.PALETTES))
def test_every_mode_keeps_the_contrast_figures(mode):
    palette = tokens.PALETTES[mode]
    weak = [f"{ink} on {surface}: {contrast(getattr(palette, ink), getattr(palette, surface)):.2f}:1"
            for ink, surface, need in PAIRS
            if contrast(getattr(palette, ink), getattr(palette, surface)) < need]
    assert not weak, f"{mode}: {weak}"


def test_the_type_scale_is_small_and_elder_mode_never_goes_below_its_minimum():
    assert len(set(tokens.TYPE.values())) <= 6
    assert all(tokens.type_size(role, elder=True) >= tokens.ELDER_MIN_PX for role in tokens.TYPE)
    assert tokens.type_size("caption") >= 30  # the standard mode's smallest body text


def test_the_screens_draw_with_the_standard_palette():
    assert (theme.BACKGROUND, theme.PRIMARY, theme.TEXT) == (
        tokens.STANDARD.background, tokens.STANDARD.primary, tokens.STANDARD.text)
    assert tokens.MOTION["transition"] < 150
