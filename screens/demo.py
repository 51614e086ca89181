"""``kiosk demo``: scripted resident journeys, headless, through the real flow, simulators and
gateway, saving each screen shown as ``NN-<screen>.png``, the receipt as ``receipt.png`` and a
``summary.json``.

The default journey: a resident lays an ID card on the reader at the attract screen, picks
社保参保缴费证明打印, agrees to the face check (同意并打印: the consent also confirms, the simulated
face camera sees a blinking face and the platform verifies it against the card), takes the printed
certificate, rates the service 非常满意, and the kiosk forgets them. ``journey="all"`` also plays every journey in ``screens/demo_journeys.py``
(one per item kind, offline apply, printer out, timeout, elder mode, 繁體, English, progress lookup by
scanning a receipt, app-QR sign-in, a pulled social security card), each into its
own subfolder with its own ``summary.json``; ``card_pulled`` needs the simulated social security
card reader (a private pcscd: root, pcscd, vsmartcard-vpcd) and is reported as skipped, with what is
missing, where that cannot run.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pygame
import requests

from kiosk.settings import Settings, load_settings
from local_api.client import GatewayClient
from screens.app import KioskApp
from screens.demo_journeys import DEMO_ITEM, FAKE_CLOCK, JOURNEYS, NEEDS_SSC, OFFLINE
from screens.visual import language_problems

__all__ = ["DEMO_ITEM", "JourneyError", "JourneySkipped", "ScriptedResident", "main", "run_demo", "run_journey"]


class JourneyError(RuntimeError):
    """The scripted journey did not reach a screen it expected."""


class JourneySkipped(JourneyError):
    """The journey cannot run on this machine (e.g. no private pcscd for the social security card)."""


class DemoClock:
    """Real monotonic time plus jumps the script asks for (the timeout journey skips the waiting)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


class CardWatch(logging.Handler):
    """Counts the ID reader's "card removed" log lines, so a script lays the next card only after the
    reader noticed the last one go (the reader's idea of presence is its own; it is not asked).
    ``quiet`` keeps those lines out of the output (thousands in a soak); :meth:`close` undoes it."""

    LOGGER = "devices.id_card.polling"

    def __init__(self, *, quiet: bool = False) -> None:
        super().__init__(logging.INFO)
        self.removed = 0
        logger = logging.getLogger(self.LOGGER)
        self._saved = logger.level, logger.propagate
        if not logger.isEnabledFor(logging.INFO):
            logger.setLevel(logging.INFO)
        if quiet:
            logger.propagate = False
        logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        if "card removed" in record.getMessage():
            self.removed += 1

    def close(self) -> None:
        logger = logging.getLogger(self.LOGGER)
        logger.removeHandler(self)
        logger.level, logger.propagate = self._saved
        super().close()


class ScriptedResident:
    """Drives a :class:`KioskApp` the way a person would: touches at widget positions."""

    def __init__(self, app: KioskApp, clock: DemoClock | None = None,
                 save: Callable[[str], None] | None = None) -> None:
        self.app = app
        self.clock = clock
        self._save = save
        self.touches = 0

    def wait_until(self, ok: Callable[[], Any], what: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not ok():
            if time.monotonic() > deadline:
                raise JourneyError(f"waited for {what}; on {self.app.flow.screen.value!r}")
            self.app.step()
            time.sleep(0.01)

    def wait_for(self, screen: str, timeout_s: float = 30.0) -> None:
        self.wait_until(lambda: self.app.flow.screen.value == screen, f"the {screen!r} screen", timeout_s)

    def touch(self, target: str) -> None:
        """Press and release on the target's centre, as a finger does (no faster than a person reads:
        the app takes a tap within DOUBLE_TAP_S of a new screen as part of the last one)."""
        self.app.step()  # the first frame is drawn on the first step
        self.wait_until(self.app.ready_for_tap, "the screen to settle", 5)
        self._page_to(target)
        self.app.press_and_release(target)
        self.touches += 1
        self.app.step()

    def _page_to(self, target: str) -> None:
        """Turn the screen's pages (下一页, then from the first) until ``target`` is drawn, as a resident
        looks for a field or an entry further down; nothing when it is drawn or nothing pages."""
        def drawn() -> set[str]:
            return {b.target for b in self.app.renderer.buttons}

        for turn in ("page:next", "page:prev", "page:next"):
            while target not in drawn() and turn in drawn():
                self.app.touch(self.app.renderer.target_centre(turn))
            if target in drawn():
                return

    def press(self, key: int) -> None:
        """Press and release a key of the keypad (audio mode), as a USB HID keyboard sends it."""
        self.app.step()
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
        pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key, mod=0, unicode="", scancode=0))
        self.touches += 1
        self.app.step()

    def touch_if_shown(self, target: str) -> None:
        if any(b.target == target for b in self.app.renderer.buttons):
            self.touch(target)

    def type_text(self, text: str) -> None:
        """What the on-screen keyboard hands the flow after the resident typed ``text`` (the script
        skips picking pinyin candidates one by one; tests/screens type key by key)."""
        self.app.keyboard_typed(text)
        self.app.step()

    def advance(self, seconds: float) -> None:
        if self.clock is None:
            raise JourneyError("this journey needs the demo clock")
        self.clock.offset += seconds
        self.app.step()

    def save(self, name: str) -> None:
        if self._save is not None:
            self._save(name)


