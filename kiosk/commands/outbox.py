"""``kiosk outbox …``: operators' tools for the gateway's outbox, at the terminal.

    kiosk outbox list [--state rejected] [--limit 50] [--json]
    kiosk outbox show RECEIPT [--json]
    kiosk outbox retry RECEIPT          # queue a rejected or expired submission again
    kiosk outbox purge [RECEIPT]        # past-retention rows, or one finished submission now

They open the same SQLite file as a running gateway (WAL lets both in at once; writes wait
for each other). Nothing here shows personal data: it stays sealed in the database.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from datetime import datetime
from typing import Any

from kiosk.settings import SettingsError, load_settings

EXIT_OK, EXIT_FAILED, EXIT_SETTINGS = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("outbox", help="list, inspect, requeue and purge the gateway's outbox",
                                   description="Operators' tools for the outbox (no personal data is shown).")
    sub = parser.add_subparsers(dest="outbox_command", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", metavar="FILE", help="settings file (default: /etc/kiosk/kiosk.toml if present)")
        return p

    listing = add("list", "list submissions in acceptance order")
    listing.add_argument("--state", choices=("queued", "sending", "delivered", "rejected", "expired"))
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=_list)

    show = add("show", "show one submission's bookkeeping")
    show.add_argument("receipt_no")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_show)

    retry = add("retry", "queue a rejected or expired submission again")
    retry.add_argument("receipt_no")
    retry.set_defaults(func=_retry)

    purge = add("purge", "delete finished submissions past their retention, or one finished submission now")
    purge.add_argument("receipt_no", nargs="?", help="delete this finished submission now")
    purge.set_defaults(func=_purge)


def _open(args: argparse.Namespace) -> Any:
    """The settings' outbox, or an exit status after saying what is wrong."""
    # lazy: the outbox (SQLite, cryptography) loads only for outbox commands, and the server module (Flask,
    # 0.3 s) only for its file name (start-up: see kiosk/commands)
    from local_api.outbox.crypto import KEYS, KeyFileError, Sealer
    from local_api.outbox.store import Outbox, OutboxError
    from local_api.server import OUTBOX_FILE_NAME

    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        exc.report("kiosk outbox")
        return EXIT_SETTINGS, None
    data = settings.data_path
    if not (data / OUTBOX_FILE_NAME).exists() or not any((data / k.file_name).exists() for k in KEYS.values()):
        print(f"kiosk outbox: no outbox in {data} (gateway.data_dir); has the gateway run here?", file=sys.stderr)
        return EXIT_FAILED, None
    try:
        box = Outbox(data / OUTBOX_FILE_NAME, Sealer.from_data_folder(data, settings.security.suite), kiosk_id=settings.kiosk.id)
    except (OutboxError, KeyFileError) as exc:
        print(f"kiosk outbox: {exc}", file=sys.stderr)
        return EXIT_FAILED, None
    return settings, box


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _as_dict(record: Any) -> dict[str, Any]:
    return asdict(record)


def _list(args: argparse.Namespace) -> int:
    settings, box = _open(args)
    if box is None:
        return int(settings)
    try:
        records = box.list(args.state, limit=args.limit)
        counts = box.counts()
    finally:
        box.close()
    if args.json:
        for record in records:
            print(json.dumps(_as_dict(record), ensure_ascii=False))
        return EXIT_OK
    print(f"{'receipt':<28} {'kind':<13} {'item':<14} {'state':<9} {'tries':>5}  {'accepted':<19}  last error")
    for r in records:
        print(f"{r.receipt_no:<28} {r.kind:<13} {r.item_code:<14} {r.state:<9} {r.attempts:>5}  "
              f"{_when(r.accepted_at):<19}  {(r.last_error or '')[:60]}")
    print("totals: " + ", ".join(f"{state} {n}" for state, n in counts.items()))
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    # lazy: SQLite and cryptography load only for outbox commands (see _open)
    from local_api.outbox.store import UnknownReceipt

    settings, box = _open(args)
    if box is None:
        return int(settings)
    try:
        record = box.get(args.receipt_no)
    except UnknownReceipt:
        print(f"kiosk outbox: no submission {args.receipt_no}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        box.close()
    data = _as_dict(record)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return EXIT_OK
    for key, value in data.items():
        shown = _when(value) if key.endswith("_at") and value is not None else ("-" if value is None else value)
        print(f"{key:<16} {shown}")
    return EXIT_OK


def _retry(args: argparse.Namespace) -> int:
    # lazy: SQLite and cryptography load only for outbox commands (see _open)
    from local_api.outbox.store import UnknownReceipt

    settings, box = _open(args)
    if box is None:
        return int(settings)
    try:
        requeued = box.requeue(args.receipt_no)
    except UnknownReceipt:
        print(f"kiosk outbox: no submission {args.receipt_no}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        box.close()
    if not requeued:
        print(f"kiosk outbox: {args.receipt_no} is not rejected or expired; nothing to retry", file=sys.stderr)
        return EXIT_FAILED
    print(f"{args.receipt_no} queued again; the running gateway sends it within "
          f"{settings.gateway.retry_max_s:g} s at most")
    return EXIT_OK


def _purge(args: argparse.Namespace) -> int:

    # lazy: SQLite and cryptography load only for outbox commands (see _open)
    from local_api.outbox.store import OutboxError, UnknownReceipt

    settings, box = _open(args)
    if box is None:
        return int(settings)
    try:
        if args.receipt_no:
            box.purge_receipt(args.receipt_no)
            print(f"{args.receipt_no} deleted")
        else:
            now = time.time()
            gw = settings.gateway
            purged = box.purge(now - gw.retention_s, parked_older_than=now - gw.parked_retention_s)
            print(f"{purged} finished submission(s) past retention deleted")
    except UnknownReceipt:
        print(f"kiosk outbox: no submission {args.receipt_no}", file=sys.stderr)
        return EXIT_FAILED
    except OutboxError as exc:
        print(f"kiosk outbox: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        box.close()
    return EXIT_OK
