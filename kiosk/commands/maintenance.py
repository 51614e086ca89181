"""``kiosk maintenance …``: the touchscreen maintenance mode's settings.

    kiosk maintenance pin-hash      # asks for a new PIN twice; prints the settings lines to paste

The PIN is read without echo from the terminal (getpass), or as two lines from stdin when stdin is
not a terminal (for provisioning scripts). Only the salted hash is printed; the PIN is never
written anywhere.
"""

from __future__ import annotations

import argparse
import getpass
import sys

EXIT_OK, EXIT_FAILED = 0, 1


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("maintenance", help="settings of the touchscreen maintenance mode",
                                   description="The touchscreen maintenance mode's settings (PIN, lock-out).")
    sub = parser.add_subparsers(dest="maintenance_command", required=True)
    pin = sub.add_parser("pin-hash", help="hash a new maintenance PIN for the settings file",
                         description="Ask for a new maintenance PIN twice and print the [maintenance] "
                                     "settings line to paste into /etc/kiosk/kiosk.toml.")
    pin.set_defaults(func=_pin_hash)


def _read_twice() -> tuple[str, str] | None:
    """The PIN and its repetition: getpass at a terminal, else two lines of stdin (None if missing)."""
    if sys.stdin.isatty():
        return getpass.getpass("新密码 New PIN: "), getpass.getpass("再输入一次 Again: ")
    first, second = sys.stdin.readline(), sys.stdin.readline()
    if not first or not second:
        return None
    return first.strip(), second.strip()


def _pin_hash(args: argparse.Namespace) -> int:
    # lazy: maintenance mode loads requests (start-up: see kiosk/commands)
    from kiosk.terminal.maintenance import hash_pin, pin_problem

    try:
        read = _read_twice()
    except (EOFError, KeyboardInterrupt):
        read = None
    if read is None:
        print("no PIN given: type it twice (or give two lines on stdin)", file=sys.stderr)
        return EXIT_FAILED
    pin, again = read
    if pin != again:
        print("the two PINs differ: nothing printed; run the command again", file=sys.stderr)
        return EXIT_FAILED
    problem = pin_problem(pin)
    if problem:
        print(f"{problem}; nothing printed", file=sys.stderr)
        return EXIT_FAILED
    print("[maintenance]")
    print(f'pin_hash = "{hash_pin(pin)}"')
    return EXIT_OK