def demo_settings(settings: Settings, data_dir: str, platform_url: str) -> Settings:
    """The given settings with simulators, a throw-away data folder and the demo's platform."""
    return settings.model_copy(update={
        "devices": settings.devices.model_copy(update={"id_reader": "sim://id-reader", "printer": "sim://printer"}),
        "gateway": settings.gateway.model_copy(update={"port": 0, "data_dir": data_dir}),
        "platform": settings.platform.model_copy(update={"url": platform_url}),
    })


def run_journey(settings: Settings, out: Path, name: str = "print") -> dict[str, Any]:
    """Play one journey into ``out``; returns (and writes) its summary. Raises :class:`JourneySkipped`
    when the journey needs something this machine lacks (saying what and how to get it)."""
    if name in NEEDS_SSC:
        # lazy: only the social security card journeys need pcscd's helpers
        from devices.smartcard.pcscd_env import missing_prerequisites

        problems = missing_prerequisites()
        if problems:
            raise JourneySkipped(f"journey {name!r} needs the simulated social security card reader "
                                 f"(a private pcscd), which cannot run here: {'; '.join(problems)}")
        settings = settings.model_copy(update={
            "devices": settings.devices.model_copy(update={"ssc_reader": "sim://ssc-reader"})})
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("[0-9][0-9]-*.png"):
        old.unlink()
    shots: list[str] = []
    app_ref: list[KioskApp] = []

    off_language: dict[str, list[str]] = {}  # screenshot → what it drew off the visual language

    def save(label: str) -> None:
        shot = f"{len(shots) + 1:02d}-{label}.png"
        app_ref[0].display.save(str(out / shot))
        shots.append(shot)
        found = language_problems(app_ref[0].renderer.canvas)
        if found:
            off_language[shot] = found

    def save_frame(screen: str, app: KioskApp) -> None:
        app_ref[:1] = [app]
        save(screen)

    clock = DemoClock()
    started = time.monotonic()
    delivered: dict[str, Any] = {}
    # lazy: the gateway and the platform simulator (Flask, waitress) only where a journey is played, so a
    # driver that borrows ScriptedResident (bench P9) keeps them out of the process it measures
    from local_api.server import start_gateway, start_platform_sim

    with tempfile.TemporaryDirectory(prefix="kiosk-demo-") as data_dir:
        platform = start_platform_sim("127.0.0.1", 0, settings.platform.secret)
        try:
            # Offline: the gateway points at a port where nothing answers.
            url = "http://127.0.0.1:9" if name in OFFLINE else platform.url
            s = demo_settings(settings, data_dir, url)
            gateway = start_gateway(s)
            try:
                app = KioskApp(s, gateway_url=gateway.url, headless=True, on_frame=save_frame,
                               clock=clock if name in FAKE_CLOCK else time.monotonic)
                app_ref[:1] = [app]
                app.speaker.transcript = []  # what was announced, written beside the screenshots
                try:
                    resident = ScriptedResident(app, clock, save)
                    seen = JOURNEYS[name](resident)
                    duration = time.monotonic() - started
                    wiped = app.flow.session is None or app.flow.screen.value == "thanks"
                    sim = app.terminal.hardware.printer_simulator
                    if sim is not None and sim.jobs():
                        (out / "receipt.png").write_bytes(sim.render_png(None))
                    write_transcript(out / "transcript.txt", app.speaker.transcript or [], started)
                finally:
                    app.close()
                receipt_no = str(seen.get("receipt_no") or "")
                if receipt_no and name not in OFFLINE and receipt_no.startswith("HC-"):
                    delivered = GatewayClient.for_settings(s, gateway.url).wait_delivered(receipt_no, timeout_s=15)
            finally:
                gateway.close()
            received = platform_received(platform.url, receipt_no) if delivered else None
            held = received is not None
        finally:
            platform.close()

    summary = {
        "journey": name,
        "screens": shots,
        "visual_language_problems": off_language,
        "touches": resident.touches,
        "duration_s": round(duration, 2),
        "receipt_no": receipt_no,
        "printed": bool(seen.get("printed")),
        "delivered": delivered.get("state") == "delivered",
        "platform_holds_receipt": held,
        "platform_received": received,
        "session_wiped": wiped,
        "receipt_png": "receipt.png" if (out / "receipt.png").exists() else None,
        "transcript": "transcript.txt",
        "seen": {k: v for k, v in seen.items() if k not in ("receipt_no", "printed")},
    }
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


