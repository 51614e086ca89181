"""What a technician does to one device: probe a port, test, read, print — in plain words.

:mod:`kiosk.terminal.device_control` (the app's side of device operations) and ``kiosk devices probe``
share these functions. Results are words for a technician and never carry personal data: a test
read shows only a masked name and number (:mod:`kiosk.privacy`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devices.base import DeviceError, DeviceNotFound
from devices.discovery import find_serial_port
from devices.endpoints import serial_port
from devices.id_card.identity import CARD_TYPE_LABELS, UnsupportedCardType, sample_cards
from devices.id_card.reader import IdCardReader
from devices.printer.health import STATUS_FIXED_BITS
from devices.printer.receipt import render_escpos
from devices.printer.transports import SerialLink
from kiosk.privacy import mask_id_number, mask_name
from kiosk.terminal.receipts import test_slip

log = logging.getLogger(__name__)

#: Baud rates a SAM ID card reader is tried at, most common first.
PROBE_BAUDS = (115200, 57600, 38400, 19200, 9600)
#: Baud rates a serial ESC/POS printer is tried at (9600 is the factory setting of most).
PRINTER_BAUDS = (9600, 19200, 38400, 115200)
DLE_EOT_1 = b"\x10\x04\x01"  # real-time printer status (DEVICES.md §3)


@dataclass
class SamProbe:
    """What answered the SAM status command on a port."""

    found: bool = False
    baud: int | None = None
    sam_status: str | None = None
    sam_id: str | None = None
    tried: list[int] = field(default_factory=list)


def probe_sam(url: str, *, timeout_s: float = 0.5, bauds: tuple[int, ...] = PROBE_BAUDS) -> SamProbe:
    """Send the SAM status command at each baud rate until a reader answers.

    Raises :class:`DeviceNotFound` when the port cannot be opened (absent, or gone mid-probe).
    """
    result = SamProbe()
    for baud in bauds:
        result.tried.append(baud)
        reader = IdCardReader(url, baudrate=baud, read_timeout_s=timeout_s)
        try:
            reader.open()
            status = reader.sam_status()
        except DeviceNotFound:
            raise
        except DeviceError:
            continue  # silence or noise at this speed: try the next one
        finally:
            reader.close()
        result.found, result.baud, result.sam_status = True, baud, status.meaning
        try:
            reader.open()
            result.sam_id = reader.sam_id()
        except DeviceError:
            pass  # the id is a nicety; the reader answered
        finally:
            reader.close()
        break
    return result


def probe_printer(url: str, *, timeout_s: float = 0.5, bauds: tuple[int, ...] = PRINTER_BAUDS) -> int | None:
    """The baud rate at which a serial ESC/POS printer answers DLE EOT 1 with a status byte, or None.

    Hand-written rather than :func:`devices.printer.health.read_status`: that asks all four
    statuses, four timeouts per baud rate on a silent port, and a probe must stay short.
    Raises :class:`DeviceNotFound` when the port cannot be opened.
    """
    for baud in bauds:
        link = SerialLink(url, baud, timeout_s)  # DeviceNotFound when the port is not there
        try:
            link.drain()
            link.write(DLE_EOT_1)
            byte = link.read_byte(timeout_s)
        except DeviceNotFound:
            raise
        except DeviceError as exc:
            raise DeviceNotFound(f"port {url} went away during the probe: {exc}") from exc
        finally:
            link.close()
        if byte is not None and byte & STATUS_FIXED_BITS == STATUS_FIXED_BITS:
            return baud
    return None


@contextmanager
def serial_url(spec: str) -> Iterator[str]:
    """A pyserial URL for ``spec`` (device path, by-id link, ``usb:VID:PID[:SERIAL]`` or pyserial URL),
    starting a simulated reader holding the first sample card for ``sim://id-reader`` (the endpoint
    registry decides what ``spec`` opens)."""
    if spec.startswith("usb:"):
        try:
            port = find_serial_port(spec)
        except ValueError as exc:
            raise DeviceNotFound(str(exc)) from exc
        if port is None:
            raise DeviceNotFound(f"no serial port with USB id {spec[4:]} is plugged in: "
                                 "check the cable, or list the ports again")
        yield port.device
        return
    with serial_port(spec) as opened:
        if opened.simulator is not None:
            opened.simulator.insert(sample_cards()[0])
        yield opened.url


def probe_port(port: str, *, timeout_s: float = 0.5) -> dict[str, Any]:
    """``{"port", "found": "id_reader"|"printer"|None, "baud", "detail"}``; never raises.

    A SAM reader is tried first (its status command is harmless to a printer, which ignores it),
    then an ESC/POS printer.
    """
    out: dict[str, Any] = {"port": port, "found": None, "baud": None, "detail": ""}
    try:
        with serial_url(port) as url:
            sam = probe_sam(url, timeout_s=timeout_s)
            if sam.found:
                out.update(found="id_reader", baud=sam.baud,
                           detail=f"身份证阅读器 / SAM ID card reader at {sam.baud} baud; SAM status: {sam.sam_status}")
                return out
            baud = probe_printer(url, timeout_s=timeout_s)
            if baud is not None:
                out.update(found="printer", baud=baud,
                           detail=f"票据打印机 / ESC/POS receipt printer at {baud} baud (it answered DLE EOT)")
                return out
    except (DeviceError, ValueError, OSError) as exc:
        out["detail"] = (f"端口不可用 / port {port} cannot be used: {exc}. It may have been unplugged during the "
                         "probe: check the cable and list the ports again")
        return out
    out["detail"] = (f"未识别 / nothing answered on {port} as a SAM ID card reader "
                     f"({', '.join(map(str, PROBE_BAUDS))} baud) or an ESC/POS printer "
                     f"({', '.join(map(str, PRINTER_BAUDS))} baud): check the power and the cable")
    return out


# -- tests of one device -------------------------------------------------------------------------

def id_self_test(reader: Any) -> tuple[bool, str]:
    """Ask the running reader's SAM for its status (between polls: the reader serialises exchanges)."""
    try:
        status = reader.sam_status()
        if not status.ok:
            return False, f"SAM 模块异常 / the SAM reports a problem: {status.meaning}; reset the reader"
        return True, f"阅读器正常 / ID card reader answers on {reader.url}; SAM status: {status.meaning}"
    except DeviceError as exc:
        return False, f"阅读器无响应 / ID card reader did not answer: {exc}"


