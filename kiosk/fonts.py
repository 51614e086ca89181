"""The UI and receipt font: Noto Sans SC as bundled with pygame_gui, so no system font is needed."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path


@cache
def cjk_font_path(bold: bool = False) -> Path:
    """Path of the bundled Noto Sans SC font (regular or bold)."""
    name = "NotoSansSC-Bold.otf" if bold else "NotoSansSC-Regular.otf"
    path = Path(str(resources.files("pygame_gui").joinpath("data", name)))
    if not path.exists():
        raise FileNotFoundError(f"{name} missing from pygame_gui's data folder; reinstall pygame_gui")
    return path