def write_transcript(path: Path, said: list[Any], started: float) -> None:
    """The announcements, one a line: seconds since the start, language, text (``Speaker.transcript``)."""
    path.write_text("".join(f"{s.at - started:7.2f}  {s.language:5}  {s.text}\n" for s in said), encoding="utf-8")


def run_demo(settings: Settings, out: Path, journey: str | None = None) -> dict[str, Any]:
    """The default journey into ``out``; with ``journey="all"`` every journey too, each in ``out/<name>/``;
    with a journey's name only that one, in ``out``. Returns the (default or named) journey's summary,
    with ``journeys`` listing each extra one's outcome."""
    if journey not in (None, "all"):
        return run_journey(settings, out, journey)
    summary = run_journey(settings, out, "print")
    if journey == "all":
        outcomes: dict[str, Any] = {}
        for name in JOURNEYS:
            if name == "print":
                continue
            try:
                extra = run_journey(settings, out / name, name)
                outcomes[name] = {"ok": True, "screens": len(extra["screens"]), "touches": extra["touches"]}
            except JourneySkipped as exc:
                outcomes[name] = {"ok": False, "skipped": True, "error": str(exc)}
            except (JourneyError, LookupError) as exc:
                outcomes[name] = {"ok": False, "error": str(exc)}
        summary["journeys"] = outcomes
        (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


def platform_received(platform_url: str, receipt_no: str) -> dict[str, Any] | None:
    """What the platform simulator received under ``receipt_no`` (None: nothing): the kind, item code,
    number of material pages and the names of the form's fields — no personal values."""
    listing = requests.get(f"{platform_url}/admin/applications", timeout=5).json()
    for entry in listing.get("applications", []):
        if entry.get("receipt_no") == receipt_no:
            return {"kind": entry["kind"], "item_code": entry["item_code"], "materials": entry["materials"],
                    "fields": entry["fields"], "deliveries": entry["deliveries"]}
    return None


def main(argv: list[str] | None = None) -> int:
    """``python -m screens.demo --out DIR [--journey NAME|all]`` (until ``kiosk demo`` takes --journey)."""
    parser = argparse.ArgumentParser(prog="python -m screens.demo")
    parser.add_argument("--out", required=True)
    parser.add_argument("--journey", default=None, choices=[*JOURNEYS, "all"])
    parser.add_argument("--config", default=None)
    args = parser.parse_args(argv)
    try:
        summary = run_demo(load_settings(args.config), Path(args.out), args.journey)
    except JourneySkipped as exc:
        print(f"kiosk demo: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    for name, outcome in summary.get("journeys", {}).items():
        if outcome.get("skipped"):
            print(f"kiosk demo: skipped {name}: {outcome['error']}", file=sys.stderr)
    failed = [n for n, o in summary.get("journeys", {}).items() if not o["ok"] and not o.get("skipped")]
    return 1 if failed or not summary.get("screens") else 0


if __name__ == "__main__":
    raise SystemExit(main())
