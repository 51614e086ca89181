"""A terminal always comes up: ``kiosk run --headless`` with every device absent — the ID card reader's
``/dev/serial/by-id`` link missing, nothing listening on the printer's TCP port, no social security card
reader — still brings up the gateway and the screen, marks the items that need the printer unavailable,
and reports the devices down with their reasons. Then the devices appear (a pty reader linked at the
configured path, the VirtualPrinter listening on the port) and are picked up: the item becomes
available, a slip prints, a card laid on the reader is read.

Needs root (the reader's link lives under /dev/serial/by-id, the only place a not-yet-present port may be
configured); skipped otherwise.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from kiosk_rig import Kiosk, free_port, wait_for
from prometheus_client.parser import text_string_to_metric_families

from devices.id_card.identity import sample_cards
from devices.id_card.simulator import IdReaderSimulator
from devices.printer.simulator import VirtualPrinter
from kiosk.catalog.loading import Catalog
from screens.demo_journeys import pick

pytestmark = pytest.mark.timeout(300)

BY_ID = Path("/dev/serial/by-id")
PICKUP_S = 15.0  # generous liveness bound (the target, ≤ 3 s, is measured in bench/, not asserted here)


@pytest.fixture()
def reader_link() -> Iterator[Path]:
    """A path under /dev/serial/by-id that does not exist yet (removed again after the test)."""
    made = [d for d in (BY_ID.parent, BY_ID) if not d.exists()]
    try:
        BY_ID.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        pytest.skip(f"cannot create {BY_ID} ({exc.strerror}): this test needs root")
    link = BY_ID / f"usb-kiosk-e2e-{uuid.uuid4().hex[:8]}-if00-port0"
    try:
        yield link
    finally:
        link.unlink(missing_ok=True)
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:
                pass


_TOKENS: dict[Path, str] = {}


def metrics(kiosk: Kiosk) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    if kiosk.tmp not in _TOKENS:  # the first token's file is deleted after its first use
        _TOKENS[kiosk.tmp] = (kiosk.tmp / "data" / "first-token.txt").read_text().strip()
    token = _TOKENS[kiosk.tmp]
    answer = requests.get(kiosk.gateway + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def device_state(samples: dict, device: str) -> str | None:
    """The state the gateway last heard for ``device`` (from the app's heartbeat), None before any."""
    for (name, labels), value in samples.items():
        got = dict(labels)
        if name == "kiosk_gateway_device_state" and got.get("device") == device and value == 1:
            return got["state"]
    return None


def heard(kiosk: Kiosk, ok: Callable[[dict], object], what: str) -> dict:
    """The gateway's metrics once ``ok`` holds for them (the app reports every 5 s)."""
    def good() -> dict | None:
        samples = metrics(kiosk)
        return samples if ok(samples) else None
    found: dict = wait_for(good, 30, what)
    return found


def test_every_device_absent_then_appearing(tmp_path: Path, reader_link: Path) -> None:
    closed = free_port()  # nothing listens here until the printer "is switched on"
    kiosk = Kiosk(tmp_path, KIOSK_DEVICES__ID_READER=str(reader_link),
                  KIOSK_DEVICES__PRINTER=f"tcp://127.0.0.1:{closed}", KIOSK_DEVICES__SSC_READER="pcsc://Kiosk E2E Absent Reader",
                  KIOSK_DEVICES__CAMERA="none", KIOSK_DEVICES__DOCUMENT_CAMERA="none")
    guide = pick(Catalog.load(), "guide", ("none",))  # a print-at-the-end item a resident starts without a card
    printer: VirtualPrinter | None = None
    reader: IdReaderSimulator | None = None
    try:
        kiosk.start()  # raises, with the log, if `kiosk run` exited
        health = requests.get(kiosk.gateway + "/health", timeout=10)
        assert health.status_code == 200 and health.json()["kiosk_id"]
        f = kiosk.finger
        f.wait_view(lambda v: v["available"].get("printer") is False and v["available"].get("id_reader") is False,
                    "the printer and the ID card reader marked unavailable", 10)

        # The resident's side: the item that ends in a slip is there, marked unavailable, not offered.
        f.tap("start")
        f.wait_for("home")
        f.tap("search")
        f.wait_for("search")
        f.type(guide.name.get("zh_CN"))
        wait_for(lambda: f.shows(f"detail:{guide.code}"), 10, f"{guide.code} among the search results")
        f.tap(f"detail:{guide.code}")
        assert f.wait_for("detail")["view"]["item_unavailable"] == "unavail_printer"
        assert not f.shows("begin")

        # The operators' side: both devices down, with the reason, from the app's heartbeat.
        samples = heard(kiosk, lambda s: device_state(s, "printer"), "the app's first heartbeat at the gateway")
        assert device_state(samples, "printer") in ("offline", "no_device", "hardware_error")
        assert device_state(samples, "id_reader") in ("offline", "no_device")
        assert device_state(samples, "ssc_reader") in ("offline", "no_device")  # no such PC/SC reader (or no pcscd)
        log = kiosk.log()
        assert "does not exist" in log and "starting anyway" in log

        # The devices appear: the printer is switched on, the reader is plugged in.
        appeared = time.monotonic()
        printer = VirtualPrinter(port=closed).start()
        reader = IdReaderSimulator(stable_path=reader_link).start()
        f.wait_view(lambda v: v["available"].get("printer") and not v.get("item_unavailable"), "the printer picked up",
                    PICKUP_S)
        printer_after = time.monotonic() - appeared
        assert f.shows("begin")
        f.tap("begin")
        assert f.wait_for("done", 60)["view"].get("printed") is True
        slip = wait_for(lambda: b"".join(printer.jobs()), 20, "a slip at the printer")
        assert len(slip) > 200
        f.tap("home")
        f.wait_for("attract", 30)

        # A card laid on the reader that was not there at start-up is read.
        f.wait_view(lambda v: v["available"].get("id_reader"), "the ID card reader picked up", PICKUP_S)
        reader.insert(sample_cards()[0])
        f.wait_for("home", PICKUP_S + 10)
        reader.remove()
        heard(kiosk, lambda s: device_state(s, "id_reader") == device_state(s, "printer") == "online",
              "the gateway to hear both devices online")
        print(f"printer picked up {printer_after:.2f} s after it started listening")
    finally:
        kiosk.stop()
        if printer is not None:
            printer.stop()
        if reader is not None:
            reader.stop()
