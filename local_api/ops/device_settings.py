"""Technicians' device settings changes, kept in a local override file in the data folder.

``PUT /api/v1/devices/settings`` validates a change against :class:`kiosk.settings.DevicesSection`
(the same rules as ``kiosk config check``), refuses a target that is not allowed
(``kiosk.settings.target_problems``: a file that is not a serial port, ``file://`` outside
``devices.file_output_dir``, a link-local, multicast or unspecified address) and one that would leave
the kiosk without an ID card reader (no endpoint, or a serial device path that is not there), and
writes the result atomically (mode 0600) to ``<data_dir>/kiosk.local.toml`` as a ``[devices]`` table
holding only the keys that differ from the configured settings. The gateway never opens a device
(the kiosk app owns them): the app learns of a change from the heartbeat answer's ``device_settings``
field (``{"revision", "file", "devices"}``), reopens the devices whose endpoint changed, and keeps its
last good settings if reopening fails. ``revision`` is a digest of the file (None: no local
change, use the configured settings), so it survives a gateway restart unchanged.
"""

from __future__ import annotations

import logging
import threading
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kiosk.crypto import sha256_hex
from kiosk.settings import (
    LOCAL_OVERRIDES,
    SAMPLE_PIN_HASH,
    DevicesSection,
    Settings,
    device_problems,
    pin_advice,
    real_devices,
    target_problems,
)
from local_api.files import write_atomically

log = logging.getLogger(__name__)

LOCAL_SETTINGS_FILE_NAME = LOCAL_OVERRIDES  # the layer kiosk.settings.load_settings reads
NO_READER = ("", "none", "off", "disabled")


class DeviceSettingsBody(BaseModel):
    """A change of some device settings; absent keys keep their current value."""

    model_config = ConfigDict(extra="forbid")
    id_reader: str | None = Field(default=None, max_length=300)
    printer: str | None = Field(default=None, max_length=300)
    ssc_reader: str | None = Field(default=None, max_length=300)
    paper_width_mm: int | None = None
    read_timeout_s: float | None = None
    poll_interval_s: float | None = None


