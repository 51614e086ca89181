"""Icons: Lucide SVGs (python-lucide, MIT; the icons ISC) rasterised once per name, size and colour.

Which icon stands for what is data (config/icons.toml). pygame-ce renders an SVG at the asked pixel size
(``pygame.image.load_sized_svg``), so an icon is crisp at any scale; each (name, px, colour) is
rasterised once (≈ 1–6 ms) and kept, a few dozen small surfaces in all. An icon is never the only carrier of
meaning: :func:`draw` is always called next to a text label.
"""

from __future__ import annotations

import io
import tomllib
from functools import cache, lru_cache
from importlib import resources

import lucide
import pygame

Colour = tuple[int, int, int]
GROUPS = ("departments", "themes", "bundles", "kinds", "actions", "status")


@cache
def icon_map() -> dict[str, dict[str, str]]:
    """config/icons.toml: group → key → Lucide icon name."""
    text = resources.files("config").joinpath("icons.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {group: dict(data.get(group, {})) for group in GROUPS}


def name_for(group: str, key: str) -> str | None:
    """The icon name for a department / theme / bundle / kind / action / status, or None."""
    return icon_map().get(group, {}).get(key)


def for_target(target: str) -> str | None:
    """The icon for a touch target: ``dept:<code>``, ``theme:<code>``, ``bundle:<code>``, ``item:<code>``
    (its department, the code's prefix) or an action's name."""
    kind, _, code = target.partition(":")
    if kind == "dept":
        return name_for("departments", code)
    if kind == "theme":
        return name_for("themes", code)
    if kind == "bundle":
        return name_for("bundles", code)
    if kind == "item":
        return name_for("departments", code.split("-", 1)[0])
    return name_for("actions", target)


def exists(name: str) -> bool:
    """Whether the installed set has an icon of that name."""
    return name in _names()


@cache
def _names() -> frozenset[str]:
    return frozenset(lucide.get_icon_list())


@lru_cache(maxsize=256)
def surface(name: str, px: int, colour: Colour, stroke: float = 2.0) -> pygame.Surface:
    """The icon ``name`` as a ``px`` × ``px`` surface with alpha, drawn in ``colour``."""
    svg = lucide.lucide_icon(name, stroke="#{:02x}{:02x}{:02x}".format(*colour), stroke_width=stroke)
    return pygame.image.load_sized_svg(io.BytesIO(svg.encode("utf-8")), (px, px))


def draw(target: pygame.Surface, name: str | None, centre: tuple[int, int], px: int, colour: Colour) -> pygame.Rect:
    """Blit icon ``name`` centred on ``centre`` (device px); nothing for None. Returns where it went."""
    if not name or px <= 0:
        return pygame.Rect(centre, (0, 0))
    img = surface(name, px, colour)
    rect = img.get_rect(center=centre)
    target.blit(img, rect)
    return rect
