"""`kiosk demo`: the scripted resident journey through the real flow, simulators and gateway."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pygame

from devices.id_card.identity import sample_cards


def test_demo_journey_prints_delivers_rates_and_forgets(tmp_path: Path):
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "kiosk", "demo", "--out", str(out)], capture_output=True,
                            text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "SDL_VIDEODRIVER": "dummy",
                                                         "SDL_AUDIODRIVER": "dummy", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["receipt_no"].startswith("HC-DEMO-001-")
    assert summary["platform_holds_receipt"] and summary["delivered"] and summary["printed"]
    assert summary["session_wiped"]
    assert summary["touches"] <= 4  # TARGETS P10
    screens = [name.split("-", 1)[1].removesuffix(".png") for name in summary["screens"]]
    assert screens[0] == "attract" and screens[-1] == "thanks"
    assert {"home", "confirm", "printing", "done"} <= set(screens)
    for name in summary["screens"]:
        image = pygame.image.load(str(out / name))
        assert image.get_size() == (1080, 1920)
        colours = {image.get_at((x, y))[:3] for x in range(0, 1080, 12) for y in range(0, 1920, 12)}
        assert len(colours) > 5, f"{name} looks blank"
    receipt = pygame.image.load(str(out / "receipt.png"))
    assert receipt.get_width() == 576
    # Nothing the resident's card holds in full ends up in the logs or the summary.
    card = sample_cards()[0]
    for text in (result.stdout, result.stderr, (out / "summary.json").read_text(encoding="utf-8")):
        assert card.id_number not in text and card.name not in text
