"""``kiosk staff-pass``: print a staff member's pass for assisted mode (帮办代办, issue 21).

    curl … -H "Authorization: Bearer $TECHNICIAN" -d '{"role": "helper", "label": "0427"}' \\
         http://127.0.0.1:8470/api/v1/tokens          # the gateway answers the helper token, once
    kiosk staff-pass --out 0427.png < token.txt        # the token on stdin, never on the command line

The pass is a QR code of ``kiosk:staff:v1:<token>`` (``kiosk/qrcodes.py``) for the staff member's badge or
phone; the terminal's QR camera reads it and the gateway checks the token (``POST /api/v1/staff/signin``).
It is a key: it signs its holder in as that staff member until the token is revoked
(``DELETE /api/v1/tokens/<id>``). The file is written owner-only (0600).
"""

from __future__ import annotations

import argparse
import os
import sys

from kiosk.qrcodes import staff_pass_payload

EXIT_OK, EXIT_FAILED = 0, 1


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("staff-pass", help="a staff member's pass (QR code PNG) for assisted mode",
                                   description="Write the QR code of a staff pass for a helper token read "
                                               "from standard input (never from the command line).")
    parser.add_argument("--out", required=True, metavar="PNG", help="where to write the pass (0600)")
    parser.set_defaults(func=_write)


def _write(args: argparse.Namespace) -> int:
    import segno  # lazy: only this command draws QR codes (start-up: see kiosk/commands)

    token = sys.stdin.readline().strip()
    try:
        payload = staff_pass_payload(token)
    except ValueError as exc:
        print(f"kiosk staff-pass: {exc} (a helper token, as POST /api/v1/tokens answered it)", file=sys.stderr)
        return EXIT_FAILED
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        segno.make_qr(payload, error="m").save(out, kind="png", scale=10, border=4)
    print(f"staff pass written to {args.out}: it signs its holder in as this staff member until the token is "
          "revoked; keep it like a key")
    return EXIT_OK
