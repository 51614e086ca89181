"""Serial port discovery by stable id: by-id links (a temp folder of real symlinks to ptys) and
USB VID:PID + serial number (pyserial's own ListPortInfo entries)."""

from __future__ import annotations

import os
import pty
from collections.abc import Iterator
from pathlib import Path

import pytest
from serial.tools.list_ports_common import ListPortInfo

from devices.discovery import (
    SerialPortInfo,
    by_id_links,
    find_serial_port,
    list_serial_ports,
    match_ports,
    parse_usb_spec,
    port_info,
)
from devices.id_card import IdCardReader, IdReaderSimulator, sample_cards


@pytest.fixture
def ptys() -> Iterator[list[str]]:
    pairs = [pty.openpty() for _ in range(2)]
    yield [os.ttyname(slave) for _, slave in pairs]
    for master, slave in pairs:
        os.close(master)
        os.close(slave)


@pytest.fixture
def by_id(tmp_path: Path, ptys: list[str]) -> Path:
    root = tmp_path / "by-id"
    root.mkdir()
    (root / "usb-1a86_USB_Serial_A1-if00-port0").symlink_to(ptys[0])
    (root / "usb-FTDI_FT232R_B2-if00-port0").symlink_to(ptys[1])
    (root / "usb-gone_C3-if00-port0").symlink_to(tmp_path / "ttyUSB-unplugged")  # dangling
    return root


def usb_port(device: str, vid: int, pid: int, serial: str | None) -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number = vid, pid, serial
    info.manufacturer, info.product = "QinHeng", "USB Serial"
    info.description, info.hwid = "USB Serial", f"USB VID:PID={vid:04X}:{pid:04X} SER={serial}"
    return info


def test_by_id_links_map_targets_and_skip_dangling_links(by_id: Path, ptys: list[str]) -> None:
    links = by_id_links(by_id)
    assert set(links) == {str(Path(t).resolve()) for t in ptys}
    assert links[str(Path(ptys[0]).resolve())] == [str(by_id / "usb-1a86_USB_Serial_A1-if00-port0")]


def test_missing_by_id_folder_means_no_links(tmp_path: Path) -> None:
    assert by_id_links(tmp_path / "nope") == {}


def test_pyserial_entry_becomes_a_port_with_a_stable_id(by_id: Path, ptys: list[str]) -> None:
    info = port_info(usb_port(ptys[0], 0x1A86, 0x7523, "A1"), by_id_links(by_id))
    assert info.usb_id == "1a86:7523" and info.serial_number == "A1"
    assert info.stable_path == str(by_id / "usb-1a86_USB_Serial_A1-if00-port0")
    assert info.stable_id == info.stable_path
    no_link = port_info(usb_port("/dev/ttyUSB9", 0x0403, 0x6001, "B2"), {})
    assert no_link.stable_path is None and no_link.stable_id == "usb:0403:6001:B2"
    assert no_link.to_dict()["usb_id"] == "0403:6001"


def test_list_includes_by_id_links_that_pyserial_does_not_list(by_id: Path, ptys: list[str]) -> None:
    ports = list_serial_ports(by_id)
    assert all(isinstance(port, SerialPortInfo) for port in ports)
    linked = {port.stable_path for port in ports if port.stable_path}
    assert {str(by_id / "usb-1a86_USB_Serial_A1-if00-port0"), str(by_id / "usb-FTDI_FT232R_B2-if00-port0")} <= linked


def test_usb_spec_parsing() -> None:
    assert parse_usb_spec("usb:1a86:7523:A1") == (0x1A86, 0x7523, "A1")
    assert parse_usb_spec("0403:6001") == (0x0403, 0x6001, None)
    with pytest.raises(ValueError, match="VID:PID"):
        parse_usb_spec("ttyUSB0")


def test_find_by_vid_pid_and_serial_refuses_to_guess_between_twins() -> None:
    ports = [port_info(usb_port("/dev/ttyUSB0", 0x1A86, 0x7523, "A1")),
             port_info(usb_port("/dev/ttyUSB1", 0x1A86, 0x7523, "A2")),
             port_info(usb_port("/dev/ttyUSB2", 0x0403, 0x6001, None))]
    found = find_serial_port("usb:1a86:7523:A2", ports=ports)
    assert found is not None and found.device == "/dev/ttyUSB1"
    assert find_serial_port("0403:6001", ports=ports).device == "/dev/ttyUSB2"  # type: ignore[union-attr]
    assert find_serial_port("usb:dead:beef", ports=ports) is None
    with pytest.raises(ValueError, match="2 ports have USB id 1a86:7523"):
        find_serial_port("usb:1a86:7523", ports=ports)
    assert [p.device for p in match_ports(ports, 0x1A86, 0x7523)] == ["/dev/ttyUSB0", "/dev/ttyUSB1"]


def test_find_by_link_path(by_id: Path, ptys: list[str]) -> None:
    link = str(by_id / "usb-FTDI_FT232R_B2-if00-port0")
    found = find_serial_port(link, by_id_dir=by_id)
    assert found is not None and found.device == str(Path(ptys[1]).resolve())
    assert find_serial_port(str(by_id / "usb-gone_C3-if00-port0"), by_id_dir=by_id) is None


def test_reader_opens_through_the_discovered_stable_path(tmp_path: Path) -> None:
    root = tmp_path / "by-id"
    root.mkdir()
    link = root / "usb-SIM_IdReader_0001-if00-port0"
    with IdReaderSimulator(stable_path=link) as sim:
        sim.insert(sample_cards()[0])
        port = find_serial_port(str(link), by_id_dir=root)
        assert port is not None and port.stable_path == str(link)
        with IdCardReader(port.stable_path, read_timeout_s=1.0) as reader:
            card = reader.read_card()
        assert card is not None and card.trusted
