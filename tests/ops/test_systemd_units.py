"""The shipped systemd units: parsed for the essentials, then verified by systemd itself."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
INSTALLED_KIOSK = "/opt/kiosk/current/bin/kiosk"  # the release deploy/update.sh switched to


def unit(name: str) -> configparser.ConfigParser:
    """A unit file as sections of keys; a repeated key keeps all its values, newline-joined."""
    class MultiDict(dict):  # type: ignore[type-arg]
        def __setitem__(self, key: str, value: object) -> None:
            if key in self and isinstance(value, list):
                self[key].extend(value)
            else:
                super().__setitem__(key, value)

    parser = configparser.RawConfigParser(dict_type=MultiDict, strict=False, interpolation=None,  # type: ignore[arg-type]
                                          delimiters=("=",), comment_prefixes=("#", ";"))
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # systemd keys are case-sensitive
    parser.read(UNITS / name, encoding="utf-8")
    return parser


def test_gateway_and_app_are_separate_notify_services_with_a_watchdog() -> None:
    for name, command in (("kiosk-gateway.service", "gateway"), ("kiosk-app.service", "app")):
        service = unit(name)["Service"]
        assert service["Type"] == "notify"
        assert service["NotifyAccess"] == "main"  # only the process itself, not stray children
        assert int(service["WatchdogSec"]) >= 10
        assert service["Restart"] == "always"
        assert service["ExecStart"].split()[:2] == [INSTALLED_KIOSK, command]
        assert service["User"] == "kiosk"
        assert service["EnvironmentFile"].startswith("-/etc/kiosk/")  # optional file
        assert "--config /etc/kiosk/kiosk.toml" in service["ExecStart"]
        assert unit(name)["Unit"]["StartLimitIntervalSec"] == "0"  # never give up restarting


def test_the_gateway_survives_an_app_crash() -> None:
    gateway = unit("kiosk-gateway.service")["Unit"]
    app = unit("kiosk-app.service")["Unit"]
    # The app only wants the gateway; nothing ties the gateway's life to the app's.
    assert "kiosk-gateway.service" in app["Wants"] and "kiosk-gateway.service" in app["After"]
    for key in ("Requires", "BindsTo", "PartOf", "Requisite"):
        assert "kiosk-gateway" not in app.get(key, "")
        assert "kiosk-app" not in gateway.get(key, "")
    assert "kiosk-display.service" in app["BindsTo"]  # but the window dies with the compositor


def test_hardening_and_device_access() -> None:
    for name in ("kiosk-gateway.service", "kiosk-app.service"):
        service = unit(name)["Service"]
        for key, expected in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                              ("ProtectHome", "yes"), ("RestrictSUIDSGID", "yes"), ("CapabilityBoundingSet", "")):
            assert service[key] == expected, f"{name}: {key}"
        assert service["StateDirectory"] == "kiosk" and service["StateDirectoryMode"] == "0700"
    gateway = unit("kiosk-gateway.service")["Service"]
    assert gateway["PrivateDevices"] == "yes"  # the gateway never opens a device
    app = unit("kiosk-app.service")["Service"]
    assert "PrivateDevices" not in app  # it would hide the serial ports, printers and cameras
    assert set(app["SupplementaryGroups"].split()) >= {"dialout", "lp", "video"}
    assert "WAYLAND_DISPLAY=wayland-kiosk" in app["Environment"]
    display = unit("kiosk-display.service")["Service"]
    assert "--shell=kiosk-shell.so" in display["ExecStart"] and "--socket=wayland-kiosk" in display["ExecStart"]
    assert display["RuntimeDirectory"] == "kiosk-display"


@pytest.fixture()
def runnable_units(tmp_path: Path) -> Path:
    """The units with the installed kiosk path pointed at this checkout's, so systemd can check
    that the command exists; nothing else changes."""
    here = Path(sys.executable).with_name("kiosk")
    if not here.exists():
        pytest.skip(f"no kiosk command at {here} to stand in for {INSTALLED_KIOSK}")
    for path in UNITS.glob("*.service"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8").replace(INSTALLED_KIOSK, str(here)),
                                          encoding="utf-8")
    return tmp_path


def _systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze is not installed (apt: systemd); the units were only parsed")
    return found


def test_systemd_analyze_verify_finds_nothing(runnable_units: Path) -> None:
    tool = _systemd_analyze()
    names = sorted(str(p) for p in runnable_units.glob("*.service"))
    done = subprocess.run([tool, "verify", *names], capture_output=True, text=True, timeout=60,
                          cwd=runnable_units, check=False)
    # verify exits 0 even for an unknown key; its warnings on stderr are failures here.
    problems = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 0 and problems == [], "\n".join(problems)


def test_exposure_stays_low(runnable_units: Path) -> None:
    tool = _systemd_analyze()
    for name in ("kiosk-gateway.service", "kiosk-app.service"):
        done = subprocess.run([tool, "security", "--offline=yes", "--threshold=30", "--no-pager",
                               str(runnable_units / name)], capture_output=True, text=True, timeout=60,
                              check=False)
        summary = [line for line in done.stdout.splitlines() if "Overall exposure level" in line]
        assert done.returncode == 0, f"{name}: exposure above 3.0 ({summary})"
