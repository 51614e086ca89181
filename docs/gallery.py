"""Refresh the README's gallery (docs/screenshots/) from a `kiosk demo --journey all` run.

    SDL_VIDEODRIVER=dummy .venv/bin/python -m kiosk demo --journey all --out /tmp/gallery
    SDL_VIDEODRIVER=dummy .venv/bin/python docs/gallery.py /tmp/gallery

Each gallery picture is one screen of one journey (named below), or a strip of several scaled side by
side on the page colour; a shot the run did not make is reported, not silently kept from before.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # after the SDL settings above

SHOTS = Path(__file__).resolve().parent / "screenshots"
SINGLE = {  # gallery name → the journey's screenshot
    "attract.png": "print/01-attract.png",
    "home-zh_CN.png": "print/02-home.png",
    "home-elder-mode.png": "elder/02-home.png",
    "home-en.png": "en/02-home.png",
    "home-zh_TW.png": "zh_TW/02-home.png",
    "search-pinyin-keyboard.png": "apply/04-search-typed.png",
    "apply-form-prefilled-from-card.png": "apply/08-form.png",
    "apply-materials-document-camera.png": "apply/10-materials-taken.png",
    "apply-review-platform-offline.png": "offline_apply/10-review-offline.png",
    "certification-face-consent-with-alternatives.png": "certification/06-consent.png",
    "list-printer-out-marked-unavailable.png": "printer_out/03-list.png",
    "appointment-slots.png": "appointment/07-slots.png",
    "payment-qr.png": "payment/12-payment-qr.png",
    "query-result.png": "query/08-result.png",
    "card-prompt-device-guidance.png": "app_qr/03-card_prompt.png",
    "printing-device-guidance.png": "print/05-printing.png",
    "timeout-warning.png": "timeout/03-warning.png",
    "bundle-birth-result.png": "bundle_birth/15-bundle-result.png",
}
STRIPS = {  # gallery name → (the screens side by side, each one's height in the strip)
    "demo.png": (["print/02-home.png", "print/03-consent.png", "print/06-done.png", "print/receipt.png"], 640),
    "progress-signin-card-pulled.png": (["progress/09-scan.png", "progress/13-progress_result.png",
                                         "app_qr/05-signin-expired.png", "card_pulled/09-card-pulled.png"], 600),
}
PAGE = (214, 222, 232)
GAP = 20


def source(run: Path, name: str) -> Path:
    """A journey's shot; the print journey's are at the top of an `--journey all` run."""
    journey, _, shot = name.partition("/")
    return run / shot if journey == "print" and not (run / journey).exists() else run / name


def strip(paths: list[Path], height: int) -> pygame.Surface:
    images = [pygame.image.load(str(p)).convert(24) for p in paths]
    scaled = [pygame.transform.smoothscale(i, (round(i.get_width() * height / i.get_height()), height))
              for i in images]
    out = pygame.Surface((sum(s.get_width() for s in scaled) + GAP * (len(scaled) + 1), height + 2 * GAP))
    out.fill(PAGE)
    x = GAP
    for s in scaled:
        out.blit(s, (x, GAP))
        x += s.get_width() + GAP
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    run = Path(argv[0])
    missing = [n for n in [*SINGLE.values(), *(p for ps, _ in STRIPS.values() for p in ps)]
               if not source(run, n).exists()]
    if missing:
        print(f"gallery: not in {run}: {', '.join(missing)} (run `kiosk demo --journey all --out {run}` first)",
              file=sys.stderr)
        return 1
    for name, shot in SINGLE.items():
        pygame.image.save(pygame.image.load(str(source(run, shot))), str(SHOTS / name))
    for name, (shots, height) in STRIPS.items():
        pygame.image.save(strip([source(run, s) for s in shots], height), str(SHOTS / name))
    print(f"gallery: {len(SINGLE) + len(STRIPS)} pictures written to {SHOTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
