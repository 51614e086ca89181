"""What the touchscreen's look takes from the settings (issue 24): the station's name and hours for the
attract screen, where each device sits on the cabinet (the device guidance points there), reduced motion,
and the palette (``[ui] contrast``: standard, or high contrast for a bright hall or residents with low vision)."""

from __future__ import annotations

from kiosk.settings import Settings
from screens import icons, tokens
from screens.widgets import Canvas

DEVICES = ("id_card_reader", "ssc_reader", "scanner", "document_camera", "printer")


def configure(canvas: Canvas, settings: Settings) -> None:
    canvas.place = settings.kiosk.place
    canvas.hours = settings.ui.hours
    canvas.cabinet = {device: getattr(settings.cabinet, device) for device in DEVICES}
    canvas.palette = tokens.CONTRAST[settings.ui.contrast]


def wants_icon(target: str) -> bool:
    """Whether a control's target names a department, theme, 一件事 bundle, item or a common action (a key
    of config/icons.toml's [actions], or ``browse:`` one of them): such a control carries its icon."""
    kind, _, rest = target.partition(":")
    if kind in ("dept", "theme", "bundle", "item", "detail"):
        return True
    actions = icons.icon_map()["actions"]
    return rest in actions if kind == "browse" else target in actions


def language_problems(canvas: Canvas) -> list[str]:
    """What the frame just drawn on ``canvas`` says off the visual language: a text asked at a size off the
    type scale, a control naming something without its icon ([] when none). Read by the visual-language
    test and written by `kiosk demo` beside each screenshot's name in summary.json."""
    scale = set(tokens.TYPE.values())
    sizes = sorted({size for size, _ in canvas.type_asked if size is not None and size not in scale})
    bare = sorted(target for target, icon in canvas.button_icons.items() if wants_icon(target) and not icon)
    return ([f"text at {size} px, off the type scale {sorted(scale)}" for size in sizes]
            + [f"{target} without its icon" for target in bare])
