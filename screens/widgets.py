"""Drawing helpers and the touch targets screens return. Drawing never changes state."""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from screens import theme


@dataclass(frozen=True)
class Button:
    """A touch target: where it is and which intent a touch on it means."""

    rect: pygame.Rect
    target: str


# Chinese line-breaking rule (禁则): these never start a line.
NO_LINE_START = set("，。、；：！？）》」』”’〉】…,.;:!?)")


def wrap(text: str, fnt: pygame.font.Font, width: int) -> list[str]:
    """Break ``text`` into lines no wider than ``width``; CJK text breaks between any characters,
    except before closing punctuation, which stays on the line it closes."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        tokens = paragraph.split(" ") if paragraph.isascii() else list(paragraph)
        sep = " " if paragraph.isascii() else ""
        for token in tokens:
            candidate = f"{line}{sep}{token}" if line else token
            if fnt.size(candidate)[0] <= width or not line or token in NO_LINE_START:
                line = candidate
            else:
                lines.append(line)
                line = token
        lines.append(line)
    return lines


class Canvas:
    """A surface plus the scale, so screens lay out in 1080-px design units."""

    def __init__(self, surface: pygame.Surface) -> None:
        self.surface = surface
        self.width, self.height = surface.get_size()
        self.scale = self.width / theme.BASE_WIDTH

    def px(self, value: float) -> int:
        return int(round(value * self.scale))

    def fill(self, colour: tuple[int, ...] = theme.BACKGROUND) -> None:
        self.surface.fill(colour)

    def text(self, text: str, y: float, size: int, *, colour: tuple[int, int, int] = theme.TEXT,
             bold: bool = False, x: float | None = None, width: float | None = None) -> int:
        """Draw wrapped text, centred unless ``x`` is given; returns the y below it (design units)."""
        fnt = theme.font(self.px(size), bold)
        max_w = self.px(width if width is not None else theme.BASE_WIDTH - 120)
        top = self.px(y)
        for line in wrap(text, fnt, max_w):
            img = fnt.render(line, True, colour)
            left = self.px(x) if x is not None else (self.width - img.get_width()) // 2
            self.surface.blit(img, (left, top))
            top += int(fnt.get_linesize() * 1.15)
        return int(round(top / self.scale))

    def header(self, title: str) -> None:
        pygame.draw.rect(self.surface, theme.HEADER, (0, 0, self.width, self.px(160)))
        self.text(title, 45, 52, colour=theme.HEADER_TEXT, bold=True)

    def button(self, label: str, target: str, rect: tuple[float, float, float, float], *,
               primary: bool = True, size: int = 44) -> Button:
        x, y, w, h = (self.px(v) for v in rect)
        area = pygame.Rect(x, y, w, h)
        fill = theme.PRIMARY if primary else theme.SECONDARY
        ink = theme.PRIMARY_TEXT if primary else theme.SECONDARY_TEXT
        pygame.draw.rect(self.surface, fill, area, border_radius=self.px(18))
        # Shrink the label until every line fits: a long word must never spill out of its button.
        for step in range(size, int(size * 0.6), -2):
            fnt = theme.font(self.px(step), True)
            lines = wrap(label, fnt, w - self.px(20))
            if max(fnt.size(line)[0] for line in lines) <= w - self.px(12):
                break
        line_h = fnt.get_linesize()
        top = area.centery - line_h * len(lines) // 2
        for line in lines:
            img = fnt.render(line, True, ink)
            self.surface.blit(img, (area.centerx - img.get_width() // 2, top))
            top += line_h
        return Button(area, target)

    def panel(self, rect: tuple[float, float, float, float]) -> None:
        x, y, w, h = (self.px(v) for v in rect)
        pygame.draw.rect(self.surface, theme.CARD, (x, y, w, h), border_radius=self.px(20))
