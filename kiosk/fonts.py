"""The UI and receipt font: Noto Sans SC as bundled with pygame_gui, so no system font is needed."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path


@cache
def cjk_font_path(bold: bool = False) -> Path:
    """Path of the bundled Noto Sans SC font (regular or bold)."""
    name = "NotoSansSC-Bold.otf" if bold else "NotoSansSC-Regular.otf"
    # find_spec locates the package without importing it (importing pygame prints a banner).
    spec = importlib.util.find_spec("pygame_gui")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("pygame_gui is not installed; it carries the Noto Sans SC font")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    if not path.exists():
        raise FileNotFoundError(f"{name} missing from pygame_gui's data folder; reinstall pygame_gui")
    return path
