"""USB printers by vendor:product id: the address is read right, and an absent printer is a
plain "not plugged in", never a crash. (Printing over USB needs the hardware: not tested here.)"""

from __future__ import annotations

import importlib.util

import pytest

from devices.base import ActionHint, DeviceNotFound, DeviceState
from devices.printer import PrintState, ReceiptPrinter, UsbAddress, parse_usb_uri, printer_endpoint
from kiosk.endpoints import EndpointError

ABSENT = "usb://0416:5011"  # a common POS-58 printer id; no such device is plugged into the test machine


@pytest.mark.parametrize("uri, address", [
    ("usb://0416:5011", UsbAddress(0x0416, 0x5011, 0)),
    ("USB://04B8:0E15", UsbAddress(0x04B8, 0x0E15, 0)),
    ("usb://4b8:e15/", UsbAddress(0x04B8, 0x0E15, 0)),
    ("usb://1fc9:2016?interface=1", UsbAddress(0x1FC9, 0x2016, 1)),
])
def test_usb_addresses_are_read_as_hex_ids(uri: str, address: UsbAddress) -> None:
    assert parse_usb_uri(uri) == address
    endpoint = printer_endpoint(uri)
    assert endpoint.scheme == "usb"
    assert endpoint.host == f"{address.vid:04x}:{address.pid:04x}"


@pytest.mark.parametrize("uri", ["usb://0416", "usb://0416:", "usb://xyz0:5011", "usb://10416:5011",
                                 "usb://0416:5011?iface=1", "usb://"])
def test_a_bad_usb_address_says_how_to_write_one(uri: str) -> None:
    with pytest.raises(EndpointError, match=r"usb://VID:PID.*lsusb"):
        parse_usb_uri(uri)
    with pytest.raises(EndpointError):
        ReceiptPrinter(uri)


def test_other_device_kinds_are_not_printers() -> None:
    with pytest.raises(EndpointError, match="does not name a printer"):
        ReceiptPrinter("pcsc://ACS ACR122U")


def test_an_absent_usb_printer_is_not_found_in_plain_words_and_jobs_are_refused() -> None:
    p = ReceiptPrinter(ABSENT, timeout_s=0.3)
    with pytest.raises(DeviceNotFound) as raised:
        p.open()
    # Whichever is missing on this machine — the printer, pyusb or libusb — the message names it.
    assert any(words in str(raised.value) for words in ("no USB printer usb://0416:5011 is plugged in",
                                                        "needs pyusb", "needs libusb"))
    status = p.status()
    assert status.state is DeviceState.NO_DEVICE
    assert status.last_error is not None and status.last_error.hint is ActionHint.CONFIGURATION
    health = p.query_status()
    assert not health.ready and not health.responding
    outcome = p.print_job("job-usb", b"\x1b@hello\n")
    assert outcome.state is PrintState.REFUSED and not outcome.kept
    p.close()


@pytest.mark.skipif(importlib.util.find_spec("usb") is None, reason="pyusb is not installed")
def test_with_pyusb_and_libusb_present_the_absent_printer_is_named() -> None:
    import usb.backend.libusb1

    if usb.backend.libusb1.get_backend() is None:
        pytest.skip("libusb-1.0 is not installed")
    with pytest.raises(DeviceNotFound, match="no USB printer usb://0416:5011 is plugged in: check the cable"):
        ReceiptPrinter(ABSENT).open()
