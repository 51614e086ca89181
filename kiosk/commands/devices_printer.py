"""``kiosk devices print-test``: print a test slip and say, in plain words, how the printer is.

The slip exercises what goes wrong on real printers (DEVICES.md §3): Chinese text with the
punctuation python-escpos mangles (“，：（）、”) and ¥, a native QR code, and a cut. The
technician compares the paper with the PNG preview (``--png``) of the very bytes the printer
was sent (for ``sim://printer``: what the virtual printer received).

    kiosk devices print-test [--printer URI] [--paper 58|80] [--png OUT] [--config FILE]

URI: ``tcp://host:9100``, ``usb://VID:PID``, a serial port or pyserial URL, ``file:///path`` or
``sim://printer``; default: the printer in the settings. Exit status: 0 printed · 1 not printed
(the reason is shown) · 2 the settings have problems.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import datetime

from devices.base import DeviceError
from kiosk.endpoints import EndpointError
from kiosk.settings import SettingsError, load_settings

EXIT_OK, EXIT_NOT_PRINTED, EXIT_SETTINGS = 0, 1, 2


def register(devices: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = devices.add_parser("print-test",
                           help="print a test slip (Chinese, ¥, QR, cut) and report the printer's status",
                           description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--printer", metavar="URI",
                   help="printer endpoint (default: devices.printer in the settings)")
    p.add_argument("--paper", type=int, choices=(58, 80),
                   help="paper width in mm (default: from the settings)")
    p.add_argument("--png", metavar="OUT", help="also write a PNG of what the printer was sent")
    p.add_argument("--timeout", type=float, default=3.0,
                   help="seconds to wait for each answer (default 3)")
    p.add_argument("--config", metavar="FILE",
                   help="settings file (default: /etc/kiosk/kiosk.toml if present)")
    p.set_defaults(func=cmd_print_test)


def cmd_print_test(args: argparse.Namespace) -> int:
    # lazy: the printer stack (python-escpos, Pillow) loads only to print (start-up: see kiosk/commands)
    from devices.printer.escpos_stream import stream_to_png
    from devices.printer.jobs import PrintState
    from devices.printer.printer import ReceiptPrinter
    from devices.printer.receipt import render_escpos
    from kiosk.terminal import receipts

    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        exc.report()
        return EXIT_SETTINGS
    uri = args.printer or settings.devices.printer
    paper = args.paper or settings.devices.paper_width_mm
    now = datetime.now().replace(microsecond=0)
    data = render_escpos(receipts.test_slip(settings.kiosk.id, settings.kiosk.place, now), paper)
    try:
        # A technician's tool keeps no job for later: what does not print now is reported now.
        printer = ReceiptPrinter(uri, timeout_s=args.timeout, keep_jobs=0)
    except EndpointError as exc:
        print(f"printer {uri}: {exc}")
        return EXIT_SETTINGS
    print(f"printer {uri} ({paper} mm paper)")
    try:
        try:
            printer.open()
        except DeviceError as exc:
            print(f"  cannot open: {exc}")
            return EXIT_NOT_PRINTED
        health = printer.last_health
        if health is not None:
            print(f"  before: {health.summary()}")
        outcome = printer.print_job(str(uuid.uuid4()), data)
        if outcome.printed:
            print("  test slip printed: check the Chinese punctuation “，：（）、” and ¥, scan the QR, "
                  "and look at the cut")
        else:
            print(f"  test slip {outcome.state.value if outcome.state else 'not printed'}: {outcome.reason}")
        after = printer.query_status()
        print(f"  now: {after.summary()}")
        if args.png:
            sim = printer.simulator
            if sim is not None and sim.jobs():
                with open(args.png, "wb") as f:
                    f.write(stream_to_png(sim.jobs()[-1], paper))
                print(f"  preview of what the virtual printer received: {args.png}")
            else:
                with open(args.png, "wb") as f:
                    f.write(stream_to_png(data, paper))
                if outcome.state is PrintState.REFUSED:  # checked before sending: not a byte went out
                    print(f"  nothing was sent to the printer; preview of the slip it would have printed: {args.png}")
                elif outcome.state is PrintState.INTERRUPTED:
                    print(f"  preview of the bytes sent (the printer stopped part-way through): {args.png}")
                else:
                    print(f"  preview of the bytes sent: {args.png}")
        return EXIT_OK if outcome.printed else EXIT_NOT_PRINTED
    finally:
        printer.close()
