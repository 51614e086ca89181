"""Typed, layered settings.

Layers, later wins:

1. packaged defaults, ``config/defaults.toml`` (the one place defaults live);
2. the file given by ``--config``, else ``/etc/kiosk/kiosk.toml`` if it exists;
3. ``<gateway.data_dir>/kiosk.local.toml``: device changes a technician made through the gateway;
4. ``KIOSK_<SECTION>__<KEY>`` environment variables, e.g. ``KIOSK_GATEWAY__PORT=9000``.

Every problem is reported with the file (or variable) and the dotted key it came
from, all at once, so a technician can fix a settings file in one pass. Errors
(:class:`SettingsError`) are what make running unsafe; a device that is not there and the
packaged maintenance PIN with real devices are warnings (:func:`settings_warnings`): the
terminal starts with them and says so.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from kiosk.crypto import load_verify_key
from kiosk.endpoints import EndpointError, parse_endpoint, target_problem
from kiosk.opening_hours import OpeningHours
from kiosk.qrcodes import load_public_key

SYSTEM_CONFIG = Path("/etc/kiosk/kiosk.toml")
ENV_PREFIX = "KIOSK_"
DEFAULTS_NAME = "defaults.toml"
FAST_DOOR_PORT_FILE_NAME = "kiosk-fast-door.port"  # written by the gateway (local_api/web/fast_door.py)
DOOR_SECRET_FILE_NAME = "kiosk-door.secret"  # written by the gateway at each start (local_api/web/door.py)
LOCAL_OVERRIDES = "kiosk.local.toml"  # written by the gateway's technician door (local_api/ops/device_settings.py)
SAMPLE_SECRET = "sample-secret-change-me-in-deployment"  # the one in config/defaults.toml
# The packaged maintenance PIN (246810, for simulated devices only): a technician cannot assign real
# hardware while it is in force, and a terminal that has real hardware with it says so (a warning, a metric).
SAMPLE_PIN_HASH = "scrypt$16384$8$1$a2lvc2stc2FtcGxlLXBpbg==$kwhELtwQV0ZADIEl8FpUlyfmeo/wopNDuUD4osRanug="
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
FILE_OUTPUT_FOLDER = "printer-output"  # in the data folder: devices.file_output_dir's default


class _Section(BaseModel):
    # The fields' docstrings are for readers of this file; nothing reads them at run time, so pydantic is
    # not asked to parse them (use_attribute_docstrings re-reads the source at import: ~0.1 s, P1).
    model_config = ConfigDict(extra="forbid", frozen=True)


class KioskSection(_Section):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    """This terminal's id, as the platform and the operators know it (e.g. ``HC-XY-001``)."""
    place: str = Field(min_length=1)
    """Where the terminal stands, printed on receipts (e.g. ``海沧区霞阳社区便民服务站``)."""
    catalog: str = ""
    """Folder (or single TOML file) of the service catalog; empty: the packaged sample catalog."""
    language: Literal["zh_CN", "zh_TW", "en"] = "zh_CN"
    """Language a new session starts in; residents can switch on screen."""
    idle_timeout_s: float = Field(gt=0)
    """Seconds without a touch before the session warns and then ends."""
    timeout_warning_s: float = Field(ge=20)
    """How long the "still there?" warning shows before the session ends (WCAG 2.2.1: at least 20 s)."""
    screen_width: int = Field(ge=320, le=7680)
    """Screen width in pixels (portrait terminals are typically 1080)."""
    screen_height: int = Field(ge=240, le=7680)
    """Screen height in pixels (portrait terminals are typically 1920)."""


