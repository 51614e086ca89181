"""The icon map (config/icons.toml): every department, theme, 一件事 bundle and item kind of the packaged
catalog has an icon, every name exists in the installed icon set, and an icon renders at any size."""

from __future__ import annotations

import typing

import pygame
import pytest

from kiosk.catalog.loading import Catalog
from kiosk.catalog.model import Kind
from screens import icons

ACTIONS = ("back", "home", "help", "print", "scan", "camera", "card", "language", "speech_on", "speech_off",
           "elder", "social_security_card", "app_qr")


def test_everything_the_catalog_names_has_an_icon_that_exists():
    catalog = Catalog.load()
    wanted = [("departments", code) for code in {item.department_code for item in catalog.items}]
    wanted += [("themes", theme.code) for theme in catalog.themes.values()]
    wanted += [("bundles", bundle.code) for bundle in catalog.bundles.values()]
    wanted += [("kinds", kind) for kind in typing.get_args(Kind)]
    wanted += [("actions", action) for action in ACTIONS]
    missing = [f"{group}.{key}" for group, key in wanted if icons.name_for(group, key) is None]
    assert not missing, f"no icon in config/icons.toml for {missing}"
    unknown = [f"{group}.{key} = {name}" for group, table in icons.icon_map().items()
               for key, name in table.items() if not icons.exists(name)]
    assert not unknown, f"not in the installed icon set: {unknown}"


@pytest.mark.parametrize("px", [24, 96, 200])
def test_an_icon_renders_crisply_at_the_size_asked(surface, px):
    img = icons.surface("printer", px, (0, 82, 155))
    assert img.get_size() == (px, px)
    # Drawn, in the colour asked: some pixels are opaque and of that colour, the corners are transparent.
    opaque = [img.get_at((x, y)) for x in range(px) for y in range(px) if img.get_at((x, y)).a == 255]
    assert opaque and all(max(abs(a - b) for a, b in zip(p[:3], (0, 82, 155), strict=True)) <= 3 for p in opaque)
    assert img.get_at((0, 0)).a == 0
    assert icons.surface("printer", px, (0, 82, 155)) is img  # rasterised once


def test_an_item_gets_its_departments_icon():
    assert icons.for_target("item:rs-cbzm") == icons.name_for("departments", "rs")
    assert icons.for_target("bundle:birth") == "baby"
    assert pygame.Rect(0, 0, 0, 0).size == icons.draw(pygame.Surface((10, 10)), None, (5, 5), 8, (0, 0, 0)).size
