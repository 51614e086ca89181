"""``kiosk totp …``: the second factor of a console log-in (GB/T 22239-2019 8.1.4.1 d), at the terminal.

    kiosk totp enrol TOKEN_ID      # a new TOTP secret for the token: scan the QR code with an authenticator
    kiosk totp remove TOKEN_ID     # the token logs in with the token alone again (unless gateway.second_factor)

The secret lives in ``<data_dir>/totp.json`` (0600, ``local_api/web/credentials.py``); a running
gateway reads it at each log-in, so no restart. Only someone at the terminal (root or the kiosk user)
can enrol: the command writes the data folder.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from kiosk.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from local_api.web.credentials import TotpStore

EXIT_OK, EXIT_FAILED, EXIT_SETTINGS = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("totp", help="enrol or remove a token's one-time-code secret (console 2FA)",
                                   description="The second factor (TOTP, RFC 6238) of console log-ins.")
    sub = parser.add_subparsers(dest="totp_command", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", metavar="FILE", help="settings file (default: /etc/kiosk/kiosk.toml if present)")
        p.add_argument("token_id", help="the token's id (kgw_<id>.… ; `GET /api/v1/tokens` lists them)")
        return p

    enrol = add("enrol", "a new TOTP secret for a token: prints a QR code and the otpauth:// URI")
    enrol.add_argument("--no-qr", action="store_true", help="print only the secret and the URI")
    enrol.set_defaults(func=_enrol)
    add("remove", "forget a token's TOTP secret").set_defaults(func=_remove)


def _stores(args: argparse.Namespace) -> tuple[TotpStore, Settings, str] | int:
    # lazy: the gateway's credential store only for this command (start-up: see kiosk/commands)
    from local_api.web.credentials import (
        TOKENS_FILE_NAME,
        TOTP_FILE_NAME,
        TokenFileError,
        TokenStore,
        TotpStore,
    )

    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        exc.report("kiosk totp")
        return EXIT_SETTINGS
    data = settings.data_path
    try:
        known = {t["id"] for t in TokenStore(data / TOKENS_FILE_NAME).listing()}
    except TokenFileError as exc:
        print(f"kiosk totp: {exc}", file=sys.stderr)
        return EXIT_FAILED
    token_id = args.token_id.removeprefix("kgw_").partition(".")[0]
    if token_id not in known:
        print(f"kiosk totp: no token with id {token_id!r} in {data / TOKENS_FILE_NAME}", file=sys.stderr)
        return EXIT_FAILED
    return TotpStore(data / TOTP_FILE_NAME), settings, token_id


def _enrol(args: argparse.Namespace) -> int:
    # lazy: as in _stores; segno only to draw the QR code
    from local_api.web.credentials import totp_uri

    found = _stores(args)
    if isinstance(found, int):
        return found
    store, settings, token_id = found
    secret = store.enrol(token_id)
    uri = totp_uri(secret, token_id, settings.kiosk.id)
    if not args.no_qr:
        import segno  # lazy: only when a QR code is drawn

        segno.make(uri, error="m").terminal(compact=True)
    print(f"TOTP secret for token {token_id}: {secret}")
    print(f"URI: {uri}")
    print("Scan it (or type the secret) into an authenticator app; the console log-in of this token now asks for "
          "its 6-digit code. Keep this output away from others.")
    return EXIT_OK


def _remove(args: argparse.Namespace) -> int:
    found = _stores(args)
    if isinstance(found, int):
        return found
    store, _settings, token_id = found
    if not store.remove(token_id):
        print(f"kiosk totp: token {token_id} has no TOTP secret", file=sys.stderr)
        return EXIT_FAILED
    print(f"TOTP secret of token {token_id} removed")
    return EXIT_OK
