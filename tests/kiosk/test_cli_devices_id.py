"""`kiosk devices list | probe | read-id` run in-process against simulated readers on real ptys."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.id_card import IdentityCard, IdReaderSimulator, sample_cards, sample_foreign_cards
from kiosk.cli import main

BASE_KEYS = {"card_type", "name", "gender", "nation", "birth_date", "address", "id_number", "authority",
             "valid_from", "valid_to"}


@pytest.fixture
def sim() -> Iterator[IdReaderSimulator]:
    with IdReaderSimulator() as s:
        yield s


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(["devices", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_read_id_is_masked_by_default(sim: IdReaderSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    sim.insert(sample_cards()[0])
    assert main(["devices", "read-id", "--port", sim.port]) == 0
    out = capsys.readouterr().out
    assert "张*" in out and "1101**********002X" in out and "number check: ok" in out
    for secret in ("张三", "11010519491231002X", "测试路", "1949-12-31"):
        assert secret not in out


def test_read_id_json_has_the_documented_keys(sim: IdReaderSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    sim.insert(sample_cards()[0])
    code, masked = run_json(capsys, "read-id", "--port", sim.port)
    assert code == 0 and BASE_KEYS <= set(masked)
    assert masked["id_number"] == "1101**********002X" and masked["name"] == "张*" and masked["masked"] is True
    assert masked["valid_to"] == "长期" and masked["nation"] == "汉" and masked["trusted"] is True
    code, revealed = run_json(capsys, "read-id", "--port", sim.port, "--reveal")
    assert revealed["id_number"] == "11010519491231002X" and revealed["name"] == "张三"
    assert revealed["birth_date"] == "1949-12-31" and revealed["address"] == "北京市朝阳区测试路1号"
    assert revealed["authority"] == "北京市公安局朝阳分局" and revealed["valid_from"] == "2010-01-01"


@pytest.mark.parametrize("card, extra", [
    (sample_cards()[2], {"pass_number": "01234567", "issue_count": 1}),
    (sample_foreign_cards()[0], {"english_name": "SMITH, JOHN", "nationality": "USA", "card_version": "01"}),
    (sample_foreign_cards()[1], {"english_name": "MONTGOMERY-WHITFIELD, ALEXANDRA CATHERINE", "nationality": "USA",
                                 "renewal_count": 0, "previous_number_link": ""}),
], ids=lambda v: v.card_type if isinstance(v, IdentityCard) else "")
def test_read_id_shows_card_type_specific_fields(
        sim: IdReaderSimulator, capsys: pytest.CaptureFixture[str], card: IdentityCard, extra: dict) -> None:
    sim.insert(card)
    code, out = run_json(capsys, "read-id", "--port", sim.port, "--reveal")
    assert code == 0 and out["card_type"] == card.card_type and out["id_number"] == card.id_number
    assert {k: out[k] for k in extra} == extra


def test_read_id_exit_statuses(sim: IdReaderSimulator, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["devices", "read-id", "--port", sim.port]) == 3
    assert "no card on the reader" in capsys.readouterr().err
    bad = sample_cards()[1]
    bad.id_number = "350205198506150031"
    sim.insert(bad)
    code, out = run_json(capsys, "read-id", "--port", sim.port)
    assert code == 4 and out["trusted"] is False
    assert out["problems"] == ["ID number: check character does not match"]
    missing = str(tmp_path / "ttyUSB-nope")
    assert main(["devices", "read-id", "--port", missing, "--timeout", "0.3"]) == 1
    err = capsys.readouterr().err
    assert missing in err and "does not exist" in err


def test_read_id_on_the_built_in_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(capsys, "read-id", "--port", "sim://id-reader")
    assert code == 0 and out["id_number"] == "1101**********002X"


def test_probe_finds_the_reader_and_its_baud_rate(capsys: pytest.CaptureFixture[str]) -> None:
    with IdReaderSimulator(line_baud=38400) as sim:
        code, out = run_json(capsys, "probe", sim.port, "--timeout", "0.2")
    assert code == 0 and out["found"] and out["baud"] == 38400 and out["tried"] == [115200, 57600, 38400]
    assert out["sam_status"] == "ok" and out["sam_id"] == "0501000020101010000123456789abcd"


def test_probe_of_a_silent_port_says_nothing_answered(sim: IdReaderSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    sim.silent = True
    assert main(["devices", "probe", sim.port, "--timeout", "0.1"]) == 1
    assert "no SAM ID card reader answered" in capsys.readouterr().out


def test_list_shows_stable_ids_and_unavailable_sections(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    link = by_id / "usb-SIM_IdReader_0001-if00-port0"
    # A module that cannot be imported stands for a missing or broken PC/SC / camera module.
    monkeypatch.setitem(sys.modules, "devices.camera.discovery", None)
    with IdReaderSimulator(stable_path=link):
        code, out = run_json(capsys, "list", "--by-id-dir", str(by_id))
        assert code == 0
        assert str(link) in [p["stable_path"] for p in out["serial_ports"]["items"]]
        assert "unavailable" in out["cameras"] and "devices.camera.discovery" in out["cameras"]["unavailable"]
        assert "items" in out["smartcard_readers"] or "unavailable" in out["smartcard_readers"]
        assert main(["devices", "list", "--by-id-dir", str(by_id)]) == 0
    text = capsys.readouterr().out
    assert "Cameras: unavailable: " in text and str(link) in text