def id_test_read(reader: Any) -> tuple[bool, str]:
    """Read the card on the reader once and describe it masked (type, masked name and number, check)."""
    try:
        card = reader.read_card()
    except UnsupportedCardType as exc:
        return False, f"不支持的证件 / the card on the reader is of a type this kiosk does not read ({exc.flag})"
    except DeviceError as exc:
        return False, f"读卡失败 / the read failed: {exc}; place the card flat and try again"
    if card is None:
        return False, "未放卡 / no card on the reader: place a test card on the reader and run the test again"
    try:
        check = "号码校验通过 / number check passed" if card.trusted else \
            "号码校验未通过 / number check FAILED: " + "; ".join(card.problems)
        label = CARD_TYPE_LABELS.get(card.card_type, card.card_type)
        return card.trusted, (f"读卡成功 / card read: {label}, {mask_name(card.name)}, "
                              f"{mask_id_number(card.id_number)}; {check}")
    finally:
        card.wipe()


def ssc_test_read(reader: Any, timeout_s: float = 5.0) -> tuple[bool, str]:
    """Read the social security card in the slot once, masked."""
    try:
        card = reader.read_card(timeout_s=timeout_s)
    except DeviceError as exc:
        return False, f"读卡失败 / the social security card could not be read: {exc}"
    return True, (f"读卡成功 / social security card read: {mask_name(card.name)}, "
                  f"{mask_id_number(card.id_number)}, region {card.region}")


def test_slip_bytes(kiosk_id: str, place: str, paper_width_mm: int) -> bytes:
    """The technician's test slip (Chinese punctuation, ¥, QR, cut) as ESC/POS bytes."""
    return render_escpos(test_slip(kiosk_id, place, datetime.now().replace(microsecond=0)), paper_width_mm)


test_slip_bytes.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite the name


def printer_words(health: Any) -> tuple[bool, str]:
    """A printer health in plain words: (ready, words)."""
    if health is None:
        return False, "打印机状态未知 / the printer's status is not known yet: run the self test"
    if health.ready:
        low = "；纸将用尽 / paper near end: replace the roll soon" if health.paper.value == "low" else ""
        return True, "纸已装好，打印机就绪 / paper loaded, printer ready" + low
    return False, f"打印机未就绪 / printer not ready: {health.reason}"

