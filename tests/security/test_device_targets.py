"""Issue 17, unchecked device targets: a technician could point the printer at ``/etc/shadow``,
``file:///etc/passwd`` or ``tcp://169.254.169.254:80``. Device endpoints are checked against the allowed
schemes and paths — through the gateway's device settings change (real HTTP, technician token) and
through the settings check ``kiosk config check`` / ``kiosk run`` use — with the reason in the answer."""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "local_api"))

from gateway_rig import Rig, make_settings

from kiosk.settings import SettingsError, load_settings, settings_warnings, target_problems
from local_api.ops.device_settings import LOCAL_SETTINGS_FILE_NAME


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory):
    r = Rig(tmp_path_factory.mktemp("targets") / "data")
    yield r
    r.close()


def put_settings(rig: Rig, body: dict[str, object]) -> requests.Response:
    token = rig.first_token  # the first token is a technician's
    return requests.put(rig.url + "/api/v1/devices/settings", json=body,
                        headers={"Authorization": f"Bearer {token}"}, timeout=10)


REFUSED = [
    ({"printer": "/etc/shadow"}, "printer", "not a serial port"),
    ({"printer": "/dev/../etc/shadow"}, "printer", "not a serial port"),
    ({"printer": "file:///etc/passwd"}, "printer", "only files under"),
    ({"printer": "file:///var/../etc/passwd"}, "printer", "only files under"),
    ({"printer": "tcp://169.254.169.254:80"}, "printer", "link-local"),
    ({"printer": "tcp://[fe80::1]:9100"}, "printer", "link-local"),
    ({"printer": "tcp://224.0.0.251:9100"}, "printer", "multicast"),
    ({"printer": "tcp://0.0.0.0:9100"}, "printer", "unspecified"),
    ({"id_reader": "socket://169.254.169.254:80"}, "id_reader", "link-local"),
    ({"id_reader": "spy://loop://?file=/etc/passwd"}, "id_reader", "not allowed"),
    ({"printer": "/dev/ttyUSB0\x00"}, "printer", "control character"),
]


@pytest.mark.parametrize("body, field, reason", REFUSED)
def test_dangerous_targets_are_refused_with_the_reason(rig: Rig, body: dict[str, object], field: str,
                                                       reason: str) -> None:
    local = rig.data_dir / LOCAL_SETTINGS_FILE_NAME
    before = local.read_bytes() if local.exists() else None
    answer = put_settings(rig, body)
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["field"] == field and reason in answer.json()["message"], answer.json()
    assert (local.read_bytes() if local.exists() else None) == before  # nothing was changed


def test_legitimate_targets_are_accepted(rig: Rig) -> None:
    inside = rig.settings.devices_file_output_path / "receipts.bin"
    master, slave = os.openpty()  # a pty: what socat bridges and the tests' simulated readers are
    try:
        for body in ({"printer": "tcp://192.0.2.5:9100"}, {"printer": "tcp://127.0.0.1:9100"},
                     {"printer": "tcp://printer.example:9100"}, {"printer": "usb://0416:5011"},
                     {"printer": f"file://{inside}"}, {"printer": "sim://printer"},
                     {"id_reader": os.ttyname(slave)}, {"id_reader": "socket://127.0.0.1:7000"},
                     {"id_reader": "loop://"}, {"id_reader": "sim://id-reader"}):
            answer = put_settings(rig, body)
            assert answer.status_code == 200, (body, answer.text)
            (key, value), = body.items()
            written = tomllib.loads((rig.data_dir / LOCAL_SETTINGS_FILE_NAME).read_text())["devices"]
            assert written.get(key, value) == value
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("printer, reason", [("file:///etc/passwd", "only files under"),
                                             ("/etc/shadow", "not a serial port"),
                                             ("tcp://169.254.169.254:80", "link-local")])
def test_the_settings_check_refuses_them_too(tmp_path: Path, printer: str, reason: str) -> None:
    env = {"KIOSK_GATEWAY__DATA_DIR": str(tmp_path / "data"), "KIOSK_DEVICES__PRINTER": printer}
    load_settings(environ=env)  # a technician's own device commands still read them
    with pytest.raises(SettingsError) as refused:
        load_settings(environ=env, check_devices=True)
    problems = [p for p in refused.value.problems if p.key == "devices.printer"]
    assert problems and reason in problems[0].message and "KIOSK_DEVICES__PRINTER" in problems[0].source


def test_file_output_folder_is_a_setting(tmp_path: Path) -> None:
    out = tmp_path / "spool"
    settings = make_settings(tmp_path / "data", KIOSK_DEVICES__FILE_OUTPUT_DIR=str(out),
                             KIOSK_DEVICES__PRINTER=f"file://{out}/slip.bin")
    assert settings.devices_file_output_path == out.resolve()
    checked = load_settings(environ={"KIOSK_GATEWAY__DATA_DIR": str(tmp_path / "data"), "KIOSK_DEVICES__FILE_OUTPUT_DIR":
                                     str(out), "KIOSK_DEVICES__PRINTER": f"file://{out}/slip.bin"}, check_devices=True)
    # allowed; only the packaged sample PIN is worth a warning (a file printer counts as real)
    assert [p.key for p in settings_warnings(checked)] == ["maintenance.pin_hash"]
    outside = make_settings(tmp_path / "data", KIOSK_DEVICES__PRINTER=f"file://{out}/slip.bin")
    assert [p.key for p in target_problems(outside)] == ["devices.printer"]
    default = make_settings(tmp_path / "data")
    assert default.devices_file_output_path == (tmp_path / "data" / "printer-output").resolve()


def test_a_local_settings_file_written_before_the_check_stops_the_start(tmp_path: Path) -> None:
    """A ``kiosk.local.toml`` saved by an older gateway is a settings layer: ``kiosk run`` (check_devices)
    refuses to start on it, naming the file and the key, rather than printing into /etc/passwd."""
    data = tmp_path / "data"
    data.mkdir()
    local = data / LOCAL_SETTINGS_FILE_NAME
    local.write_text('[devices]\nprinter = "file:///etc/passwd"\n', encoding="utf-8")
    with pytest.raises(SettingsError) as refused:
        load_settings(environ={"KIOSK_GATEWAY__DATA_DIR": str(data)}, check_devices=True)
    problems = [p for p in refused.value.problems if p.key == "devices.printer"]
    assert problems and problems[0].source == str(local) and "only files under" in problems[0].message


def test_a_link_counts_by_what_it_points_at(rig: Rig, tmp_path: Path) -> None:
    master, slave = os.openpty()
    try:
        to_pty, to_passwd = tmp_path / "kiosk-reader", tmp_path / "kiosk-printer"
        to_pty.symlink_to(os.ttyname(slave))
        to_passwd.symlink_to("/etc/passwd")
        assert put_settings(rig, {"id_reader": str(to_pty)}).status_code == 200
        refused = put_settings(rig, {"printer": str(to_passwd)})
        assert refused.status_code == 422 and "not a serial port" in refused.json()["message"]
    finally:
        os.close(master)
        os.close(slave)
