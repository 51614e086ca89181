"""Design tokens: the one place the touchscreen's colour roles, type scale, spacing, radii, elevation and
motion are decided (issue 24; docs/design.md shows them, ``python -m screens.design_sheet`` draws them).

Three modes share the same roles. Standard and elder mode use one palette (its text colours already meet
the elder-mode 7:1 of TARGETS.md A1, so a resident who turns elder mode on sees the same colours, only
larger); elder mode changes the type scale (never below :data:`ELDER_MIN_PX`) and the target heights.
High contrast is white and yellow on black (every text ≥ 15:1, every control edge ≥ 10:1), for a technician
who sets it per terminal (settings ``[ui] contrast = "high"``: a bright hall, residents with low vision);
screens/theme.py's colour names follow the palette the frame is drawn with (:data:`CONTRAST`). Contrast
figures are checked on rendered pixels by tests/screens/test_contrast.py (high contrast by
tests/screens/test_high_contrast.py); tests/screens/test_tokens.py checks these tables.

Sizes are design px on a 1080-px-wide portrait screen (screens/widgets.py's Canvas scales them).
The type scale is small on purpose: every distinct size is an open font face (≈ 1 MB, screens/theme.py).
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    """Colour roles. ``*_text`` is drawn on the role it is named after; ``*_edge`` is a control's boundary."""

    background: RGB
    header: RGB
    header_text: RGB
    text: RGB
    muted: RGB
    primary: RGB
    primary_text: RGB
    secondary: RGB
    secondary_text: RGB
    secondary_edge: RGB
    card: RGB
    card_edge: RGB
    danger: RGB
    success: RGB
    warning: RGB
    icon: RGB
    """An icon on the page or on a secondary control (≥ 3:1 against both, WCAG 1.4.11)."""
    pressed: RGB
    """A control under the finger (the frame after the touch): a darker fill, labels keep their contrast."""
    pressed_text: RGB
    success_fill: RGB
    """A success message's panel (screens/messages.py): text on it ≥ 7:1, its edge (``success``) ≥ 3:1."""
    info_fill: RGB
    """An information message's panel; its edge and sign are ``header``."""
    warning_fill: RGB
    error_fill: RGB
    """An error message's panel; its edge and sign are ``danger``."""
    on_status: RGB
    """The sign drawn on a status colour (the tick in a message's green disc)."""


STANDARD = Palette(
    background=(244, 247, 251), header=(0, 82, 155), header_text=(255, 255, 255), text=(20, 28, 40),
    muted=(60, 68, 82), primary=(0, 82, 160), primary_text=(255, 255, 255), secondary=(226, 232, 240),
    secondary_text=(20, 28, 40), secondary_edge=(90, 104, 124), card=(255, 255, 255), card_edge=(110, 120, 136),
    danger=(160, 0, 30), success=(0, 96, 48), warning=(138, 80, 0), icon=(0, 82, 155),
    pressed=(0, 48, 100), pressed_text=(255, 255, 255),
    success_fill=(232, 245, 236), info_fill=(229, 238, 251), warning_fill=(255, 243, 214), error_fill=(253, 233, 234),
    on_status=(255, 255, 255),
)
ELDER = STANDARD  # one palette for both: the elder-mode figure (7:1) is already the standard one
# High contrast: the header bar is yellow with black text, so a screen that writes a heading "in the header's
# colour" (an item's name) writes it yellow on the black page; message panels are black with a bright edge.
HIGH_CONTRAST = Palette(
    background=(0, 0, 0), header=(255, 221, 0), header_text=(0, 0, 0), text=(255, 255, 255),
    muted=(230, 230, 230), primary=(255, 221, 0), primary_text=(0, 0, 0), secondary=(0, 0, 0),
    secondary_text=(255, 255, 255), secondary_edge=(255, 255, 255), card=(20, 20, 20), card_edge=(255, 255, 255),
    danger=(255, 140, 140), success=(120, 255, 160), warning=(255, 200, 80), icon=(255, 221, 0),
    pressed=(255, 255, 255), pressed_text=(0, 0, 0),
    success_fill=(0, 0, 0), info_fill=(0, 0, 0), warning_fill=(0, 0, 0), error_fill=(0, 0, 0),
    on_status=(0, 0, 0),
)
PALETTES: dict[str, Palette] = {"standard": STANDARD, "elder": ELDER, "high_contrast": HIGH_CONTRAST}
# The settings' ``[ui] contrast`` values (kiosk/settings.py) and the palette each draws with.
CONTRAST: dict[str, Palette] = {"standard": STANDARD, "high": HIGH_CONTRAST}

# Type scale (design px). Six sizes; elder mode enlarges each by 1.2, never below ELDER_MIN_PX.
TYPE: dict[str, int] = {
    "display": 84,   # the attract screen's invitation
    "title": 64,     # a screen's one big statement (working…, a result)
    "heading": 48,   # an item's name, a section's question
    "body": 40,      # what to do, button labels
    "label": 36,     # secondary buttons, captions under icons
    "caption": 30,   # the smallest text (a form's field label); 36 in elder mode
}
ELDER_SCALE = 1.2
ELDER_MIN_PX = 32  # A1: text ≥ 30 px at 1080 width in elder mode


def type_size(role: str, elder: bool = False) -> int:
    """The design size of a type role in a mode (as screens/widgets.py's Canvas.size enlarges it)."""
    size = TYPE[role]
    return max(int(size * ELDER_SCALE), ELDER_MIN_PX) if elder else size


# Spacing on an 8-px grid; the page margin is 60 (the 960-px content column).
SPACE: dict[str, int] = {"xs": 8, "s": 16, "m": 24, "l": 40, "xl": 60}
MARGIN = 60
CONTENT_WIDTH = 960

# Radii: controls, cards, the device illustrations' housings.
RADIUS: dict[str, int] = {"s": 12, "m": 18, "l": 24}

# Touch targets: the smallest height per mode (A1 wants ≥ 9 mm; 90 px is ≈ 12 mm on a 21.5" portrait panel).
TARGET_MIN: dict[str, int] = {"standard": 90, "elder": 110}

# Icon sizes (design px): one per use, so each icon is rasterised at few sizes (screens/icons.py caches them).
ICON: dict[str, int] = {"inline": 48, "tile": 96, "status": 200}


@dataclass(frozen=True)
class Elevation:
    """A soft shadow under a card: offset down (design px) and the shadow's alpha."""

    offset: int
    alpha: int


ELEVATION: dict[int, Elevation] = {0: Elevation(0, 0), 1: Elevation(4, 40), 2: Elevation(8, 60)}

# Motion (ms). Pressed feedback is the next frame (no duration). All of it is off with reduced motion
# (settings [ui] reduced_motion) and in audio mode.
MOTION: dict[str, int] = {
    "transition": 120,   # a new screen fades in; input is taken from the first frame on
    "progress": 1200,    # one cycle of the waiting animation
    "guidance": 2400,    # one loop of a device illustration (screens/guidance.py)
}