class DevicesSection(_Section):
    id_reader: str
    """Resident ID card reader (SAM over serial): a pyserial URL or device path, or ``sim://id-reader``."""
    printer: str
    """Receipt printer: ``tcp://host:9100``, ``usb://VID:PID``, a pyserial URL, ``file:///path`` or
    ``sim://printer``."""
    ssc_reader: str = "none"
    """Social security card reader (PC/SC): ``pcsc://<reader name>``, ``pcsc://`` for the first reader,
    ``sim://ssc-reader`` (a private pcscd with a virtual card; needs root and vsmartcard-vpcd) or ``none``."""
    ssc_apdu_timeout_s: float = Field(default=2.0, gt=0, le=30)
    """How long the social security card may take to answer one command; a card that does not is
    reported as not answering (take it out, insert it again) and the reader keeps watching."""
    ssc_read_timeout_s: float = Field(default=5.0, gt=0, le=60)
    """How long one whole social security card read (about 15 commands) may take."""
    paper_width_mm: int = 80
    """Width of the receipt paper loaded in the printer: 58 or 80."""
    read_timeout_s: float = Field(gt=0, le=30)
    """How long one ID card read (find + select + read) may take before it counts as a timeout."""
    poll_interval_s: float = Field(gt=0, le=5)
    """How often the ID card reader is polled for a card."""
    camera: str = "auto"
    """Face camera (人脸): ``camera://0``, ``camera:///dev/video0``, a video file (``file:///…``, for
    tests), ``sim://camera``, ``none``, or ``auto`` — simulated when the ID card reader is simulated,
    else none (a real terminal never gets a simulated face)."""
    document_camera: str = "auto"
    """Document camera (高拍仪) for materials: the same forms as ``camera``."""
    qr_camera: str = "auto"
    """Camera behind the scan window for QR codes: the same forms; ``none`` or ``auto`` on real
    hardware uses the document camera."""
    file_output_dir: str = ""
    """The one folder a ``file://`` device endpoint may write in (raw printer bytes, for tests and spooling);
    empty: ``printer-output`` in the gateway's data folder. A ``file://`` endpoint elsewhere is refused."""

    @field_validator("paper_width_mm")
    @classmethod
    def _paper(cls, value: int) -> int:
        if value not in (58, 80):
            raise ValueError("must be 58 or 80 (millimetres of paper width)")
        return value

    @field_validator("id_reader", "printer", "ssc_reader")
    @classmethod
    def _endpoint(cls, value: str, info: ValidationInfo) -> str:
        if value == "none" and info.field_name == "ssc_reader":
            return value
        try:
            parse_endpoint(value)
        except EndpointError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("camera", "document_camera", "qr_camera")
    @classmethod
    def _camera(cls, value: str) -> str:
        if value in ("auto", "none"):
            return value
        try:
            scheme = parse_endpoint(value).scheme
        except EndpointError as exc:
            raise ValueError(str(exc)) from None
        if scheme not in ("camera", "file", "sim"):
            raise ValueError(f"{value!r} is not a camera: use camera://0, camera:///dev/video0, file:///video.avi, "
                             "sim://camera, none or auto")
        return value

    def camera_endpoint(self, name: str) -> str:
        """The camera ``name``'s endpoint with ``auto`` resolved: ``sim://…``, a camera URI, or ``none``."""
        value = getattr(self, name)
        if value != "auto":
            return value
        return f"sim://{name.replace('_', '-')}" if parse_endpoint(self.id_reader).is_simulator else "none"


