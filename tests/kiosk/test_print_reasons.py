"""What a resident is told when the slip did not print, from a real printer's answer (a TCP ESC/POS
printer, devices/printer/simulator.py): paper out and cover open as such, anything else as
unavailable — never the technician's words (which are Chinese and English mixed, with hints)."""

from __future__ import annotations

import pytest

from devices.printer.printer import ReceiptPrinter
from devices.printer.simulator import VirtualPrinter
from kiosk.flow.views import PRINT_REASONS
from kiosk.terminal.effects import resident_reason

SLIP = b"\x1b@hello\n"


@pytest.mark.parametrize(("state", "expected"), [
    ({"paper": "out"}, "printer_paper_out"),
    ({"cover_open": True}, "printer_cover_open"),
    ({"silent": True}, "printer_unavailable"),
])
def test_a_refused_slip_is_told_by_what_the_printer_said(state, expected):
    with VirtualPrinter(paper_mm=80) as sim:
        sim.set_state(**state)
        with ReceiptPrinter(sim.uri, timeout_s=1.0, settle_s=0) as printer:
            outcome = printer.print_job("job-1", SLIP)
    assert not outcome.printed
    reason = resident_reason(outcome)
    assert reason == expected and reason in PRINT_REASONS
