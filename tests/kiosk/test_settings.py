"""Layered settings and `kiosk config check`: every problem named with its file and key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.settings import SettingsError, load_settings, settings_warnings


def test_packaged_defaults_are_valid_and_use_simulators():
    s = load_settings(environ={})
    assert s.devices.id_reader == "sim://id-reader"
    assert s.devices.printer == "sim://printer"
    assert s.gateway.host == "127.0.0.1"


def test_file_then_environment_layers_override(tmp_path: Path):
    f = tmp_path / "kiosk.toml"
    f.write_text('[kiosk]\nid = "XM-01"\n[gateway]\nport = 9000\n', encoding="utf-8")
    s = load_settings(f, environ={"KIOSK_GATEWAY__PORT": "9100"})
    assert s.kiosk.id == "XM-01"
    assert s.gateway.port == 9100
    assert s.kiosk.place  # untouched keys keep their defaults


def test_every_problem_is_reported_with_file_and_key(tmp_path: Path):
    f = tmp_path / "bad.toml"
    f.write_text('[kiosk]\nidle_timeout_s = -5\ncolour = "red"\n[devices]\nprinter = "lpt://1"\n',
                 encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(f, environ={})
    problems = {p.key: p for p in info.value.problems}
    assert set(problems) == {"kiosk.idle_timeout_s", "kiosk.colour", "devices.printer"}
    assert all(p.source == str(f) for p in problems.values())
    assert "unknown" in problems["kiosk.colour"].message
    assert "lpt" in problems["devices.printer"].message


def test_environment_problem_names_the_variable():
    with pytest.raises(SettingsError) as info:
        load_settings(environ={"KIOSK_GATEWAY__PORT": "eighty"})
    [problem] = info.value.problems
    assert problem.source == "environment KIOSK_GATEWAY__PORT"
    assert problem.key == "gateway.port"


def test_malformed_toml_names_the_file_and_line(tmp_path: Path):
    f = tmp_path / "broken.toml"
    f.write_text("[kiosk\nid = 1\n", encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(f, environ={})
    assert str(f) in str(info.value) and "line 1" in str(info.value)


def test_missing_file_is_one_clear_problem(tmp_path: Path):
    with pytest.raises(SettingsError) as info:
        load_settings(tmp_path / "nope.toml", environ={})
    assert "file not found" in str(info.value)


def test_missing_serial_port_is_a_warning_not_an_error(tmp_path: Path):
    f = tmp_path / "k.toml"
    f.write_text('[devices]\nid_reader = "/dev/serial/by-id/usb-no-such-reader"\n', encoding="utf-8")
    settings = load_settings(f, environ={}, check_devices=True)  # a terminal starts with it
    warned = [p for p in settings_warnings(settings) if p.key == "devices.id_reader"]
    assert warned and warned[0].source == str(f) and "does not exist" in warned[0].message


def _config_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", "config", "check", *args], check=False, capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})


def test_config_check_exit_status_2_lists_problems(tmp_path: Path):
    f = tmp_path / "bad.toml"
    f.write_text('[gateway]\nport = 70000\n[devices]\nprinter = "nonsense"\n', encoding="utf-8")
    result = _config_check("--config", str(f))
    assert result.returncode == 2
    assert f"{f}: gateway.port" in result.stderr
    assert f"{f}: devices.printer" in result.stderr


def test_config_check_ok_on_defaults():
    result = _config_check()
    assert result.returncode == 0, result.stderr
    assert "settings OK" in result.stdout


def test_config_check_warns_about_an_absent_device_and_strict_makes_it_an_error(tmp_path: Path):
    f = tmp_path / "k.toml"
    f.write_text('[devices]\nid_reader = "/dev/serial/by-id/usb-no-such-reader"\n'
                 '[gateway]\ndata_dir = "%s"\n' % (tmp_path / "data"), encoding="utf-8")
    result = _config_check("--config", str(f))
    assert result.returncode == 0, result.stderr
    assert "warning" in result.stderr and f"{f}: devices.id_reader" in result.stderr
    assert "does not exist" in result.stderr and "with 2 warning(s)" in result.stdout  # + the sample PIN
    strict = _config_check("--config", str(f), "--strict")
    assert strict.returncode == 2
    assert f"{f}: devices.id_reader" in strict.stderr and "maintenance.pin_hash" in strict.stderr
    assert "settings OK" not in strict.stdout


def test_config_check_strict_passes_clean_settings():
    result = _config_check("--strict")
    assert result.returncode == 0, result.stderr
    assert "settings OK (" in result.stdout and not result.stderr


def test_an_unsafe_device_target_still_stops_the_check(tmp_path: Path):
    f = tmp_path / "k.toml"
    f.write_text('[devices]\nprinter = "/etc/shadow"\n', encoding="utf-8")
    result = _config_check("--config", str(f))
    assert result.returncode == 2 and f"{f}: devices.printer" in result.stderr and "not a serial port" in result.stderr


def test_numbers_from_the_environment_are_coerced_and_checked():
    assert load_settings(environ={"KIOSK_DEVICES__PAPER_WIDTH_MM": "58"}).devices.paper_width_mm == 58
    with pytest.raises(SettingsError) as info:
        load_settings(environ={"KIOSK_DEVICES__PAPER_WIDTH_MM": "70"})
    assert "58 or 80" in str(info.value)


def test_a_real_platform_with_the_sample_secret_is_refused():
    with pytest.raises(SettingsError) as info:
        load_settings(environ={"KIOSK_PLATFORM__URL": "https://zwfw.example.gov.cn/api"})
    assert "sample" in str(info.value) and "platform" in str(info.value)
    ok = load_settings(environ={"KIOSK_PLATFORM__URL": "https://zwfw.example.gov.cn/api",
                                "KIOSK_PLATFORM__SECRET": "issued-by-the-platform-0123456789"})
    assert ok.platform.url == "https://zwfw.example.gov.cn/api"
    # The built-in simulator on loopback is fine with the sample secret.
    assert load_settings(environ={"KIOSK_PLATFORM__URL": "http://127.0.0.1:8471"}).platform.url


def test_technician_changes_in_the_data_folder_are_a_layer(tmp_path: Path):
    (tmp_path / "kiosk.local.toml").write_text('[devices]\nprinter = "tcp://127.0.0.1:9100"\n', encoding="utf-8")
    s = load_settings(environ={"KIOSK_GATEWAY__DATA_DIR": str(tmp_path)})
    assert s.devices.printer == "tcp://127.0.0.1:9100"
    # The environment still wins over it.
    s = load_settings(environ={"KIOSK_GATEWAY__DATA_DIR": str(tmp_path), "KIOSK_DEVICES__PRINTER": "sim://printer"})
    assert s.devices.printer == "sim://printer"
    (tmp_path / "kiosk.local.toml").write_text('[devices]\nprinter = "lpt1"\n', encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(environ={"KIOSK_GATEWAY__DATA_DIR": str(tmp_path)})
    assert str(tmp_path / "kiosk.local.toml") in str(info.value)
