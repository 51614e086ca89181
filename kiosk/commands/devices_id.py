"""``kiosk devices list | probe | read-id``: technicians' tools for ports and the ID card reader.

- ``list [--json]``: serial ports with their stable ids (``/dev/serial/by-id`` link, USB VID:PID and
  serial number), PC/SC readers and cameras. A section whose module is missing or fails is shown
  as ``unavailable: <reason>``; the others are still listed.
- ``probe PORT [--json]``: what answers on PORT: a SAM reader, and at which baud rate (115200,
  57600, 38400, 19200, 9600 are tried with the SAM status command, late answers drained and the
  rate confirmed by a second exchange), else a receipt printer (DLE EOT at 9600 … 115200 baud) and
  its paper, else nothing. ``tcp://host:9100``, ``usb://VID:PID`` and ``sim://printer`` are probed
  as printers: "receipt printer, paper OK" or "nothing answered".
- ``read-id --port URL [--baud N] [--json] [--reveal]``: read the card on the reader once. Values
  are masked unless ``--reveal`` is given (for a technician with a test card).

PORT / URL: a device path (best: its ``/dev/serial/by-id/…`` link), ``usb:VID:PID[:SERIAL]``, any
pyserial URL, or ``sim://id-reader`` (a simulated reader holding the first sample card); for probe
also a printer endpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from typing import Any

from devices.base import DeviceError
from devices.discovery import BY_ID_DIR, list_serial_ports
from devices.id_card.identity import CARD_TYPE_LABELS, LONG_TERM, UnsupportedCardType
from devices.probe import PRINTER_BAUDS, PROBE_BAUDS, probe_id_reader, probe_printer, probe_serial_printer
from kiosk.endpoints import EndpointError, parse_endpoint
from kiosk.privacy import mask_id_number, mask_name
from kiosk.terminal.device_ops import serial_url as _reader_port  # shared with maintenance mode

EXIT_OK, EXIT_DEVICE, EXIT_NO_CARD, EXIT_NOT_TRUSTED, EXIT_UNSUPPORTED = 0, 1, 3, 4, 5

_READ_EPILOG = """exit status: 0 card read and its number valid · 1 reader missing or not answering ·
3 no card on the reader · 4 card read but its number failed validation (not trusted) ·
5 card type not supported"""


def register(devices: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    lst = devices.add_parser("list", help="serial ports (with stable ids), PC/SC readers and cameras",
                             description="List what is plugged in, with the names to put in the settings.")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.add_argument("--by-id-dir", default=None, help=argparse.SUPPRESS)  # tests point it at a temp dir
    lst.set_defaults(func=cmd_list)

    probe = devices.add_parser("probe", help="what answers on PORT: an ID card reader (baud rate), a receipt "
                                             "printer (paper) or nothing",
                               description=f"Send the SAM status command at {', '.join(map(str, PROBE_BAUDS))} baud, "
                                           f"then DLE EOT at {', '.join(map(str, PRINTER_BAUDS))} baud.")
    probe.add_argument("port", metavar="PORT", help="device path, usb:VID:PID[:SERIAL], pyserial URL, sim://id-reader, "
                                                    "or a printer: tcp://host:9100, usb://VID:PID, sim://printer")
    probe.add_argument("--json", action="store_true", help="machine-readable output")
    probe.add_argument("--timeout", type=float, default=0.5, help="seconds to wait at each baud rate (default 0.5)")
    probe.set_defaults(func=cmd_probe)

    read = devices.add_parser("read-id", help="read the card on the ID card reader once (masked unless --reveal)",
                              description="Find, select and read the card; check its number.", epilog=_READ_EPILOG)
    read.add_argument("--port", required=True, metavar="URL",
                      help="device path, usb:VID:PID[:SERIAL], pyserial URL or sim://id-reader")
    read.add_argument("--baud", type=int, default=115200, help="baud rate (default 115200)")
    read.add_argument("--json", action="store_true", help="machine-readable output")
    read.add_argument("--reveal", action="store_true",
                      help="show every field unmasked (only with a test card: this is personal data)")
    read.add_argument("--fingerprint", action="store_true", help="use the read-with-fingerprint command")
    read.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for each answer (default 3)")
    read.set_defaults(func=cmd_read_id)


# -- list -----------------------------------------------------------------------------------------

def _plain(item: Any) -> Any:
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        to_dict = getattr(item, "to_dict", None)
        return to_dict() if callable(to_dict) else dataclasses.asdict(item)
    if isinstance(item, dict | str | int | float | bool) or item is None:
        return item
    to_dict = getattr(item, "to_dict", None)
    return to_dict() if callable(to_dict) else str(item)


def _section(load: Callable[[], Any]) -> dict[str, Any]:
    """Run one discovery; a missing module or a failure becomes ``{"unavailable": reason}``."""
    try:
        return {"items": [_plain(i) for i in load()]}
    except Exception as exc:  # noqa: BLE001  another engineer's module, or a missing daemon: report, do not fail
        return {"unavailable": f"{type(exc).__name__}: {exc}".strip()}


def _smartcard_readers() -> Any:
    # lazy: pyscard loads only to list readers (start-up: see kiosk/commands)
    from devices.smartcard.discovery import list_readers

    return list_readers()


def _cameras() -> Any:
    # lazy: OpenCV (0.2 s) loads only when cameras are listed
    from devices.camera.discovery import list_cameras

    return list_cameras()


def cmd_list(args: argparse.Namespace) -> int:
    by_id_dir = args.by_id_dir or BY_ID_DIR
    report = {
        "serial_ports": _section(lambda: list_serial_ports(by_id_dir)),
        "smartcard_readers": _section(_smartcard_readers),
        "cameras": _section(_cameras),
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        return EXIT_OK
    titles = {"serial_ports": "Serial ports", "smartcard_readers": "PC/SC smart-card readers", "cameras": "Cameras"}
    for key, title in titles.items():
        section = report[key]
        if "unavailable" in section:
            print(f"{title}: unavailable: {section['unavailable']}")
            continue
        print(f"{title}: {len(section['items'])}")
        for item in section["items"]:
            print(f"  {_describe(key, item)}")
    return EXIT_OK


def _describe(section: str, item: Any) -> str:
    if section == "serial_ports" and isinstance(item, dict):
        usb = f" usb:{item['usb_id']}" + (f":{item['serial_number']}" if item.get("serial_number") else "") \
            if item.get("usb_id") else ""
        name = item.get("stable_path") or item["device"]
        extra = f" -> {item['device']}" if item.get("stable_path") else ""
        what = " ".join(x for x in (item.get("manufacturer"), item.get("product") or item.get("description")) if x)
        return f"{name}{extra}{usb}{'  ' + what if what else ''}"
    if isinstance(item, dict):
        return ", ".join(f"{k}={v}" for k, v in item.items() if v not in (None, "", [], {}))
    return str(item)


# -- probe and read-id: the port ------------------------------------------------------------------

def _printer_only(port: str) -> bool:
    """Whether ``port`` names a printer that is not on a serial line (tcp://, usb://, sim://printer)."""
    try:
        endpoint = parse_endpoint(port)
    except EndpointError:
        return False
    return endpoint.scheme in ("tcp", "usb") or (endpoint.scheme == "sim" and endpoint.host == "printer")


def cmd_probe(args: argparse.Namespace) -> int:
    result: dict[str, Any] = {"port": args.port, "found": False, "device": None, "baud": None, "sam_status": None,
                              "sam_id": None, "tried": []}
    try:
        if _printer_only(args.port):
            printer = probe_printer(args.port, timeout_s=max(args.timeout, 1.0))
        else:
            with _reader_port(args.port) as url:
                sam = probe_id_reader(url, timeout_s=args.timeout)
                result.update(dataclasses.asdict(sam))
                printer = None if sam.found else probe_serial_printer(url, timeout_s=args.timeout)
    except (DeviceError, ValueError) as exc:
        result["error"] = str(exc)
        _out(args, result, f"kiosk devices probe: {exc}", error=True)
        return EXIT_DEVICE
    if result["found"]:
        result["device"] = "id_reader"
        text = (f"ID card reader at {result['baud']} baud on {args.port}; SAM status: {result['sam_status']}"
                + (f"; SAM id {result['sam_id']}" if result["sam_id"] else "")
                + ("; it answers slowly" if result.get("late") else ""))
        _out(args, result, text)
        return EXIT_OK
    assert printer is not None
    result["printer"] = printer.to_dict()
    if printer.found:
        result.update(found=True, device="printer", baud=printer.baud)
        _out(args, result, f"{printer.words()} on {args.port}")
        return EXIT_OK
    if _printer_only(args.port):
        _out(args, result, f"nothing answered: {printer.problem}")
    else:
        _out(args, result, f"nothing answered on {args.port}: no SAM ID card reader answered at "
                           f"{', '.join(map(str, PROBE_BAUDS))} baud, and no receipt printer answered DLE EOT at "
                           f"{', '.join(map(str, PRINTER_BAUDS))} baud: check the cable, the power and the port")
    return EXIT_DEVICE


def _out(args: argparse.Namespace, result: dict[str, Any], text: str, *, error: bool = False) -> None:
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(text, file=sys.stderr if error else sys.stdout)


# -- read-id ---------------------------------------------------------------------------------------

def card_fields(card: Any, *, reveal: bool) -> dict[str, Any]:
    """The card as the JSON object ``read-id`` prints: masked unless ``reveal``."""
    def keep(value: str, masker: Callable[[str], str]) -> str:
        return value if reveal or not value else masker(value)

    def date(value: Any) -> str:
        return value.isoformat() if value is not None else LONG_TERM

    out: dict[str, Any] = {
        "card_type": card.card_type,
        "card_type_label": CARD_TYPE_LABELS.get(card.card_type, card.card_type),
        "name": keep(card.name, mask_name),
        "gender": card.gender,
        "nation": card.nation,
        "birth_date": card.birth_date.isoformat() if reveal else "****-**-**",
        "address": keep(card.address, lambda s: s[:3] + "*" * max(0, len(s) - 3)),
        "id_number": keep(card.id_number, mask_id_number),
        "authority": card.issuer,
        "valid_from": date(card.valid_from),
        "valid_to": date(card.valid_to),
    }
    if card.card_type == "J":
        out.update(pass_number=keep(card.pass_number, mask_id_number), issue_count=card.issue_count)
    if card.card_type in ("I", "Y"):
        out.update(english_name=keep(card.english_name, mask_name), nationality=card.nationality)
    if card.card_type == "I":
        out["card_version"] = card.card_version
    if card.card_type == "Y":
        out.update(renewal_count=card.issue_count,
                   previous_number_link=keep(card.previous_number_link, lambda s: "*" * len(s)))
    out.update(photo_bytes=len(card.photo), fingerprint_bytes=len(card.fingerprint),
               trusted=card.trusted, problems=list(card.problems), masked=not reveal)
    return out


def cmd_read_id(args: argparse.Namespace) -> int:
    # lazy: pyserial's reader stack loads only to read a card (start-up: see kiosk/commands)
    from devices.id_card.reader import IdCardReader

    try:
        with (_reader_port(args.port) as url,
              IdCardReader(url, baudrate=args.baud, read_timeout_s=args.timeout) as reader):
            card = reader.read_card(fingerprint=args.fingerprint)
    except UnsupportedCardType as exc:
        _out(args, {"error": str(exc), "card_type": exc.flag}, f"kiosk devices read-id: {exc}", error=True)
        return EXIT_UNSUPPORTED
    except (DeviceError, ValueError) as exc:
        _out(args, {"error": str(exc)}, f"kiosk devices read-id: {exc}", error=True)
        return EXIT_DEVICE
    if card is None:
        _out(args, {"error": "no card"}, "no card on the reader: place the card flat on the reader and try again",
             error=True)
        return EXIT_NO_CARD
    try:
        fields = card_fields(card, reveal=args.reveal)
    finally:
        card.wipe()
    if args.json:
        print(json.dumps(fields, ensure_ascii=False, indent=2))
    else:
        for key, value in fields.items():
            if key not in ("problems", "trusted"):
                print(f"{key:>20}: {'' if value is None else value}")
        print(f"{'number check':>20}: " + ("ok" if fields["trusted"]
                                           else "NOT TRUSTED: " + "; ".join(fields["problems"])))
    return EXIT_OK if fields["trusted"] else EXIT_NOT_TRUSTED
