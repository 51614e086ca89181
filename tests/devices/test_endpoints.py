"""The endpoint registry (devices/endpoints.py): what each device role opens for each URI scheme."""

from __future__ import annotations

import os

import pytest

from devices.endpoints import (
    HANDLERS,
    handler,
    open_camera,
    open_pcsc_port,
    open_printer_port,
    open_serial_port,
    serial_port,
)
from devices.id_card.reader import IdCardReader
from devices.id_card.simulator import IdReaderSimulator
from devices.printer.simulator import VirtualPrinter
from kiosk.endpoints import EndpointError, parse_endpoint


@pytest.mark.parametrize(("role", "scheme"), [(role, scheme) for role, table in HANDLERS.items() for scheme in table])
def test_every_handler_in_the_tables_can_be_loaded(role: str, scheme: str) -> None:
    uri = {"sim": "sim://x", "tcp": "tcp://192.0.2.5:9100", "usb": "usb://0416:5011", "file": "file:///tmp/x",
           "pcsc": "pcsc://", "camera": "camera://0", "serial": "/dev/ttyUSB0"}.get(scheme, f"{scheme}://x")
    name, opener = handler(role, parse_endpoint(uri))
    assert callable(opener) and name == HANDLERS[role][scheme]


@pytest.mark.parametrize(("role", "uri"), [("id_reader", "tcp://192.0.2.5:9100"), ("printer", "pcsc://"),
                                           ("ssc_reader", "/dev/ttyUSB0"), ("camera", "usb://0416:5011")])
def test_an_endpoint_of_another_kind_of_device_is_refused_naming_the_forms(role: str, uri: str) -> None:
    with pytest.raises(EndpointError, match="does not name .* use one of"):
        handler(role, parse_endpoint(uri))


def test_a_serial_path_opens_as_it_is_and_owns_nothing() -> None:
    port = open_serial_port("/dev/ttyUSB0")
    assert port.url == "/dev/ttyUSB0" and port.simulator is None
    port.close()  # nothing to stop


def test_a_simulated_id_reader_answers_on_its_port_and_is_kept_across_a_reopen() -> None:
    port = open_serial_port("sim://id-reader")
    try:
        assert isinstance(port.simulator, IdReaderSimulator)
        with IdCardReader(port.url, read_timeout_s=1.0) as reader:
            assert reader.sam_status().ok
        assert open_serial_port("sim://id-reader", reuse=port) is port
        other = open_serial_port("/dev/ttyUSB0", reuse=port)
        assert other is not port and other.simulator is None
    finally:
        port.close()


def test_serial_port_stops_the_simulator_it_started() -> None:
    with serial_port("sim://id-reader") as port:
        assert port.simulator is not None and os.path.exists(port.url)
    assert not os.path.exists(port.url)  # stopped: its pty is gone


def test_a_simulated_printer_port_starts_and_stops_its_virtual_printer() -> None:
    port = open_printer_port(parse_endpoint("sim://printer"), timeout=0.5, baudrate=9600)
    assert port.simulator is None
    port.start()
    try:
        assert isinstance(port.simulator, VirtualPrinter)
        link = port.open_link()
        try:
            assert link.reports_status and link.settle_s == 0
            link.write(b"hello")
        finally:
            link.close()
        assert port.simulator.wait_for_job() == b"hello"
    finally:
        port.stop()
    assert port.simulator is None


def test_file_output_is_a_link_with_no_status_channel(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "printer.bin"
    port = open_printer_port(parse_endpoint(f"file://{target}"), timeout=0.5, baudrate=9600)
    link = port.open_link()
    try:
        assert not link.reports_status and link.settle_s == 0 and not link.persistent
        link.write(b"receipt")
        assert link.read_byte(0.1) is None
    finally:
        link.close()
    assert target.read_bytes() == b"receipt"


def test_a_pcsc_endpoint_names_its_reader_or_the_first_one() -> None:
    assert open_pcsc_port("pcsc://ACS ACR39U").reader_name == "ACS ACR39U"
    assert open_pcsc_port("pcsc://").reader_name is None


def test_simulated_cameras_follow_their_role() -> None:
    face, page = open_camera("sim://camera", "camera"), open_camera("sim://document-camera", "document_camera")
    qr = open_camera("sim://qr-camera", "qr_camera")
    for camera in (face, page, qr):
        frame = camera.read()
        assert frame.shape == (480, 640, 3)
        camera.close()
