"""OPS (device operations, issue 10): applying a technician's printer change, and probing a port.

- OPS apply: ``DeviceControl.change({"printer": …})`` alternating between two virtual printers on
  TCP: validate, write ``kiosk.local.toml`` atomically, close the old printer and open, check and
  monitor the new one. Anchor: opening and closing a ``ReceiptPrinter`` on the same virtual printer
  (the device work alone), measured in the same run.
- OPS probe: ``probe_port`` on a pty running the SAM simulator (a reader answering at the first
  baud rate). Anchor: one SAM status exchange on an already open reader, the floor of any probe.

No TARGETS.md row sets a limit for these: informational (median; p90 in the note).

    .venv/bin/python -m bench.run --only OPS
"""

from __future__ import annotations

import tempfile

from bench.common import Figure, median, percentile, timed


def _figure(name: str, samples: list[float], anchor: list[float], anchor_name: str) -> Figure:
    value, anchor_ms = median(samples) * 1000, median(anchor) * 1000
    return Figure(id="OPS", name=name, value=value, unit="ms", target="informational", passed=None,
                  anchor=anchor_name, anchor_value=anchor_ms, ratio=value / anchor_ms if anchor_ms else None,
                  note=f"n={len(samples)}; p90 {percentile(samples, 90) * 1000:.1f} ms")


def run(quick: bool) -> list[Figure]:
    from devices.id_card.reader import IdCardReader
    from devices.id_card.simulator import IdReaderSimulator
    from devices.printer.printer import ReceiptPrinter
    from devices.printer.simulator import VirtualPrinter
    from kiosk.settings import load_settings
    from kiosk.terminal.device_control import DeviceControl
    from kiosk.terminal.device_ops import probe_port
    from kiosk.terminal.hardware import Hardware

    repeat = 6 if quick else 30
    figures = []
    with tempfile.TemporaryDirectory() as data, VirtualPrinter() as a, VirtualPrinter() as b:
        # Start on the simulated printer (the packaged sample PIN is refused with real devices), then
        # alternate between the two TCP printers.
        settings = load_settings(environ={"KIOSK_GATEWAY__DATA_DIR": data, "KIOSK_DEVICES__ID_READER": "sim://id-reader",
                                          "KIOSK_DEVICES__SSC_READER": "none"})
        hardware = Hardware.open(settings, lambda _e: None)
        try:
            control = DeviceControl(settings, hardware, lambda _e: None)
            targets = iter([b.uri, a.uri] * repeat)

            def apply() -> None:
                outcome = control.change({"printer": next(targets)})
                assert outcome.applied, outcome.message

            def open_close() -> None:
                printer = ReceiptPrinter(a.uri)
                printer.open()
                printer.close()

            figures.append(_figure("apply a printer change (validate, save, reopen)", timed(apply, repeat),
                                   timed(open_close, repeat), "ReceiptPrinter open + close"))
        finally:
            hardware.close()
    with IdReaderSimulator() as sim:
        found = probe_port(sim.port)
        assert found["found"] == "id_reader", found
        probes = timed(lambda: probe_port(sim.port), repeat)
        with IdCardReader(sim.port) as reader:
            exchanges = timed(reader.sam_status, repeat)
    figures.append(_figure("probe a port (SAM reader at the first baud rate)", probes, exchanges,
                           "one SAM status exchange"))
    return figures
