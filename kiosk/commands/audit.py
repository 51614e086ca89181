"""``kiosk audit …``: the gateway's audit trail at the terminal (GB/T 22239-2019 8.1.4.3).

    kiosk audit verify [--json]    # walk the hash chain: exit 0 when it holds, 1 naming the first bad line

It reads ``<data_dir>/audit.jsonl`` and its rotated files (``local_api/ops/audit.py``) while a gateway
may be appending: a record appended during the walk is simply past its end.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from kiosk.settings import SettingsError, load_settings

EXIT_OK, EXIT_FAILED, EXIT_SETTINGS = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("audit", help="check the gateway's audit trail",
                                   description="The gateway's audit trail (who, what, when, where, outcome).")
    sub = parser.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser("verify", help="check the audit's hash chain: exit 1 naming the first edited, deleted "
                            "or moved line", description="Walk the audit's hash chain (audit.jsonl and its rotated "
                            "files, oldest first) and its head; exit 0 when it holds, 1 with the first bad line.")
    verify.add_argument("--config", metavar="FILE", help="settings file (default: /etc/kiosk/kiosk.toml if present)")
    verify.add_argument("--json", action="store_true", help="the verdict as one JSON object")
    verify.set_defaults(func=_verify)


def _verify(args: argparse.Namespace) -> int:
    # lazy: the gateway's audit module only for this command (start-up: see kiosk/commands)
    from local_api.ops.audit import AUDIT_FILE_NAME, verify_audit

    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        exc.report("kiosk audit")
        return EXIT_SETTINGS
    path = settings.data_path / AUDIT_FILE_NAME
    verdict = verify_audit(path)
    if args.json:
        print(json.dumps(asdict(verdict) | {"ok": verdict.ok}, ensure_ascii=False))
        return EXIT_OK if verdict.ok else EXIT_FAILED
    for note in verdict.notes:
        print(f"note: {note}")
    if not verdict.ok:
        print(f"kiosk audit verify: {verdict.where}: {verdict.problem}", file=sys.stderr)
        return EXIT_FAILED
    if verdict.records == 0:
        print(f"audit OK: no records yet in {path.parent}")
    else:
        print(f"audit OK: {verdict.records} records (seq {verdict.first_seq}–{verdict.last_seq}) in "
              f"{', '.join(verdict.files)}, hash chain and head intact")
    return EXIT_OK