class GatewaySection(_Section):
    host: str = "127.0.0.1"
    """Address the local gateway listens on. Keep it on loopback unless a firewall guards it. With
    ``tls_cert`` and ``tls_key`` set, the operators' HTTPS door listens here (on ``tls_port``) and the plain
    HTTP door on 127.0.0.1 only."""
    port: int = Field(ge=0, le=65535)
    """TCP port of the local gateway (0 picks a free one)."""
    data_dir: str = Field(min_length=1)
    """Folder for the outbox database and its key; relative paths are taken from the working folder."""
    retention_s: float = Field(ge=0)
    """How long a delivered submission's encrypted record is kept before it is purged."""
    retry_max_s: float = Field(gt=0)
    """Longest wait between two delivery attempts to the platform (backoff is capped here)."""
    parked_retention_s: float = Field(default=2592000, ge=0)
    """How long a rejected or expired submission stays parked for operators before it is purged."""
    expire_after_s: float = Field(default=0, ge=0)
    """A submission still undelivered this long after acceptance is marked ``expired`` (0: never)."""
    min_free_mb: float = Field(default=200, ge=0)
    """Free space the data folder must keep; below it new submissions are refused (nothing half-written)."""
    max_materials_mb: float = Field(default=6, gt=0, le=64)
    """Largest total size of one submission's materials (document-camera images), decoded."""
    breaker_failures: int = Field(default=3, ge=1)
    """Consecutive failed platform requests that open the circuit breaker (online items answer at once)."""
    breaker_reset_s: float = Field(default=30, gt=0)
    """How long the breaker stays open before an online request may try the platform again."""
    heartbeat_stale_s: float = Field(default=30, gt=0)
    """Without a heartbeat from the kiosk app for this long, ``/ready`` and the status report say so."""
    auth_max_failures: int = Field(default=5, ge=1)
    """Failed checks of one token id allowed within ``auth_lockout_s``; more are answered 429 with
    ``Retry-After`` until the oldest failure is that old (a right token is never refused)."""
    auth_source_max_failures: int = Field(default=20, ge=1)
    """Failed token checks allowed from one source address (all of loopback counts as one) within
    ``auth_lockout_s``; more are answered 429 (a right token from there is never refused)."""
    auth_lockout_s: float = Field(default=900, gt=0)
    """The window failed token checks are counted in (seconds): a failure stops counting this long
    after it happened. (The name is from when failures locked an address out.)"""
    first_token_role: Literal["operator", "technician", "none"] = "technician"
    """Role of the token created (and written to ``first-token.txt`` in the data folder) when no token
    exists at the gateway's start; ``none`` creates no token."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses (or networks, ``10.0.0.0/24``) of reverse proxies in front of the gateway, e.g. a
    TLS-terminating Caddy on the terminal: only a request from one of them may say with
    ``X-Forwarded-For`` who the client is, and the kiosk door refuses everything that came through a
    proxy. Empty (the default): forwarding headers are ignored. A comma-separated list in the environment."""
    audit_max_mb: float = Field(default=16, gt=0)
    """Largest size of ``audit.jsonl``; a record that would pass it starts a new file (the old one
    becomes ``audit.jsonl.1``, and so on), so forged or runaway records cannot fill the disk."""
    audit_keep: int = Field(default=4, ge=1, le=100)
    """How many rotated audit files (``audit.jsonl.1`` … ``.N``) are kept; the oldest beyond goes."""
    audit_retention_days: int = Field(default=180, ge=180, le=3650)
    """Days audit records must be kept (GB/T 22239-2019 level 3 and the Cybersecurity Law ask for six
    months). The disk budget, ``audit_max_mb`` × (``audit_keep`` + 1), always holds; when it is too small
    for this retention the metric ``kiosk_gateway_audit_retention_short`` says so (size the budget)."""
    second_factor: Literal["off", "technician", "all"] = "off"
    """Which console log-ins need a TOTP code (RFC 6238) besides the token: ``technician`` tokens, ``all``
    tokens, or ``off``. A token with a TOTP secret enrolled (``kiosk totp enrol``) always needs its code.
    GB/T 22239-2019 level 3 asks for two factors for administrators: set ``technician`` or ``all``."""
    kiosk_audit_per_minute: int = Field(default=30, ge=1, le=100_000)
    """Maintenance-mode records the kiosk app may post a minute (a few per technician visit); only
    requests that pass the kiosk door count, so a page or process without its secret cannot use them up."""

    tls_cert: str = ""
    """PEM certificate (with its chain) for the operators' door over TLS; set with ``tls_key``, or
    neither. With both, the gateway also serves HTTPS on ``host``:``tls_port`` and its plain HTTP door
    listens on 127.0.0.1 only (the kiosk app and local tools); empty: plain HTTP on ``host``:``port``."""
    tls_key: str = ""
    """The unencrypted PEM private key of ``tls_cert`` (keep it 0600, readable by the gateway's user)."""
    tls_port: int = Field(default=8443, ge=0, le=65535)
    """TCP port of the operators' HTTPS door on ``host`` when ``tls_cert`` and ``tls_key`` are set (0
    picks a free one); must differ from ``port``."""
    fast_door: bool = True
    """Serve the kiosk app's submissions on their own loopback port from an event loop
    (``local_api/web/fast_door.py``, issue 25); false: only the Flask door's route."""

    @property
    def tls(self) -> bool:
        """Whether the operators' door is served over TLS (``tls_cert`` and ``tls_key`` set)."""
        return bool(self.tls_cert and self.tls_key)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise ValueError("a list of IP addresses or networks, e.g. [\"127.0.0.1\", \"10.0.0.0/24\"]")  # noqa: TRY004 (pydantic reports ValueError as a settings problem)
        for entry in value:
            try:
                ipaddress.ip_network(str(entry), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (e.g. 127.0.0.1 or 10.0.0.0/24)") \
                    from None
        return value


class PlatformSection(_Section):
    url: str = ""
    """Base URL of the government platform. Empty: ``kiosk run`` starts the built-in simulator."""
    sim_port: int = Field(ge=0, le=65535)
    """Port of the built-in platform simulator when ``url`` is empty (0 picks a free one)."""
    timeout_s: float = Field(gt=0, le=120)
    """Timeout of one request to the platform."""
    secret: str = Field(min_length=16)
    """Shared secret for signing platform requests (HMAC-SHA256, or HMAC-SM3 with ``security.suite = "sm"``).
    Replace it in every deployment."""
    proxy_timeout_s: float = Field(default=3, gt=0, le=30)
    """Timeout of one online-only request (query, print, identity check, appointments) proxied for the
    kiosk app: short, so a resident is told at once when the platform is not answering."""
    ca_bundle: str = ""
    """PEM file of the CA certificate(s) the platform's TLS certificate must chain to (a private government
    CA); empty: the system's trust store. Only for an ``https://`` ``url``."""
    client_cert: str = ""
    """PEM client certificate (with its chain) this terminal shows the platform (mutual TLS); set with
    ``client_key``, or neither."""
    client_key: str = ""
    """The unencrypted PEM private key of ``client_cert`` (keep it 0600)."""
    signin_public_key: str = ""
    """The platform's public key for app sign-in codes: base64 of an Ed25519 key (32 bytes) or of an SM2 key
    (65 bytes, 04‖x‖y; under ``security.suite = "sm"``), optionally prefixed ``ed25519:`` or ``sm2:``. Empty:
    the kiosk checks only a code's shape and expiry, and the platform alone decides when redeeming it."""

    @field_validator("signin_public_key")
    @classmethod
    def _signin_key(cls, value: str) -> str:
        load_public_key(value)  # ValueError says what is wrong
        return value.strip()

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (or be empty for the simulator)")
        return value.rstrip("/")



class SecuritySection(_Section):
    # -- crypto suite (issue 27; kiosk/crypto.py) --
    suite: Literal["intl", "sm"] = "intl"
    """The cryptography every part uses (kiosk/crypto.py): ``intl`` — AES-256-GCM at rest, HMAC-SHA256
    platform signatures, Ed25519 sign-in codes; ``sm`` — 商用密码: SM4-GCM at rest, HMAC-SM3 platform
    signatures, SM2 (with SM3) sign-in codes. Switching ``intl`` → ``sm`` re-keys the outbox: queued rows stay
    readable with their old key until delivered; the platform must verify the same suite."""


class SpeechSection(_Section):
    enabled: bool = True
    """Speak each screen's main text with espeak-ng (closed kiosks speak what they show: EN 301 549)."""
    rate_wpm: int = Field(default=165, ge=80, le=450)
    """Speaking rate in words per minute; elder mode speaks slower."""
    engine: str = "espeak-ng"
    """The synthesiser: ``espeak-ng``, ``command`` (with ``command``) or the entry point name of an installed
    engine package (group ``kiosk.speech_engines``; kiosk/terminal/speech.py)."""
    command: list[str] = Field(default_factory=list)
    """For ``engine = "command"``: its argument list with ``{voice}``, ``{language}``, ``{rate}``,
    ``{volume}``, ``{text}``."""
    output: str = ""
    """The audio output audio mode speaks on (the headphones: a PulseAudio sink or ALSA card name);
    "" for the default output."""
    blank_screen: bool = True
    """Audio mode blanks the screen for privacy (it shows only 语音模式使用中)."""
    audio_jack: str = ""
    """The input device that reports the headphone jack (``/dev/input/by-path/…-event``): plugging headphones
    in starts audio mode, pulling them out ends it; "" where the platform reports none."""


class MaintenanceSection(_Section):
    pin_hash: str = Field(default=SAMPLE_PIN_HASH,
                          pattern=r"^scrypt\$[0-9]+\$[0-9]+\$[0-9]+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$")
    """Hash of the PIN that opens maintenance mode on the touchscreen (never the PIN itself); make one
    with ``kiosk maintenance pin-hash``. The packaged one is refused when any device is real."""
    max_attempts: int = Field(default=5, ge=1, le=20)
    """Wrong PINs in a row before PIN entry is locked."""
    lockout_s: float = Field(default=300, gt=0)
    """How long PIN entry stays locked after ``max_attempts`` wrong PINs."""
    idle_exit_s: float = Field(default=120, ge=10)
    """Maintenance mode goes back to the residents' screen after this long without a touch."""


class AssistedSection(_Section):
    """Assisted mode (帮办代办, kiosk/flow/assisted.py): a staff member signed in with a staff pass."""

    staff_idle_s: float = Field(default=600, ge=30, le=7200)
    """A staff session ends after this long without a touch (its own timeout: longer than a resident's, as
    a staff member talks a resident through; shorter than a shift)."""
    staff_max_s: float = Field(default=8 * 3600, ge=60, le=24 * 3600)
    """A staff session ends after this long in any case; the staff member signs in again."""


class HelpSection(_Section):
    """帮办 at any hour (issue 21; kiosk/flow/help_desk.py)."""

    opening_hours: str = "mon-fri 08:30-12:00,14:00-17:30; sat 09:00-12:00"
    """When staff are on site (kiosk/opening_hours.py): e.g. ``mon-fri 08:30-17:30; sat 09:00-12:00``. Then
    the help screen sends someone over; after hours it offers the remote help desk, a call-back and the hotline."""
    hotline: str = Field(default="12345", pattern=r"^[0-9-]{3,20}$")
    """The city's service hotline the help screen names after hours."""

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        OpeningHours.parse(value)
        return value


class LoggingSection(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Least severe log level written to stderr."""


class CatalogSection(_Section):
    # -- signed catalog bundles (issue 22; kiosk/catalog/bundle.py) --
    bundle_keys: list[str] = Field(default_factory=list)
    """Public keys (Ed25519, base64) of the catalog's publishers: a bundle signed by none of them is
    refused. Empty: bundles from the platform are refused and the packaged (or configured) catalog serves."""
    poll_s: float = Field(default=300.0, ge=1)
    """How often the gateway asks the platform which catalog bundle to run."""

    @field_validator("bundle_keys", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        # KIOSK_CATALOG__BUNDLE_KEYS="key1,key2" (an environment variable is one string)
        return [k for k in value.replace(",", " ").split() if k] if isinstance(value, str) else value

    @field_validator("bundle_keys")
    @classmethod
    def _keys_are_keys(cls, value: list[str]) -> list[str]:
        for index, text in enumerate(value):
            try:
                load_verify_key(text)
            except ValueError as exc:
                raise ValueError(f"bundle_keys[{index}]: {exc}") from None
        return value


# -- the touchscreen's look (issue 24; screens/tokens.py, screens/guidance.py) --
Position = Literal["below_left", "below_centre", "below_right", "left", "right"]


class UiSection(_Section):
    hours: str = ""
    """Opening hours shown on the attract screen (e.g. ``08:30–17:30``); empty: open 24 hours."""
    reduced_motion: bool = False
    """No screen transitions, waiting animation or looping device guidance (a still frame instead).
    Audio mode turns motion off by itself."""
    contrast: Literal["standard", "high"] = "standard"
    """The touchscreen's palette: ``high`` draws every screen white and yellow on black (screens/tokens.py
    HIGH_CONTRAST), for a bright hall or residents with low vision; a technician sets it per terminal."""


class CabinetSection(_Section):
    """Where each device sits on this cabinet model, as seen by a resident facing the screen: the device
    guidance (screens/guidance.py) points there. A technician sets them per cabinet model."""

    id_card_reader: Position = "below_right"
    ssc_reader: Position = "below_left"
    scanner: Position = "below_centre"
    document_camera: Position = "right"
    printer: Position = "below_centre"


class Settings(_Section):
    """All of a terminal's settings."""

    kiosk: KioskSection
    devices: DevicesSection
    gateway: GatewaySection
    platform: PlatformSection
    speech: SpeechSection = SpeechSection()
    logging: LoggingSection
    security: SecuritySection = SecuritySection()
    maintenance: MaintenanceSection = MaintenanceSection()
    assisted: AssistedSection = AssistedSection()
    catalog: CatalogSection = CatalogSection()
    help: HelpSection = HelpSection()
    ui: UiSection = UiSection()
    cabinet: CabinetSection = CabinetSection()
    _origin: dict[str, str] = PrivateAttr(default_factory=dict)
    _config_path: str | None = PrivateAttr(default=None)

    def origin(self, dotted: str) -> str:
        """Where the setting ``dotted`` (e.g. ``devices.printer``) came from: a file, an environment
        variable or the packaged defaults ("settings" when not known, e.g. a model built in code)."""
        section = dotted.split(".")[0]
        return self._origin.get(dotted) or self._origin.get(section) or "settings"

    @property
    def config_file(self) -> str:
        """The settings file an administrator edits: ``--config``'s, else ``/etc/kiosk/kiosk.toml``."""
        return self._config_path or str(SYSTEM_CONFIG)

    @property
    def data_path(self) -> Path:
        return Path(self.gateway.data_dir).expanduser().resolve()

    @property
    def devices_file_output_path(self) -> Path:
        """Where ``file://`` device endpoints may write (``devices.file_output_dir``)."""
        folder = self.devices.file_output_dir
        return Path(folder).expanduser().resolve() if folder else self.data_path / FILE_OUTPUT_FOLDER

    @property
    def door_secret_path(self) -> Path:
        """The kiosk door's per-start secret (0600), written by the gateway, read by the kiosk app."""
        return self.data_path / DOOR_SECRET_FILE_NAME

    @property
    def fast_door_port_path(self) -> Path:
        """The port of the gateway's event-loop submission door (0600), written at its start, removed at its stop."""
        return self.data_path / FAST_DOOR_PORT_FILE_NAME


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the settings: where it came from, which key, and what is wrong."""

    source: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.key}: {self.message}"


class SettingsError(Exception):
    """Settings could not be loaded; ``problems`` lists every one found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def report(self, prog: str = "kiosk") -> None:
        """Print every problem on stderr, the way every ``kiosk`` command does."""
        print(f"{prog}: the settings have problems:", file=sys.stderr)
        for problem in self.problems:
            print(f"  {problem}", file=sys.stderr)


def _read_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([Problem(source, "-", f"not valid TOML: {exc}")]) from exc


def _merge(base: dict[str, Any], layer: dict[str, Any], source: str, origin: dict[str, str],
           prefix: str = "") -> None:
    for key, value in layer.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, source, origin, dotted + ".")
        else:
            base[key] = value
            origin[dotted] = source


