"""The technician's device settings file across restarts: a later change keeps the earlier ones,
even though, after a restart, the loaded settings already contain them."""

from __future__ import annotations

import tomllib
from pathlib import Path

from kiosk.settings import load_settings
from local_api.ops.device_settings import LOCAL_SETTINGS_FILE_NAME, DeviceSettingsBody, LocalDeviceSettings


def test_a_second_change_after_a_restart_keeps_the_first(tmp_path: Path) -> None:
    environ = {"KIOSK_GATEWAY__DATA_DIR": str(tmp_path)}
    local = tmp_path / LOCAL_SETTINGS_FILE_NAME
    first = LocalDeviceSettings(load_settings(environ=environ), local)
    first.change(DeviceSettingsBody(paper_width_mm=58))
    assert tomllib.loads(local.read_text())["devices"] == {"paper_width_mm": 58}

    restarted = load_settings(environ=environ)  # the gateway starts again: the file is a settings layer now
    assert restarted.devices.paper_width_mm == 58
    LocalDeviceSettings(restarted, local).change(DeviceSettingsBody(read_timeout_s=4.0))
    assert tomllib.loads(local.read_text())["devices"] == {"paper_width_mm": 58, "read_timeout_s": 4.0}
    assert load_settings(environ=environ).devices.paper_width_mm == 58  # not back to 80 after the next restart