class SettingsRefused(Exception):
    """A change that was not saved; ``field`` names the setting, ``message`` says why and what to do."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


class LocalDeviceSettings:
    """The configured device settings plus the technician's local changes. Thread-safe."""

    def __init__(self, settings: Settings, path: Path) -> None:
        self.settings = settings
        self.path = Path(path)
        self._lock = threading.Lock()
        self.problem: str | None = None
        """Why the override file on disk was ignored, if it was."""

    def _override(self) -> tuple[dict[str, Any], str | None]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}, None
        try:
            table = tomllib.loads(raw.decode("utf-8")).get("devices", {})
            DevicesSection.model_validate(self.settings.devices.model_dump() | table)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, ValidationError, AttributeError) as exc:
            self.problem = (f"{self.path} ignored ({type(exc).__name__}): the configured device settings apply; "
                            "save the settings again from the technician page")
            log.error("%s", self.problem)
            return {}, None
        self.problem = None
        return dict(table), sha256_hex(raw)[:16]

    def effective(self) -> DevicesSection:
        """The device settings the kiosk app should use now."""
        with self._lock:
            table, _ = self._override()
        return DevicesSection.model_validate(self.settings.devices.model_dump() | table)

    def view(self) -> dict[str, Any]:
        """``{revision, file, devices, local}`` — the heartbeat answer's ``device_settings`` field."""
        with self._lock:
            table, revision = self._override()
        devices = DevicesSection.model_validate(self.settings.devices.model_dump() | table)
        return {"revision": revision, "file": str(self.path) if revision else None,
                "devices": devices.model_dump(), "local": sorted(table)}

    def change(self, body: DeviceSettingsBody, *, restoring: bool = False
               ) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]]]:
        """Validate and save a change; returns (:meth:`view`, ``{key: (before, after)}``).
        ``restoring``: the kiosk app writes back the settings it is using (a change it could not apply):
        not a new assignment, so the sample-PIN rule does not apply.

        Raises :class:`SettingsRefused` and leaves the file as it was when the change is not valid.
        """
        wanted = body.model_dump(exclude_none=True)
        if not wanted:
            raise SettingsRefused("body", "no setting to change; send at least one of " +
                                  ", ".join(DeviceSettingsBody.model_fields))
        if "id_reader" in wanted and wanted["id_reader"].strip().lower() in NO_READER:
            raise SettingsRefused("id_reader", "the kiosk cannot serve residents without an ID card reader; "
                                  "choose the reader's port (or take the kiosk out of service instead)")
        with self._lock:
            table, _ = self._override()
            before = self.settings.devices.model_dump() | table
            merged = before | wanted
            try:
                devices = DevicesSection.model_validate(merged)
            except ValidationError as exc:
                first = exc.errors(include_input=False, include_url=False)[0]
                where = ".".join(str(p) for p in first["loc"]) or "body"
                raise SettingsRefused(where, first["msg"].removeprefix("Value error, ")) from None
            candidate = self.settings.model_copy(update={"devices": devices})
            for problem in target_problems(candidate):  # /etc/shadow, file:///etc/passwd, 169.254.169.254
                key = problem.key.removeprefix("devices.")
                if key in wanted:
                    raise SettingsRefused(key, f"{problem.message}; nothing was changed")
            for problem in device_problems(candidate):
                key = problem.key.removeprefix("devices.")
                if key in wanted:
                    what = "an ID card reader" if key == "id_reader" else "a printer"
                    raise SettingsRefused(key, f"{problem.message}; the kiosk would be left without {what}, "
                                          "so nothing was changed")
            refused = None if restoring else sample_pin_refusal(self.settings, devices, wanted)
            if refused is not None:  # now, not at the next start (the terminal would start, but warn)
                raise refused
            # ``self.settings`` may already include this file (loaded at start-up), so a key equal to
            # its "configured" value may be a technician's earlier choice: keep every key the file has.
            base = self.settings.devices.model_dump()
            override = {k: v for k, v in devices.model_dump().items() if base.get(k) != v or k in table}
            self._write(override)
        changes = {k: (before.get(k), v) for k, v in devices.model_dump().items() if before.get(k) != v}
        log.info("device settings changed: %s", ", ".join(sorted(changes)) or "nothing")
        return self.view(), changes

    def real_devices_with_sample_pin(self) -> list[str]:
        """The device settings naming real hardware while the maintenance PIN is the packaged sample one
        (empty when the terminal has its own PIN or only simulated devices)."""
        if self.settings.maintenance.pin_hash != SAMPLE_PIN_HASH:
            return []
        return real_devices(self.effective())

    def warnings(self) -> list[str]:
        """What a technician must fix that does not stop the kiosk, in plain words: real hardware
        while the maintenance PIN is the packaged sample one (a terminal edited by hand)."""
        real = self.real_devices_with_sample_pin()
        if not real:
            return []
        words = (f"维护密码仍是出厂示例密码，但已接入真实设备 ({real[0]})。The maintenance PIN is still the packaged "
                 f"sample one while devices.{real[0]} is real hardware: {pin_advice(self.settings)}")
        return [words]

    def reset(self) -> bool:
        """Drop the local changes (back to the configured settings); False if there were none."""
        with self._lock:
            try:
                self.path.unlink()
            except FileNotFoundError:
                return False
        return True

    def _write(self, override: dict[str, Any]) -> None:
        header = ("# Device settings changed by a technician (gateway technician page or the kiosk's\n"
                  "# maintenance mode). Applied over the configured settings; delete to go back to them.\n")
        data = (header + tomli_w.dumps({"devices": override})).encode("utf-8")
        try:
            write_atomically(self.path, data)  # 0600, like every file in the data folder
        except OSError as exc:
            raise SettingsRefused("body", f"{self.path} cannot be written ({exc.strerror}); nothing was changed; "
                                  "check the data folder's free space and permissions") from exc


def sample_pin_refusal(settings: Settings, devices: DevicesSection, wanted: dict[str, Any]) -> SettingsRefused | None:
    """The refusal of a change that assigns real hardware while the maintenance PIN is still the packaged
    sample one (anyone who read the manual could then open maintenance mode on a real terminal); None
    when the change may go ahead. Moving a device to ``sim://`` or ``none`` is never refused."""
    if settings.maintenance.pin_hash != SAMPLE_PIN_HASH:
        return None
    assigned = [key for key in real_devices(devices) if key in wanted]
    if not assigned:
        return None
    return SettingsRefused(assigned[0], "the maintenance PIN is still the packaged sample one, so real hardware "
                           f"cannot be assigned on this terminal yet: {pin_advice(settings)}; nothing was changed")
