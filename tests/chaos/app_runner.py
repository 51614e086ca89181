"""A child process for the app kill -9 chaos test: the real kiosk app, headless, with the simulated
ID card reader and printer, walking one apply journey after another until it is killed.

    python tests/chaos/app_runner.py --gateway-url URL --journal FILE --tag T [--journeys N]

Each journey types a fresh token (no personal data) into the application's free-text field, so
the platform's copy can be matched to the journey that made it. The journal (one JSON object a
line, flushed and fsync'd before the next touch, because this process dies by SIGKILL) says:

- ``{"event": "ready"}`` once the app is up;
- ``{"event": "typed", "token": T}`` before the submit touch: this token may now reach the platform;
- ``{"event": "receipt", "token": T, "receipt": R}`` when the done screen shows receipt ``R``
  (the gateway answered: it must be delivered exactly once);
- ``{"event": "failed", "token": T, "screen": S, "why": W}`` when a journey could not finish
  (the gateway was being killed): the process exits 3 and its owner starts a new one.

Not a test module (no ``test_`` prefix): tests/chaos/test_chaos_app_kill.py starts it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import IO, Any

ITEM = "zh-bbcs"  # an apply item with an ID card, a form, no materials and no face check: a short journey
TOKEN_FIELD = "matter"  # its required free-text field
MOBILE = "13950000000"
WAIT_S = 60.0  # generous: two cores shared by several test runs


class Journal:
    """Appends one fsync'd JSON line per event (the process may be killed at any instant)."""

    def __init__(self, path: Path) -> None:
        self._file: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115 -- closed in close()

    def write(self, **event: Any) -> None:
        self._file.write(json.dumps(event, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


class Resident:
    """Drives the app through touches; the app's clock can be moved on so notices and the
    double-tap guard pass without real waiting (like tests/soak/test_sessions_soak.py)."""

    def __init__(self, app: Any, clock: Any) -> None:
        from screens.demo import ScriptedResident

        self.app = app
        self.clock = clock
        self.r = ScriptedResident(app, clock)

    def tap(self, target: str) -> None:
        self.clock.offset += 0.4  # past DOUBLE_TAP_S, as a resident who read the screen
        self.r.touch(target)

    def wait_for(self, screen: str) -> None:
        self.r.wait_for(screen, WAIT_S)

    def to_attract(self) -> None:
        def later() -> bool:
            if self.app.flow.screen.value == "attract" and not self.app.terminal.sample_card_on_pad:
                return True
            self.clock.offset += 1.0  # thanks notices and the card on the pad run out on the app's clock
            return False
        self.r.wait_until(later, "back to attract", WAIT_S)

    def apply(self, token: str, journal: Journal) -> str:
        """One application from the attract screen; returns the receipt number shown."""
        from screens.demo_journeys import find

        app = self.app
        self.to_attract()
        app.insert_sample_card(0)
        self.r.wait_until(lambda: app.flow.session is not None and app.flow.session.identity is not None,
                          "the ID card to be read", WAIT_S)
        self.wait_for("home")
        item = next(i for i in app.flow.catalog.items if i.code == ITEM)
        find(self.r, item)
        self.tap("begin")
        self.wait_for("form")
        for key, text in (("mobile", MOBILE), (TOKEN_FIELD, token)):
            self.tap(f"field:{key}")
            self.r.type_text(text)
            self.r.touch_if_shown("kb:done")
        self.tap("next")
        self.r.wait_until(lambda: app.flow.screen.value in ("materials", "review"), "materials or review", WAIT_S)
        if app.flow.screen.value == "materials":
            self.tap("next")
        self.wait_for("review")
        journal.write(event="typed", token=token)
        self.tap("submit")
        self.wait_for("done")
        receipt = str(app.flow.view().receipt_no or "")
        journal.write(event="receipt", token=token, receipt=receipt)
        self.tap("rate:1")
        self.wait_for("thanks")
        return receipt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway-url", required=True)
    parser.add_argument("--journal", required=True, type=Path)
    parser.add_argument("--tag", required=True, help="prefix of this process's tokens (unique per start)")
    parser.add_argument("--journeys", type=int, default=0, help="stop after this many (0: until killed)")
    args = parser.parse_args(argv)

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from kiosk.settings import load_settings
    from screens.app import KioskApp
    from screens.demo import DemoClock, JourneyError

    base = load_settings(None)
    settings = base.model_copy(update={"devices": base.devices.model_copy(
        update={"id_reader": "sim://id-reader", "printer": "sim://printer", "ssc_reader": "none"})})
    journal = Journal(args.journal)
    clock = DemoClock()
    app = KioskApp(settings, gateway_url=args.gateway_url, headless=True, clock=clock)
    token = ""
    try:
        journal.write(event="ready", pid=os.getpid())
        resident = Resident(app, clock)
        n = 0
        while not args.journeys or n < args.journeys:
            token = f"{args.tag}n{n:03d}"
            try:
                resident.apply(token, journal)
            except JourneyError as exc:
                journal.write(event="failed", token=token, screen=app.flow.screen.value, why=str(exc))
                return 3
            n += 1
        journal.write(event="finished", journeys=n)
        return 0
    finally:
        app.close()
        journal.close()


if __name__ == "__main__":
    sys.exit(main())