def _env_layer(environ: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """``KIOSK_GATEWAY__PORT=9000`` → ``{"gateway": {"port": "9000"}}`` (pydantic coerces types)."""
    layer: dict[str, Any] = {}
    names: dict[str, str] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX):].lower().partition("__")
        layer.setdefault(section, {})[key] = value
        names[f"{section}.{key}"] = name
    return layer, names


def default_text() -> str:
    return resources.files("config").joinpath(DEFAULTS_NAME).read_text(encoding="utf-8")


def load_settings(config: str | Path | None = None, environ: dict[str, str] | None = None,
                  *, check_devices: bool = False, check_tls: bool = False) -> Settings:
    """Load and validate the layered settings, or raise :class:`SettingsError` naming every problem.

    ``config`` None means ``/etc/kiosk/kiosk.toml`` when it exists. With ``check_devices``
    the device endpoints are also checked for allowed targets (:func:`target_problems`: a target that
    is not allowed is unsafe to run with). A device that is absent, and the packaged maintenance PIN
    with real hardware, are not errors: a terminal starts with them and reports them
    (:func:`settings_warnings`). With ``check_tls`` the gateway's TLS certificate and key (when set)
    must exist and load (:func:`tls_problems`).
    """
    environ = dict(os.environ if environ is None else environ)
    origin: dict[str, str] = {}
    merged: dict[str, Any] = {}
    _merge(merged, _read_toml(default_text(), f"<packaged {DEFAULTS_NAME}>"), f"<packaged {DEFAULTS_NAME}>",
           origin)

    path = Path(config) if config is not None else (SYSTEM_CONFIG if SYSTEM_CONFIG.exists() else None)
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SettingsError([Problem(str(path), "-", "file not found")]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError([Problem(str(path), "-", f"cannot be read: {exc}")]) from exc
        _merge(merged, _read_toml(text, str(path)), str(path), origin)

    env_layer, env_names = _env_layer(environ)

    # Technicians' changes made through the gateway (device ports) live next to the outbox.
    data_dir = env_layer.get("gateway", {}).get("data_dir") or merged.get("gateway", {}).get("data_dir")
    if isinstance(data_dir, str) and data_dir:
        local = Path(data_dir).expanduser() / LOCAL_OVERRIDES
        if local.is_file():
            try:
                text = local.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SettingsError([Problem(str(local), "-", f"cannot be read: {exc}")]) from exc
            _merge(merged, _read_toml(text, str(local)), str(local), origin)

    for dotted, var in env_names.items():
        origin[dotted] = f"environment {var}"
    _merge(merged, env_layer, "environment", {})

    try:
        settings = Settings.model_validate(merged)
        settings._origin = origin
        settings._config_path = str(path) if path is not None else None
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            dotted = ".".join(str(p) for p in err["loc"])
            source = origin.get(dotted) or origin.get(dotted.split(".")[0]) or str(path or "settings")
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown setting (misspelt?)"
            problems.append(Problem(source, dotted, message))
        raise SettingsError(problems) from None

    host = urlsplit(settings.platform.url).hostname if settings.platform.url else None
    if host and host not in LOOPBACK_HOSTS and settings.platform.secret == SAMPLE_SECRET:
        raise SettingsError([Problem(
            origin.get("platform.url", "settings"), "platform.secret",
            "still the packaged sample while platform.url names a real platform: set the secret the "
            "platform issued for this terminal")])

    problems = tls_problems(settings, origin, check_files=check_tls) + platform_tls_problems(
        settings, origin, check_files=check_tls)
    if problems:
        raise SettingsError(problems)

    if check_devices:
        # Deployment checks (`kiosk run`, `kiosk app`, `kiosk config check`), not the technician's
        # device commands. Only what is unsafe stops here; an absent device is a warning.
        problems = target_problems(settings, origin)
        if problems:
            raise SettingsError(problems)
    return settings


def settings_warnings(settings: Settings) -> list[Problem]:
    """What a terminal starts with but should not stay like: a device that is not there
    (:func:`absent_device_problems`) and the packaged maintenance PIN while a device is real hardware
    (:func:`sample_pin_problems`). ``kiosk config check`` lists them (``--strict`` makes them errors);
    ``kiosk run`` and ``kiosk app`` log them and start anyway."""
    return (sample_pin_problems(settings) + absent_device_problems(settings) + suite_problems(settings)
            + second_factor_problems(settings))


def second_factor_problems(settings: Settings, origin: dict[str, str] | None = None) -> list[Problem]:
    """``gateway.second_factor`` off while the operators' door is reachable from the network (a TLS door,
    or ``gateway.host`` other than loopback): GB/T 22239-2019 level 3 asks two factors of administrators."""
    gw = settings.gateway
    if gw.second_factor != "off" or (not gw.tls and gw.host.strip("[]") in LOOPBACK_HOSTS):
        return []
    key = "gateway.tls_cert" if gw.tls else "gateway.host"
    return [Problem((origin or {}).get(key) or settings.origin(key),
                    "gateway.second_factor", f"off while operators reach the gateway over the network "
                    f"(gateway.host {gw.host}{', TLS' if gw.tls else ''}): set \"technician\" (or \"all\") and enrol "
                    "each technician's token with `kiosk totp enrol <token id>` (等保 level 3: two factors for "
                    "administrators)")]


def fallback_gateway_address(config: str | Path | None = None,
                             environ: dict[str, str] | None = None) -> tuple[str, int] | None:
    """Where the gateway would listen, read as far as the layers can be read (each layer that cannot
    be read or parsed is skipped): for the stand-in ``/health`` while settings problems keep the kiosk
    from starting. None when no usable port is found (or it is 0, a free one picked at start)."""
    environ = dict(os.environ if environ is None else environ)
    found: dict[str, Any] = {}

    def layer(text: str) -> None:
        try:
            section = tomllib.loads(text).get("gateway")
        except tomllib.TOMLDecodeError:
            return
        if isinstance(section, dict):
            found.update(section)

    layer(default_text())
    path = Path(config) if config is not None else (SYSTEM_CONFIG if SYSTEM_CONFIG.exists() else None)
    def read(source: Path) -> None:
        try:
            layer(source.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            pass

    if path is not None:
        read(path)
    data_dir = environ.get("KIOSK_GATEWAY__DATA_DIR") or found.get("data_dir")
    if isinstance(data_dir, str) and data_dir:
        read(Path(data_dir).expanduser() / LOCAL_OVERRIDES)
    for key in ("host", "port", "tls_cert", "tls_key"):
        if f"KIOSK_GATEWAY__{key.upper()}" in environ:
            found[key] = environ[f"KIOSK_GATEWAY__{key.upper()}"]
    try:
        port = int(found.get("port", 0))
    except (TypeError, ValueError):
        return None
    host = str(found.get("host") or "127.0.0.1")
    if found.get("tls_cert") and found.get("tls_key"):
        host = "127.0.0.1"  # with TLS the plain door listens on loopback only
    return (host, port) if 0 < port < 65536 else None


def tls_problems(settings: Settings, origin: dict[str, str] | None = None, *,
                 check_files: bool = True) -> list[Problem]:
    """What is wrong with the operators' TLS settings, in plain words: ``tls_cert`` without ``tls_key``
    (or the other way round), ``tls_port`` equal to ``port``, and with ``check_files`` a file that is
    missing or unreadable, a certificate that is not PEM, a key that is not the certificate's, or
    encrypted."""
    origin = origin or {}
    gw = settings.gateway

    def problem(key: str, message: str, source_key: str | None = None) -> Problem:
        dotted = f"gateway.{key}"
        source = origin.get(f"gateway.{source_key or key}")
        return Problem(source or origin.get("gateway", "settings"), dotted, message)

    if not gw.tls_cert and not gw.tls_key:
        return []
    if not gw.tls_key:
        return [problem("tls_key", "gateway.tls_cert is set but gateway.tls_key is not: TLS needs both the "
                        "certificate and its private key (set both, or neither for no TLS)", "tls_cert")]
    if not gw.tls_cert:
        return [problem("tls_cert", "gateway.tls_key is set but gateway.tls_cert is not: TLS needs both the "
                        "certificate and its private key (set both, or neither for no TLS)", "tls_key")]
    if gw.tls_port != 0 and gw.tls_port == gw.port:
        return [problem("tls_port", f"the same port as gateway.port ({gw.port}): the HTTPS door needs its own")]
    if not check_files:
        return []
    found = _unreadable({key: getattr(gw, key) for key in ("tls_cert", "tls_key")}, problem)
    if found:
        return found
    message = tls_load_problem(Path(gw.tls_cert).expanduser(), Path(gw.tls_key).expanduser())
    if message:
        return [problem("tls_cert" if message.startswith(str(Path(gw.tls_cert).expanduser())) else "tls_key",
                        message)]
    return []


def platform_tls_problems(settings: Settings, origin: dict[str, str] | None = None, *,
                          check_files: bool = True) -> list[Problem]:
    """What is wrong with the TLS settings towards the platform, in plain words: ``client_cert`` without
    ``client_key`` (or the other way round), TLS files with a ``url`` that is not ``https://``, and with
    ``check_files`` a file that is missing or unreadable, a CA bundle without a PEM certificate, a client
    key that is not the certificate's, or encrypted."""
    origin = origin or {}
    pf = settings.platform

    def problem(key: str, message: str) -> Problem:
        return Problem(origin.get(f"platform.{key}") or origin.get("platform", "settings"), f"platform.{key}", message)

    if not (pf.ca_bundle or pf.client_cert or pf.client_key):
        return []
    if bool(pf.client_cert) != bool(pf.client_key):
        key, other = ("client_key", "client_cert") if pf.client_cert else ("client_cert", "client_key")
        return [problem(key, f"platform.{other} is set but platform.{key} is not: mutual TLS needs both the "
                        "client certificate and its private key (set both, or neither)")]
    if not pf.url.startswith("https://"):
        set_key = next(k for k in ("ca_bundle", "client_cert") if getattr(pf, k))
        return [problem(set_key, f"platform.{set_key} is set but platform.url is not https:// "
                        f"({pf.url or 'empty: the simulator'}); the TLS settings would not be used")]
    if not check_files:
        return []
    found = _unreadable({key: getattr(pf, key) for key in ("ca_bundle", "client_cert", "client_key")
                         if getattr(pf, key)}, problem)
    if found:
        return found
    if pf.ca_bundle:
        path = Path(pf.ca_bundle).expanduser()
        try:
            ssl.create_default_context(cafile=str(path))
        except (ssl.SSLError, ValueError):
            return [problem("ca_bundle", f"{path} holds no PEM CA certificate (-----BEGIN CERTIFICATE-----)")]
    if pf.client_cert:
        cert, key = Path(pf.client_cert).expanduser(), Path(pf.client_key).expanduser()
        message = tls_load_problem(cert, key)
        if message:
            return [problem("client_cert" if message.startswith(str(cert)) else "client_key", message)]
    return []


class _EncryptedKey(Exception):
    pass


def _no_passphrase() -> bytes:
    raise _EncryptedKey


def _unreadable(files: dict[str, str], problem: Callable[[str, str], Problem]) -> list[Problem]:
    """A problem for each settings key whose file is missing or cannot be read."""
    found = []
    for key, name in files.items():
        path = Path(name).expanduser()
        try:
            path.read_bytes()
        except FileNotFoundError:
            found.append(problem(key, f"{path} does not exist"))
        except OSError as exc:
            found.append(problem(key, f"{path} cannot be read ({exc.strerror})"))
    return found


def tls_load_problem(cert: Path, key: Path) -> str | None:
    """None when ``cert`` and ``key`` load as a server's TLS pair, else a sentence naming the bad file."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_verify_locations(cafile=str(cert))  # parses the certificates alone
    except (ssl.SSLError, ValueError):
        return f"{cert} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
    except OSError as exc:
        return f"{cert} cannot be read ({exc.strerror})"
    try:
        context.load_cert_chain(str(cert), str(key), password=_no_passphrase)
    except _EncryptedKey:
        return f"{key} is encrypted with a passphrase: the gateway needs an unencrypted key (keep it 0600)"
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc):
            return f"{key} is not the private key of the certificate in {cert}"
        return f"{key} holds no PEM private key that goes with {cert} ({exc.reason or exc})"
    except OSError as exc:
        return f"{key} cannot be read ({exc.strerror})"
    return None


def real_devices(devices: DevicesSection) -> list[str]:
    """The device settings naming real hardware (not ``sim://``, ``none`` or ``auto``)."""
    return [key for key in REAL_DEVICE_KEYS
            if getattr(devices, key) not in ("none", "auto") and not getattr(devices, key).startswith("sim://")]


REAL_DEVICE_KEYS = ("id_reader", "printer", "ssc_reader")


def pin_advice(settings: Settings) -> str:
    """How to give this terminal its own maintenance PIN, naming the file to put it in."""
    return (f"make this terminal's own PIN with `kiosk maintenance pin-hash` and paste the [maintenance] lines it "
            f"prints into {settings.config_file} (or set KIOSK_MAINTENANCE__PIN_HASH in /etc/kiosk/kiosk.env), "
            "then restart the kiosk")


def suite_problems(settings: Settings) -> list[Problem]:
    """A sign-in key of another algorithm than ``security.suite``'s (an Ed25519 key on an ``sm`` terminal):
    the codes are still checked with the key given, but an assessor of GB/T 39786 expects SM2."""
    key = load_public_key(settings.platform.signin_public_key)
    if key is None or key.suite == settings.security.suite:
        return []
    return [Problem(settings.origin("platform.signin_public_key"), "platform.signin_public_key",
                    f"this is an {key.algorithm} key but security.suite is {settings.security.suite!r}: ask the "
                    "platform for its sign-in key of that suite (SM2 for sm, Ed25519 for intl)")]


def sample_pin_problems(settings: Settings, origin: dict[str, str] | None = None) -> list[Problem]:
    """The packaged maintenance PIN while a device endpoint is real hardware (not ``sim://``).

    The problem names where the real device was set (e.g. ``kiosk.local.toml``, written by the
    technician page, or ``/etc/kiosk/kiosk.toml``), not the packaged defaults the PIN came from."""
    real = real_devices(settings.devices)
    if settings.maintenance.pin_hash != SAMPLE_PIN_HASH or not real:
        return []
    key = f"devices.{real[0]}"
    source = (origin or {}).get(key) or settings.origin(key)
    return [Problem(source, "maintenance.pin_hash",
                    f"{key} is real hardware ({getattr(settings.devices, real[0])}) while the maintenance PIN "
                    f"is still the packaged sample one that anyone who read the manual knows: {pin_advice(settings)}")]


def target_problems(settings: Settings, origin: dict[str, str] | None = None) -> list[Problem]:
    """Device endpoints naming a target that is not allowed (:func:`kiosk.endpoints.target_problem`): a
    file that is not a serial port, a ``file://`` outside ``devices.file_output_dir``, a link-local address."""
    origin = origin or {}
    problems = []
    for key in ("id_reader", "printer", "ssc_reader"):
        uri = getattr(settings.devices, key)
        if key == "ssc_reader" and uri == "none":
            continue
        problem = target_problem(uri, file_dir=settings.devices_file_output_path)
        if problem:
            dotted = f"devices.{key}"
            problems.append(Problem(origin.get(dotted) or settings.origin(dotted), dotted, problem))
    return problems


def absent_device_problems(settings: Settings, origin: dict[str, str] | None = None) -> list[Problem]:
    """Endpoints that point at something that is not there (a missing serial device path). The kiosk
    starts without such a device (it is shown as down, items needing it are unavailable) and picks it
    up when it appears."""
    origin = origin or {}
    problems = []
    refused = {p.key for p in target_problems(settings, origin)}
    for key in ("id_reader", "printer"):
        endpoint = parse_endpoint(getattr(settings.devices, key))
        dotted = f"devices.{key}"
        if dotted in refused:
            continue
        if endpoint.local_path is not None and not Path(endpoint.local_path).exists():
            problems.append(Problem(origin.get(dotted) or settings.origin(dotted), dotted,
                                    f"{endpoint.local_path} does not exist: is the device plugged in, "
                                    "and is this the right port? (ls /dev/serial/by-id)"))
    return problems


def device_problems(settings: Settings, origin: dict[str, str] | None = None) -> list[Problem]:
    """Endpoints naming a target that is not allowed (:func:`target_problems`), and ones that point at
    something that is not there (:func:`absent_device_problems`): what a technician's change is refused for."""
    return target_problems(settings, origin) + absent_device_problems(settings, origin)
