"""The kiosk app's side of device operations: tests, settings changes, paper, ports and probes.

Used by the on-screen maintenance mode and by the effect runner (device tests a technician queued
at the gateway, and device settings changed there, both arrive in the heartbeat answer). Methods
marked *blocking* do device or file I/O: call them off the UI thread. One lock serialises the
blocking calls and printing, so a receipt never goes to a printer that is being reopened.

Settings changes use the gateway's own rules and file (:class:`local_api.ops.device_settings.
LocalDeviceSettings`: pydantic validation, "never without an ID card reader", an atomic write of
``<data_dir>/kiosk.local.toml``), so the technician page and the kiosk agree on what is valid.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from devices.base import DeviceError, DeviceEvent
from devices.discovery import list_serial_ports
from devices.printer.jobs import PrintOutcome
from kiosk.settings import LOCAL_OVERRIDES, DevicesSection, Settings
from kiosk.terminal import device_ops
from kiosk.terminal.cameras import CAMERAS, capture_test, reopen_camera
from kiosk.terminal.cameras import NAMES as CAMERA_NAMES
from kiosk.terminal.hardware import DEVICE_KEYS, Hardware
from local_api.files import write_atomically
from local_api.ops.device_settings import DeviceSettingsBody, LocalDeviceSettings, SettingsRefused

log = logging.getLogger(__name__)

DEVICES = ("id_reader", "printer", "ssc_reader", *CAMERAS)
ACTIONS = ("self_test", "test_read", "test_print", "reset")
_NAMES = {"id_reader": "身份证阅读器 / ID card reader", "printer": "打印机 / receipt printer",
          "ssc_reader": "社保卡读卡器 / social security card reader", "camera": "人像摄像头 / face camera",
          **CAMERA_NAMES}


@dataclass(frozen=True)
class TestOutcome:
    """The result of one device test, in plain words for a technician (no personal data)."""

    __test__ = False  # not a pytest test class, despite the name

    device: str
    action: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class ChangeOutcome:
    """What a settings change did: ``applied`` means saved *and* the affected devices reopened."""

    applied: bool
    message: str
    changes: dict[str, tuple[object, object]] = field(default_factory=dict)


@dataclass(frozen=True)
class DeviceRow:
    """One line of the maintenance device table."""

    name: str
    endpoint: str
    state: str
    detail: str
    counters: dict[str, int]
    last_error: str


class DeviceControl:
    """The app's side of device operations. Methods marked blocking do I/O: call them off the UI thread.

    ``settings`` are the settings the app started with; :attr:`settings` follows applied changes.
    ``hardware`` is updated in place by a change (the same object), so ``terminal.hardware`` stays valid.
    """

    def __init__(self, settings: Settings, hardware: Hardware, on_event: Callable[[DeviceEvent], None]) -> None:
        self._configured = settings  # the base the local file is written against, as the gateway does
        self.settings = settings
        self.hardware = hardware
        self.on_event = on_event
        if hardware.on_event is None:
            hardware.on_event = on_event
        self._lock = threading.RLock()
        self._store = LocalDeviceSettings(settings, settings.data_path / LOCAL_OVERRIDES)
        # The app loaded the local file at start: its revision is the one in force.
        self.applied_revision: str | None = self._store.view()["revision"]
        self.last_problem = ""
        """The last settings change that could not be applied, in plain words ('' when none)."""
        self._jobs = {"jobs_printed": 0, "job_failures": 0}

    @property
    def local_path(self) -> Path:
        """``<data_dir>/kiosk.local.toml``, the file technicians' changes are saved in."""
        return self._store.path

    # -- the device table ------------------------------------------------------------------------

    def rows(self) -> list[DeviceRow]:
        """Each device's state, counters and last error (no I/O)."""
        hw, dev = self.hardware, self.settings.devices
        out = []
        reader = hw.id_reader
        status = reader.status()
        health = reader.supervision()
        counters = {"exchanges": status.operations, "errors": status.errors,
                    "reconnects": max(0, health.connects - 1) if health else 0}
        detail = (health.problem if health and health.problem else f"port {reader.url}") + \
            (" (simulated)" if hw.id_simulator is not None else "")
        out.append(_row("id_reader", dev.id_reader, status, detail, counters))
        printer = hw.printer
        status = printer.status()
        counters = dict(self._jobs, problems=status.errors)
        out.append(_row("printer", dev.printer, status, device_ops.printer_words(printer.last_health)[1], counters))
        if hw.ssc_reader is not None:
            status = hw.ssc_reader.status()
            out.append(_row("ssc_reader", dev.ssc_reader, status, str(status.detail.get("reader", "")),
                            {"reads": status.operations, "read_errors": status.errors}))
        for name in CAMERAS:
            endpoint = dev.camera_endpoint(name)
            camera = hw.cameras.get(name)
            if camera is not None and hasattr(camera, "status"):  # a real camera (kiosk/terminal/cameras.py)
                status = camera.status()
                out.append(_row(name, endpoint, status, f"{float(status.detail.get('fps') or 0):.0f} fps",
                                {"frames": status.operations, "stalls": status.errors}))
            else:
                there = camera is not None
                out.append(DeviceRow(name, endpoint, "online" if there else "no_device",
                                     "simulated" if there else ("not configured" if endpoint == "none"
                                                                else "cannot be opened"), {}, ""))
        return out

    def warnings(self) -> list[str]:
        """What the technician must fix that does not stop the kiosk (no I/O beyond the local settings
        file): real hardware while the maintenance PIN is the packaged sample one."""
        return self._store.warnings()

    # -- tests -----------------------------------------------------------------------------------

    def test(self, device: str, action: str) -> TestOutcome:
        """Blocking: run one test (self_test, test_read, test_print, reset) on one device. Never raises
        for a device problem: the outcome says what happened in plain words."""
        if device not in DEVICES or action not in ACTIONS:
            return TestOutcome(device, action, False, f"unknown test {device}/{action}: devices are "
                               f"{', '.join(DEVICES)}; tests are {', '.join(ACTIONS)}")
        with self._lock:
            try:
                ok, detail = self._test(device, action)
            except Exception as exc:  # a test must report, never take the caller's thread down
                log.exception("device test %s/%s failed", device, action)
                ok, detail = False, f"测试出错 / the test could not run: {type(exc).__name__}: {exc}"
        log.info("device test %s/%s: %s", device, action, "ok" if ok else "failed")
        return TestOutcome(device, action, ok, detail)

    def _test(self, device: str, action: str) -> tuple[bool, str]:
        hw = self.hardware
        if action == "reset" and device in CAMERAS:
            return reopen_camera(hw.cameras, device, self.settings.devices, self.on_event)
        if action == "reset":
            if device not in DEVICE_KEYS:
                return False, f"{_NAMES[device]}: nothing to reset (it is read on demand)"
            if device == "ssc_reader" and hw.ssc_reader is None:
                return False, f"{_NAMES[device]}: not configured on this kiosk"
            current = self.settings.devices
            try:
                hw.reopen(device, current, current)
            except DeviceError as exc:
                return False, f"重新连接失败 / {_NAMES[device]} could not be reopened: {exc}"
            return True, f"已重新连接 / {_NAMES[device]} reopened from the current settings"
        if device == "id_reader":
            if action == "self_test":
                return device_ops.id_self_test(hw.id_reader)
            if action == "test_read":
                return device_ops.id_test_read(hw.id_reader)
        elif device == "printer":
            if action == "self_test":
                return device_ops.printer_words(hw.printer.query_status())
            if action == "test_print":
                dev, kiosk = self.settings.devices, self.settings.kiosk
                data = device_ops.test_slip_bytes(kiosk.id, kiosk.place, dev.paper_width_mm)
                outcome = self.print_job(str(uuid.uuid4()), data)  # a fresh id: the printer skips a repeated one
                if outcome.printed:
                    return True, ("测试页已打印 / test slip printed: check the Chinese punctuation “，：（）、”, ¥, "
                                  "the QR code and the cut")
                return False, f"测试页未打印 / test slip not printed: {outcome.reason}"
        elif device == "ssc_reader":
            reader = hw.ssc_reader
            if reader is None:
                return False, f"{_NAMES[device]}: not configured on this kiosk (devices.ssc_reader = none)"
            if action == "self_test":
                status = reader.status()
                ok = status.state.value == "online"
                words = status.last_error.message if status.last_error and not ok else status.state.value
                return ok, f"{_NAMES[device]}: {words}"
            if action == "test_read":
                return device_ops.ssc_test_read(reader)
        elif action in ("self_test", "test_read"):  # a camera: capture one frame
            return capture_test(hw.cameras.get(device), device)
        return False, f"{_NAMES[device]} has no {action.replace('_', ' ')} test"

    # -- printing --------------------------------------------------------------------------------

    def print_job(self, job_id: str, data: bytes) -> PrintOutcome:
        """Blocking: print on the printer in use now (never one being reopened) and count the outcome."""
        with self._lock:
            outcome = self.hardware.printer.print_job(job_id, data)
        self._jobs["jobs_printed" if outcome.printed else "job_failures"] += 1
        return outcome

    def paper_replaced(self) -> str:
        """Blocking: re-check the printer after new paper; plain words about what is still wrong."""
        with self._lock:
            printer = self.hardware.printer
            printer.poll()  # reads the status and prints any receipt kept for paper
            ok, words = device_ops.printer_words(printer.last_health)
        log.info("paper replaced: printer %s", "ready" if ok else "still not ready")
        return words

    # -- ports -----------------------------------------------------------------------------------

    def ports(self) -> list[dict]:
        """Blocking: serial ports by stable id with vendor/model and which device uses each."""

        dev = self.settings.devices
        assigned = {"id_reader": dev.id_reader, "printer": dev.printer}
        rows = []
        for port in list_serial_ports():
            names = {port.device, port.stable_path, *port.other_links} - {None}
            real = os.path.realpath(port.device)
            used_by = sorted(k for k, uri in assigned.items()
                             if uri in names or (uri.startswith("/") and os.path.realpath(uri) == real))
            rows.append(dict(port.to_dict(), name=port.stable_id or port.device, vendor=port.manufacturer or "",
                             model=port.product or port.description or "", assigned_to=used_by))
        return rows

    def probe(self, port: str) -> dict:
        """Blocking: ``{"port", "found": "id_reader"|"printer"|None, "baud", "detail"}``; never raises.

        The port the ID card reader polls is probed with polling paused, so the two never interleave."""
        with self._lock:
            reader = self.hardware.id_reader
            ours = reader.url in (port, _real(port))
            if ours:
                reader.close()
            try:
                return device_ops.probe_port(port)
            finally:
                if ours:
                    reader.start_polling(self.settings.devices.poll_interval_s)

    # -- settings changes ------------------------------------------------------------------------

    def change(self, changes: dict[str, object], *, actor: str = "maintenance") -> ChangeOutcome:
        """Blocking: validate, save to ``<data_dir>/kiosk.local.toml`` and reopen the affected devices;
        if reopening fails, go back to the last good settings (file and devices) and say so."""

        try:
            body = DeviceSettingsBody.model_validate(changes)
        except ValidationError as exc:
            first = exc.errors(include_input=False, include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "settings"
            return ChangeOutcome(False, f"未更改 / nothing was changed: {where}: {first['msg']}")
        with self._lock:
            try:
                before = self.local_path.read_bytes()
            except FileNotFoundError:
                before = None
            try:
                view, _ = self._store.change(body)
            except SettingsRefused as exc:
                log.info("device settings change by %s refused: %s", actor, exc.field)
                return ChangeOutcome(False, f"未更改 / nothing was changed: {exc.field}: {exc.message}")
            outcome = self._apply(DevicesSection.model_validate(view["devices"]), lambda: self._restore(before))
            self.applied_revision = self._store.view()["revision"]
        log.info("device settings change by %s: %s", actor, "applied" if outcome.applied else "not applied")
        return outcome

    def apply_view(self, view: dict) -> ChangeOutcome | None:
        """Blocking: apply the heartbeat answer's ``device_settings`` ({revision, file, devices, local});
        None when that revision is the one already applied."""
        revision = view.get("revision")
        if revision == self.applied_revision:
            return None
        with self._lock:
            try:
                wanted = DevicesSection.model_validate(view.get("devices") or {})
            except Exception as exc:  # noqa: BLE001  pydantic's ValidationError, or not a mapping at all
                self.applied_revision = revision  # the same answer would fail the same way: say it once
                return self._refused(f"the gateway sent device settings the kiosk cannot use ({exc}); "
                                     "the last good settings stay in use")
            outcome = self._apply(wanted, self._write_last_good)
            self.applied_revision = revision if outcome.applied else self._store.view()["revision"]
        return outcome

    def _apply(self, wanted: DevicesSection, restore_file: Callable[[], None]) -> ChangeOutcome:
        """Reopen the devices whose settings differ from the ones in use; on a failure reopen those
        already changed from the previous settings, restore the file, and say so."""
        previous = self.settings.devices
        old, new = previous.model_dump(), wanted.model_dump()
        changes: dict[str, tuple[object, object]] = {k: (old[k], new[k]) for k in new if old.get(k) != new[k]}
        if not changes:
            return ChangeOutcome(True, "设置未变 / these settings are already in use", {})
        affected = [name for name, keys in DEVICE_KEYS.items() if any(k in changes for k in keys)]
        done: list[str] = []
        for name in affected:
            try:
                self.hardware.reopen(name, wanted, previous)
            except DeviceError as exc:
                for back in reversed(done):
                    try:
                        self.hardware.reopen(back, previous, wanted)
                    except DeviceError:
                        log.exception("could not go back to the previous %s", back)
                restore_file()
                words = ", ".join(f"{k}: {b}" for k, (_, b) in sorted(changes.items()))
                return self._refused(f"{_NAMES[name]} could not be opened with the new settings ({exc}); "
                                     f"kept the last good settings (not applied: {words}); check the port or "
                                     "address and try again", changes)
            done.append(name)
        self.settings = self.settings.model_copy(update={"devices": wanted})
        self.last_problem = ""
        words = "; ".join(f"{k}: {a} → {b}" for k, (a, b) in sorted(changes.items()))
        reopened = ", ".join(_NAMES[n] for n in affected) or "nothing (used from the next receipt)"
        log.info("device settings applied: %s", ", ".join(sorted(changes)))
        return ChangeOutcome(True, f"已应用 / applied: {words}; reopened: {reopened}", changes)

    def _refused(self, why: str, changes: dict[str, tuple[object, object]] | None = None) -> ChangeOutcome:
        self.last_problem = f"未应用 / not applied: {why}"
        log.warning("device settings not applied: %s", why)
        return ChangeOutcome(False, self.last_problem, changes or {})

    def _restore(self, before: bytes | None) -> None:
        """Put the local settings file back exactly as it was (or remove it if there was none)."""
        if before is None:
            self._store.reset()
        else:
            write_atomically(self.local_path, before)  # 0600, like every file in the data folder

    def _write_last_good(self) -> None:
        """After a gateway change that could not be applied, write the settings in use back to the file,
        so the technician page shows what the kiosk really uses."""
        base, good = self._configured.devices.model_dump(), self.settings.devices.model_dump()
        if base == good:
            self._store.reset()
            return
        try:
            self._store.change(DeviceSettingsBody.model_validate(good), restoring=True)
        except SettingsRefused as exc:
            log.error("could not write the last good device settings back: %s", exc)


def _row(name: str, endpoint: str, status: Any, detail: str, counters: dict[str, int]) -> DeviceRow:
    last = status.last_error.message if status.last_error is not None else ""
    return DeviceRow(name, endpoint, status.state.value, detail, counters, last)


def _real(port: str) -> str:
    return os.path.realpath(port) if port.startswith("/") else port
