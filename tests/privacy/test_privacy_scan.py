"""S1 and S2: after scripted sessions with known TEST identities, nothing personal is left behind.

Real stack: the platform simulator and the gateway on 127.0.0.1, the kiosk app headless with the
simulated ID card reader and printer, driven by :class:`screens.demo.ScriptedResident`.

S1 — after the sessions, none of the identities' ID numbers, names or photo bytes appears in clear
in: every file of the gateway's data folder (database, WAL, shared memory, key, tokens — nothing is
excluded: the key and token files hold random bytes and salted hashes, so scanning them costs
nothing and would catch a regression that wrote there), every file created under the test's private
TMPDIR, and every log record at DEBUG from every logger and thread (message and extras). And the
outbox keeps nothing once the platform has acknowledged and the (tiny) retention has passed.

S2 — a session ended by completion (rating), by pulling the card and by the idle timeout leaves no
identity in the flow's session, in the view the screens are drawn from, in the text drawn on the
canvas (every string handed to the canvas during and after the session), or in any IdentityCard
still alive in the process.

Names and numbers are searched in every encoding they could be written in: UTF-8, GB18030 (the
printer's), UTF-16-LE (the SAM text block's) and JSON's \\u escapes.
"""

from __future__ import annotations

import gc
import json
import logging
import sqlite3
import tempfile
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devices.id_card.identity import IdentityCard, sample_cards
from kiosk.settings import load_settings
from local_api.server import start_gateway, start_platform_sim
from screens import widgets
from screens.app import KioskApp
from screens.demo import CardWatch, ScriptedResident, demo_settings
from screens.demo_journeys import past_notice

DEMO_ITEM = "rs-sbjfzm"  # 社保参保缴费证明打印, the P10 journey
CARDS = sample_cards()
WAIT_S = 60.0  # generous: the machine is shared


def needles(card: IdentityCard) -> dict[str, list[bytes]]:
    """What must never be found in clear, each in every encoding it could be written in."""
    out: dict[str, list[bytes]] = {}
    for label, text in (("id_number", card.id_number), ("name", card.name), ("address", card.address)):
        forms = {text.encode("utf-8"), text.encode("gb18030"), text.encode("utf-16-le"),
                 json.dumps(text).strip('"').encode("ascii")}
        out[f"{label} of {card.id_number[-4:]}"] = sorted(forms)
    out[f"photo of {card.id_number[-4:]}"] = [card.photo[i:i + 48] for i in (0, 400, 900)]
    return out


ALL_NEEDLES = {k: v for card in CARDS for k, v in needles(card).items()}


def found_in(data: bytes) -> list[str]:
    return [label for label, forms in ALL_NEEDLES.items() if any(f in data for f in forms)]


def scan_folder(folder: Path) -> dict[str, list[str]]:
    hits = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            found = found_in(path.read_bytes())
            if found:
                hits[str(path)] = found
    return hits


def live_cards() -> list[IdentityCard]:
    gc.collect()
    return [c for c in gc.get_objects() if isinstance(c, IdentityCard)]


def scan_text(text: str) -> list[str]:
    return found_in(text.encode("utf-8"))


