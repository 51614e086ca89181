"""``kiosk devices read-ssc``: read one social security card (社会保障卡) through PC/SC.

Masked by default (numbers as 4 + stars + 4, names as first character + stars); ``--reveal`` shows
every field in full for a technician at the terminal. Nothing read is logged or kept: the card
object is wiped as soon as it is printed.
"""

from __future__ import annotations

import argparse
import json
import sys

from devices.base import DeviceError
from kiosk.settings import SettingsError, load_settings

EXIT_READ_FAILED = 1
EXIT_SETTINGS = 2

_LABELS = {
    "name": "name 姓名",
    "gender": "gender 性别",
    "nation": "nation 民族",
    "birth_date": "birth date 出生日期",
    "social_security_number": "social security number 社会保障号码",
    "card_number": "card number 卡号",
    "card_id_code": "card identification code 卡识别码",
    "region": "issuing region 发卡地区",
    "card_type": "card type 卡类别",
    "version": "specification version 规范版本",
    "issuer": "issuing organisation 初始化机构编号",
    "issue_date": "issue date 发卡日期",
    "expiry_date": "expiry date 有效期",
}


def register(devices_subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = devices_subparsers.add_parser(
        "read-ssc", help="read a social security card (社会保障卡) once, masked unless --reveal",
        description="Wait for a social security card in a PC/SC reader, read the fields readable "
                    "without PIN and print them, masked unless --reveal. Exit status 1 when no card "
                    "could be read (the message says why), 2 for unusable settings.")
    p.add_argument("--reader", metavar="NAME",
                   help="use the reader whose name contains NAME (default: the first reader pcscd lists)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--reveal", action="store_true",
                   help="show every field in full (technicians at the terminal only; "
                        "never paste it anywhere)")
    p.add_argument("--timeout", type=float, default=15.0, metavar="SECONDS",
                   help="how long to wait for a card (default 15); once it is in, the read itself is "
                        "limited by devices.ssc_apdu_timeout_s and devices.ssc_read_timeout_s")
    p.add_argument("--config", metavar="FILE",
                   help="settings file (default: /etc/kiosk/kiosk.toml if present)")
    p.set_defaults(func=read_ssc)


def read_ssc(args: argparse.Namespace) -> int:
    """Handler of ``kiosk devices read-ssc``."""
    # lazy: pyscard loads only to read a card (start-up: see kiosk/commands)
    from devices.smartcard.reader import SscReader

    try:
        devices = load_settings(args.config).devices
    except SettingsError as exc:
        exc.report()
        return EXIT_SETTINGS
    reader = SscReader(args.reader, apdu_timeout_s=devices.ssc_apdu_timeout_s,
                       read_timeout_s=devices.ssc_read_timeout_s)
    if not args.json:
        print(f"insert a social security card (waiting up to {args.timeout:g} s) …", file=sys.stderr)
    try:
        card = reader.read_card(timeout_s=args.timeout)
    except DeviceError as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": str(exc), "kind": type(exc).__name__,
                              "hint": exc.hint.value, "retryable": exc.retryable}, ensure_ascii=False))
        else:
            print(f"read-ssc: {exc}", file=sys.stderr)
        return EXIT_READ_FAILED
    try:
        fields = card.revealed() if args.reveal else card.masked()
        expired = card.expired()
    finally:
        card.wipe()
    if args.json:
        print(json.dumps({"ok": True, "masked": not args.reveal, "expired": expired, "card": fields},
                         ensure_ascii=False))
    else:
        print("social security card 社会保障卡" + ("" if args.reveal else " (masked; --reveal shows all)"))
        width = max(len(label) for label in _LABELS.values())
        for key, label in _LABELS.items():
            if key in fields:
                print(f"  {label:<{width}}  {fields[key] or '—'}")
        if expired:
            print("  this card has expired: the resident should renew it at a counter")
    return 0
