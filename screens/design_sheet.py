"""Draws docs/design/*.png from the tokens, the icon map and the device guidance (docs/design.md shows them).

    python -m screens.design_sheet [--out docs/design]
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

import pygame

from screens import theme, tokens

Sheet = Callable[[], pygame.Surface]


def _label(surface: pygame.Surface, text: str, pos: tuple[int, int], size: int = 26, *,
           colour: tokens.RGB | None = None, bold: bool = False) -> int:
    img = theme.font(size, bold).render(text, True, theme.TEXT if colour is None else colour)
    surface.blit(img, pos)
    return pos[1] + img.get_height()


def tokens_sheet() -> pygame.Surface:
    """Colour roles per mode, the type scale, spacing, radii, elevation and motion."""
    roles = list(tokens.Palette.__dataclass_fields__)
    width, row = 1600, 44
    height = 140 + len(roles) * row + 60 + 600
    sheet = pygame.Surface((width, height))
    sheet.fill((255, 255, 255))
    _label(sheet, "Design tokens (screens/tokens.py)", (40, 30), 40, bold=True)
    modes = [("standard / elder", tokens.STANDARD), ("high contrast", tokens.HIGH_CONTRAST)]
    for col, (name, _palette) in enumerate(modes):
        _label(sheet, name, (420 + col * 540, 100), 28, bold=True)
    for i, role in enumerate(roles):
        y = 140 + i * row
        _label(sheet, role, (40, y + 6), 24)
        for col, (_name, palette) in enumerate(modes):
            colour = getattr(palette, role)
            x = 420 + col * 540
            pygame.draw.rect(sheet, colour, (x, y, 120, row - 8), border_radius=6)
            pygame.draw.rect(sheet, (150, 150, 150), (x, y, 120, row - 8), width=1, border_radius=6)
            _label(sheet, "#{:02X}{:02X}{:02X}".format(*colour), (x + 140, y + 6), 22, colour=theme.MUTED)
    y = 140 + len(roles) * row + 30
    _label(sheet, "Type scale (design px; elder ×1.2, ≥ 32)", (40, y), 28, bold=True)
    y += 50
    for role, size in tokens.TYPE.items():
        _label(sheet, f"{role} {size} / {tokens.type_size(role, True)}", (40, y + size // 4), 22, colour=theme.MUTED)
        y = _label(sheet, "办事 Services", (420, y), size) + 4
    x0 = 1000
    yy = 140 + len(roles) * row + 30
    yy = _label(sheet, "Spacing", (x0, yy), 28, bold=True) + 10
    for name, value in tokens.SPACE.items():
        pygame.draw.rect(sheet, theme.PRIMARY, (x0 + 90, yy + 6, value * 3, 18))
        yy = _label(sheet, f"{name} {value}", (x0, yy), 22) + 6
    yy = _label(sheet, "Radii · elevation", (x0, yy + 10), 28, bold=True) + 10
    for i, (name, value) in enumerate(tokens.RADIUS.items()):
        elevation = tokens.ELEVATION[min(i, 2)]
        shadow = pygame.Surface((120, 80), pygame.SRCALPHA)
        pygame.draw.rect(shadow, (0, 0, 0, elevation.alpha), shadow.get_rect(), border_radius=value)
        sheet.blit(shadow, (x0 + i * 150, yy + elevation.offset))
        pygame.draw.rect(sheet, theme.SECONDARY, (x0 + i * 150, yy, 120, 80), border_radius=value)
        pygame.draw.rect(sheet, theme.SECONDARY_EDGE, (x0 + i * 150, yy, 120, 80), width=2, border_radius=value)
        _label(sheet, f"r{value} e{min(i, 2)}", (x0 + i * 150 + 10, yy + 26), 22)
    yy += 110
    yy = _label(sheet, "Motion (ms)", (x0, yy), 28, bold=True) + 10
    for name, value in tokens.MOTION.items():
        yy = _label(sheet, f"{name}: {value}", (x0, yy), 22) + 4
    return sheet


def icons_sheet() -> pygame.Surface:
    """Every icon of config/icons.toml with what it stands for."""
    # lazy: the icon set is only read when this sheet is drawn
    from screens import icons
    groups = icons.icon_map()
    cols, cell_w, cell_h = 8, 200, 150
    rows = sum(-(-len(table) // cols) + 1 for table in groups.values())
    sheet = pygame.Surface((cols * cell_w + 80, rows * cell_h + 120))
    sheet.fill(theme.BACKGROUND)
    _label(sheet, "Icons (config/icons.toml; Lucide, ISC, via python-lucide)", (40, 30), 40, bold=True)
    y = 100
    for group, table in groups.items():
        _label(sheet, group, (40, y + 40), 30, bold=True)
        y += cell_h // 2 + 40
        for i, (key, name) in enumerate(table.items()):
            x, yy = 40 + (i % cols) * cell_w, y + (i // cols) * cell_h
            icons.draw(sheet, name, (x + cell_w // 2, yy + 40), 72, theme.ICON)
            _label(sheet, key, (x + 10, yy + 84), 22)
            _label(sheet, name, (x + 10, yy + 110), 18, colour=theme.MUTED)
        y += -(-len(table) // cols) * cell_h
    return sheet.subsurface((0, 0, sheet.get_width(), min(sheet.get_height(), y + 20))).copy()


def guidance_sheet() -> pygame.Surface:
    """Each device's guidance at four moments of its loop (the last column is the still key frame)."""
    # lazy: the guidance and messages are only read when this sheet is drawn
    from screens import guidance
    from screens.i18n import messages
    from screens.widgets import Canvas

    table = messages()

    def t(key: str, **values: object) -> str:
        return table.text("zh_CN", key, **values)

    loop = tokens.MOTION["guidance"]
    moments = [0, loop * 25 // 100, loop * 50 // 100, None]
    cell_w, cell_h = 540, 290
    sheet = pygame.Surface((cell_w * len(moments) + 40, cell_h * len(guidance.DEVICES) + 100))
    sheet.fill(theme.BACKGROUND)
    _label(sheet, "Device guidance (screens/guidance.py): 0, ¼, ½ of the loop, and the still frame", (40, 30), 36,
           bold=True)
    for row, device in enumerate(guidance.DEVICES):
        for col, moment in enumerate(moments):
            frame = pygame.Surface((1080, 560))
            canvas = Canvas(frame)
            canvas.fill()
            canvas.anim_ms = moment
            guidance.draw(canvas, t, device, 20, 420)
            sheet.blit(pygame.transform.smoothscale(frame, (cell_w - 20, cell_h - 10)),
                       (20 + col * cell_w, 90 + row * cell_h))
    return sheet


SHEETS: dict[str, Sheet] = {"tokens": tokens_sheet, "icons": icons_sheet, "guidance": guidance_sheet}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/design")
    args = parser.parse_args(argv)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    pygame.display.init()
    pygame.font.init()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, sheet in SHEETS.items():
        path = out / f"{name}.png"
        pygame.image.save(sheet(), str(path))
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