class DrawnText:
    """Records every string handed to the canvas (titles, labels, rows): what the screen shows.

    Wraps the Canvas methods and calls through: it observes drawing, it does not replace it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.strings: list[str] = []
        for name, fn in list(vars(widgets.Canvas).items()):
            if callable(fn) and not name.startswith("_"):
                monkeypatch.setattr(widgets.Canvas, name, self._spy(fn))

    def _spy(self, fn: Any) -> Any:
        def spy(canvas: Any, *args: Any, **kwargs: Any) -> Any:
            self.strings += [a for a in (*args, *kwargs.values()) if isinstance(a, str)]
            return fn(canvas, *args, **kwargs)
        return spy

    def take(self) -> str:
        text, self.strings = "\n".join(self.strings), []
        return text


class Rig:
    """Platform simulator, gateway (tiny retention) and kiosk app with a shiftable clock."""

    def __init__(self, tmp: Path) -> None:
        base = load_settings(None, {})
        self.data_dir = tmp / "gateway-data"
        self.platform = start_platform_sim("127.0.0.1", 0, base.platform.secret)
        s = demo_settings(base, str(self.data_dir), self.platform.url)
        # retention 1 s; an expiry setting makes the forwarder's housekeeping (purge) run every 2 s
        # instead of hourly; 20 s leaves deliveries to the healthy simulator plenty of time.
        s = s.model_copy(update={"gateway": s.gateway.model_copy(update={
            "retention_s": 1.0, "expire_after_s": 20.0, "parked_retention_s": 1.0})})
        self.settings = s
        # The idle forwarder only wakes for its platform probe (30 s by default), so housekeeping
        # waits for it: probe every second here so the purge is seen within seconds.
        self.gateway = start_gateway(s, idle_probe_s=1.0)
        self.shift = 0.0  # seconds added to the app's monotonic clock (the idle timeout without waiting)
        self.app = KioskApp(s, gateway_url=self.gateway.url, headless=True,
                            clock=lambda: time.monotonic() + self.shift)
        self.resident = ScriptedResident(self.app)
        self.cards = CardWatch()
        self._removed_before = 0
        # Cards alive before the first session (this module's CARDS, other tests' in a full run) are
        # not the kiosk's: only cards created since are checked for wiping.
        self._before = {id(c): weakref.ref(c) for c in live_cards()}

    def close(self) -> None:
        self.cards.close()
        try:
            self.app.close()
        finally:
            try:
                self.gateway.close()
            finally:
                self.platform.close()

    def tap(self, target: str) -> None:
        """Touch like a resident who read the screen first: the app's clock moves on 0.4 s, so
        the app's double-tap guard is past without a real wait (thousands of sessions add up)."""
        self.shift += 0.4  # past the app's double-tap guard (DOUBLE_TAP_S), short of the card's 2 s
        self.resident.touch(target)

    def step_until(self, done: Any, what: str, timeout_s: float = WAIT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            assert time.monotonic() < deadline, f"{what}: still on {self.app.flow.screen.value!r}"
            self.app.step()
            time.sleep(0.01)

    def lay_card(self, card: int) -> None:
        """Lay a test card on the simulated reader at the attract screen."""
        self.to_attract()
        self._removed_before = self.cards.removed
        self.app.insert_sample_card(card)

    def take_card(self) -> None:
        """The resident takes the card back (if the simulator has not lifted it already); wait
        until the reader noticed, so the next card is not mistaken for this one still lying there."""
        sim = self.app.terminal.hardware.id_simulator
        assert sim is not None
        sim.remove()
        self.step_until(lambda: self.cards.removed > self._removed_before, "the reader noticing the card left")

    def to_attract(self) -> None:
        """Let the thanks or notice screen run out (the clock moved on, not waited for)."""
        def later() -> bool:
            if self.app.flow.screen.value == "attract":
                return True
            self.shift += 1.0
            return False
        self.step_until(later, "back to the attract screen")

    # -- the three ways a session ends (S2) --

    def open_item(self) -> None:
        """Touch the print item; the flow asks to confirm, or for consent to the face check first."""
        self.tap(f"item:{DEMO_ITEM}")
        self.step_until(lambda: self.app.flow.screen.value in ("confirm", "consent"), "confirm or consent")

    def agree(self) -> None:
        """同意并打印 / 确认: the one touch that starts the print (with the face check where asked)."""
        self.tap(self.app.flow.screen.value)  # the button's target is the screen's name: confirm, consent

    def complete(self, card: int) -> str:
        """Card at the attract screen, the print item, confirm, print, rate: the P10 journey."""
        r = self.resident
        self.lay_card(card)
        r.wait_for("home", WAIT_S)
        past_notice(r)  # the third card's holder is told what she was granted without applying
        self.open_item()
        self.agree()
        r.wait_for("done", WAIT_S)
        receipt_no = str(self.app.flow.view().receipt_no)
        self.tap("rate:1")
        r.wait_for("thanks", WAIT_S)
        self.step_until(lambda: self.app.flow.session is None, "session wiped after thanks")
        self.take_card()
        return receipt_no

    def pull_card(self, card: int) -> None:
        """The resident walks off with the card on the confirm screen (the simulator lifts it)."""
        r = self.resident
        self.lay_card(card)
        r.wait_for("home", WAIT_S)
        past_notice(r)  # the third card's holder is told what she was granted without applying
        self.open_item()

        def later() -> bool:  # the simulator lifts the card after a while on the app's clock
            self.shift += 0.5
            return self.app.flow.session is None
        self.step_until(later, "session ended by the card pull")
        self.take_card()

    def time_out(self, card: int) -> None:
        """The resident reads the card and leaves: the warning, then the timeout end the session."""
        r = self.resident
        self.lay_card(card)
        r.wait_for("home", WAIT_S)
        past_notice(r)  # the third card's holder is told what she was granted without applying
        k = self.settings.kiosk

        def later() -> bool:
            self.shift += (k.idle_timeout_s + k.timeout_warning_s) / 4
            return self.app.flow.session is None
        self.step_until(later, "session ended by the timeout")
        self.take_card()

    def check_screen_is_clean(self, drawn: DrawnText, how: str) -> None:
        self.app.step()
        assert self.app.flow.session is None, f"session object still alive after {how}"
        assert not scan_text(json.dumps(self.app.view(), ensure_ascii=False, default=str)), how
        assert not scan_text(self.app.renderer.main_text), how
        shown = drawn.take()
        assert shown, "nothing was drawn through the canvas: the on-screen check would prove nothing"
        assert not scan_text(shown), f"personal data drawn on screen during or after {how}"
        alive = [c for c in live_cards() if c.id_number and not self.existed_before(c)]
        assert not alive, f"{len(alive)} unwiped identity card(s) still in memory after {how}"

    def existed_before(self, card: IdentityCard) -> bool:
        ref = self._before.get(id(card))
        return ref is not None and ref() is card

    def platform_holds(self, receipt_no: str) -> bool:
        """The simulator's admin door lists the applications it accepted (acknowledged)."""
        listing = requests.get(f"{self.platform.url}/admin/applications", timeout=10).json()
        return receipt_no in json.dumps(listing, ensure_ascii=False)

    def outbox_rows(self) -> int:
        db = sqlite3.connect(f"file:{self.data_dir / 'outbox.db'}?mode=ro", uri=True, timeout=10)
        try:
            return int(db.execute("SELECT count(*) FROM submissions").fetchone()[0])
        finally:
            db.close()


@pytest.fixture()
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A TMPDIR of the test's own, so every temp file the stack creates can be scanned."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield tmp


def run_and_scan(tmp_path: Path, private_tmp: Path, caplog: pytest.LogCaptureFixture,
                 monkeypatch: pytest.MonkeyPatch, completions: int) -> None:
    caplog.set_level(logging.DEBUG)
    drawn = DrawnText(monkeypatch)
    rig = Rig(tmp_path)
    try:
        receipts = []
        for i in range(completions):
            receipts.append(rig.complete(i % len(CARDS)))
            rig.check_screen_is_clean(drawn, f"completion {i + 1}")
            if i % 10 == 0:
                rig.pull_card((i + 1) % len(CARDS))
                rig.check_screen_is_clean(drawn, "a card pull")
                rig.time_out((i + 2) % len(CARDS))
                rig.check_screen_is_clean(drawn, "the idle timeout")
        assert all(receipts), f"a journey ended without a receipt number: {receipts}"
        rig.step_until(lambda: all(rig.platform_holds(no) for no in receipts), "the platform acknowledging")
        # S1: acknowledged by the platform, then purged after the retention.
        deadline = time.monotonic() + WAIT_S
        while rig.outbox_rows():
            assert time.monotonic() < deadline, \
                f"{rig.outbox_rows()} outbox row(s) still kept {WAIT_S:.0f} s after delivery (retention 1 s)"
            time.sleep(0.2)
    finally:
        rig.close()
    assert any(rig.data_dir.iterdir()), "the gateway wrote nothing: the scan would prove nothing"
    assert scan_folder(rig.data_dir) == {}
    assert scan_folder(private_tmp) == {}
    leaks = {}
    for record in caplog.records:
        text = f"{record.getMessage()} {json.dumps(record.__dict__, ensure_ascii=False, default=str)}"
        found = scan_text(text)
        if found:
            leaks[f"{record.name}:{record.lineno}"] = found
    assert leaks == {}
    assert len(caplog.records) > 0, "no log records captured: the log scan would prove nothing"


def test_scanner_finds_what_it_looks_for(tmp_path: Path):
    """The scan can fail: a planted name (GB18030) and ID number (UTF-16) are found."""
    card = CARDS[1]
    (tmp_path / "a.bin").write_bytes(b"x" + card.name.encode("gb18030") + b"y")
    (tmp_path / "b.bin").write_bytes(card.id_number.encode("utf-16-le"))
    (tmp_path / "masked.txt").write_text("张** 3502**********0030", encoding="utf-8")
    hits = scan_folder(tmp_path)
    assert set(hits) == {str(tmp_path / "a.bin"), str(tmp_path / "b.bin")}


def test_sessions_leave_no_personal_data_anywhere(tmp_path: Path, private_tmp: Path,
                                                  caplog: pytest.LogCaptureFixture,
                                                  monkeypatch: pytest.MonkeyPatch):
    run_and_scan(tmp_path, private_tmp, caplog, monkeypatch, completions=3)


@pytest.mark.soak
@pytest.mark.timeout(4 * 3600)
def test_thousand_sessions_leave_no_personal_data(tmp_path: Path, private_tmp: Path,
                                                  caplog: pytest.LogCaptureFixture,
                                                  monkeypatch: pytest.MonkeyPatch):
    run_and_scan(tmp_path, private_tmp, caplog, monkeypatch, completions=1000)
