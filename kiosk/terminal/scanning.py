"""Carries out the flow's QR work off the UI thread: scanning a code, and looking up 办件进度.

The effect runner (``kiosk/terminal/effects.py``) hands every :class:`flow.QrWork` effect to :func:`carry_out`
on its worker thread; the answer goes back to the flow as an event:

- :class:`flow.ScanQr` → :class:`flow.QrScanned` (a receipt's progress link), :class:`flow.CardRead`
  (``app_qr``: the government app's sign-in code, redeemed for the resident's identity) or
  :class:`flow.ScanFailed` (no camera, a foreign or damaged code with the verdict's reason, an
  expired or forged sign-in code, nothing seen within the time limit). A cancelled scan (the
  resident left the scan screen) stops within one frame and posts nothing.
- :class:`flow.LookUpProgress` → :class:`flow.ProgressAnswered` (the gateway's own state while the
  submission waits in its outbox, the platform's answer after that, or a reason when neither can
  be had).

Which camera scans: ``qr_camera`` when the terminal has one, else the document camera (高拍仪),
which every terminal with materials has and which looks down at the same desk a receipt is laid on.

Sign-in codes are credentials: neither the code nor the identity it stands for is ever logged.
A sign-in code is redeemed by the platform, through the gateway (``POST /api/v1/identity/signin`` →
the platform's ``POST /v1/identity/signin``), on every terminal: the kiosk checks the code's shape,
expiry and — with ``platform.signin_public_key`` set, or the simulator's key on ``sim://`` terminals —
its signature, and the platform decides whether it signs anyone in. When the platform cannot be
reached the resident is told so and offered the cards on the same screen.

On ``sim://`` terminals the resident's phone is :class:`SimulatedApp`: when the platform is the
simulator (an empty ``platform.url``, or one on loopback) it gets its codes from the simulator's
``POST /admin/signin-codes``, exactly as the government app gets them from the platform.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from devices.base import DeviceError
from kiosk import flow
from kiosk.crypto import SigningKey
from kiosk.flow.qr import receipt_from_digits
from kiosk.privacy import mask_id_number, mask_name
from kiosk.qrcodes import ProgressLookup, SignIn, StaffPass, load_public_key, progress_url, signin_payload
from kiosk.settings import LOOPBACK_HOSTS
from kiosk.terminal import staff
from local_api.client import GatewayError, GatewayUnavailable

log = logging.getLogger(__name__)

FRAME_PAUSE_S = 0.02  # between frames: the 2-core terminal also draws the screen
SAMPLE_RECEIPT_NO = "HC-DEMO-001-20260101-000001"  # shown before anything was printed: the platform says "not found"
# The QR payload in an ESC/POS receipt is stored verbatim by the printer's QR command (GS ( k), so the
# progress link can be found in the bytes without decoding the whole stream.
_PROGRESS_LINK = re.compile(rb"https://zwfw\.example\.gov\.cn/progress\?no=[A-Za-z0-9_.-]{1,80}")


def qr_camera(cameras: dict[str, Any]) -> Any:
    """The camera that reads QR codes: a dedicated ``qr_camera``, else the document camera (or None)."""
    return cameras.get("qr_camera") or cameras.get("document_camera")


def carry_out(runner: Any, effect: flow.QrWork) -> None:
    """Do ``effect`` for the effect runner ``runner`` (its cameras, gateway, settings, last receipt)
    and post the answer through ``runner.post``. Blocks the runner's worker, never the UI."""
    if isinstance(effect, flow.ScanQr):
        camera = qr_camera(runner.cameras)
        if hasattr(camera, "use_platform"):  # the simulated phone asks the platform simulator for codes
            camera.use_platform(simulated_platform_url(runner.settings))
        gateway = runner.gateway
        event = scan(effect, camera, redeem=lambda token: redeem_signin(gateway, token),
                     verify_staff=lambda token: staff.verify(gateway, token),
                     signin_key=load_public_key(runner.settings.platform.signin_public_key),
                     last_receipt=getattr(runner, "last_receipt", b""))
        if event is not None:
            runner.post(event)
    elif isinstance(effect, flow.LookUpProgress):
        runner.post(look_up(runner.gateway, effect, kiosk_id=runner.settings.kiosk.id, post=runner.post))


# --- scanning -------------------------------------------------------------------------------

def _frame(camera: Any) -> Any:
    """One frame from a simulated camera (``read``) or a real one (``latest`` frame of its thread)."""
    if hasattr(camera, "read"):
        return camera.read()
    latest = camera.latest()
    return None if latest is None else latest.image


Redeem = Callable[[str], "AppSignInIdentity | str"]
"""Turns a sign-in token into the resident, or into the message key saying why not."""


def _down(camera: Any) -> bool:
    """Whether a real camera reports itself down (a simulated one has no status and never is)."""
    status = getattr(camera, "status", None)
    return status is not None and status().state.value not in ("online", "busy")


def scan(effect: flow.ScanQr, camera: Any, *, redeem: Redeem | None = None, signin_key: Any = None,
         last_receipt: bytes = b"", clock: Callable[[], float] = time.monotonic,
         verify_staff: staff.VerifyStaff | None = None) -> flow.Event | None:
    """Look for a code until one is decoded, ``effect.timeout_s`` pass or ``effect.cancel`` is set.

    ``redeem`` turns a sign-in code's token into the resident (:func:`redeem_signin` through the
    gateway); without it a sign-in code is answered "not available". ``signin_key`` is the platform's
    public key (Ed25519 or SM2); when None, the simulated phone's platform key is used if the camera has
    one, else only the code's shape and expiry are checked.
    Returns the event for the flow, or None when the scan was cancelled (nobody is waiting for it).
    """
    from devices.camera.qr import QrReader  # lazy: imports OpenCV (0.3 s); only a scan needs it

    if camera is None:
        return flow.ScanFailed(effect.scan_id, "scan_no_camera")
    if hasattr(camera, "present"):  # the simulated app shows what the flow's purpose asks for
        camera.present(effect.purpose, last_receipt)
    key = signin_key if signin_key is not None else getattr(camera, "signin_key", None)
    reader = QrReader(signin_key=key)
    deadline = clock() + effect.timeout_s
    while not effect.cancel.is_set():
        if clock() >= deadline:
            return flow.ScanFailed(effect.scan_id, "scan_timeout")
        try:
            frame = _frame(camera)
        except DeviceError as exc:
            log.warning("QR camera failed: %s", exc)
            return flow.ScanFailed(effect.scan_id, "scan_camera_failed")
        if frame is None and _down(camera):  # unplugged mid-scan: say so now, not at the scan's timeout
            log.warning("QR camera went down during a scan")
            return flow.ScanFailed(effect.scan_id, "scan_camera_failed")
        read = reader.decode(frame) if frame is not None else None
        if read is None:
            effect.cancel.wait(FRAME_PAUSE_S)
            continue
        if effect.cancel.is_set():
            return None
        if isinstance(read.verdict.payload, StaffPass) or effect.purpose == "staff":  # assisted mode
            return staff.answer(effect, read.verdict.payload, verify_staff) if read.verdict.accepted else \
                flow.ScanFailed(effect.scan_id, read.verdict.reason_key or "qr_not_ours")
        return _answer(effect, read.verdict.payload, read.verdict.reason_key, redeem)
    return None


def _answer(effect: flow.ScanQr, payload: Any, reason_key: str, redeem: Redeem | None) -> flow.Event | None:
    if payload is None:
        return flow.ScanFailed(effect.scan_id, reason_key or "qr_not_ours")
    if isinstance(payload, ProgressLookup):
        if effect.purpose != "progress":
            return flow.ScanFailed(effect.scan_id, "qr_wrong_kind_signin")
        return flow.QrScanned(effect.scan_id, payload.receipt_no)
    assert isinstance(payload, SignIn)
    if effect.purpose != "signin":
        return flow.ScanFailed(effect.scan_id, "qr_wrong_kind_progress")
    if redeem is None:
        return flow.ScanFailed(effect.scan_id, "scan_signin_unavailable")
    identity = redeem(payload.token)
    if isinstance(identity, str):
        return flow.ScanFailed(effect.scan_id, identity)
    if effect.cancel.is_set():
        identity.wipe()
        return None
    return flow.CardRead(identity, "app_qr")


def redeem_signin(gateway: Any, token: str) -> AppSignInIdentity | str:
    """The resident a sign-in token stands for, redeemed by the platform through the gateway; else the
    message key for the resident: used or unknown, expired, damaged, or the platform out of reach."""
    try:
        answer = gateway.redeem_signin(token)
    except GatewayUnavailable as exc:
        log.warning("app sign-in not possible: %s", exc.technician)
        return "scan_signin_unavailable"
    except GatewayError as exc:
        status = getattr(exc, "status", 0)
        body = getattr(exc, "body", {}) or {}
        if status == 410 and body.get("platform_error") == "signin_expired":
            return "qr_signin_expired"  # the platform's clock said so, though ours did not
        if status in (404, 410):
            return "qr_signin_used"
        if status in (400, 422):
            return "qr_signin_damaged"
        log.warning("app sign-in not possible: the gateway answered HTTP %s (%s)", status,
                    body.get("error", "no error code"))
        return "scan_signin_unavailable"
    name, number = answer.get("name"), answer.get("id_number")
    if not isinstance(name, str) or not name or not isinstance(number, str) or not number:
        log.warning("app sign-in not possible: the platform's answer names nobody")
        return "scan_signin_unavailable"
    return AppSignInIdentity(name, number, str(answer.get("gender") or ""),
                             str(answer.get("card_type") or "resident"))


def simulated_platform_url(settings: Any) -> str:
    """The platform simulator the simulated phone asks for sign-in codes: ``platform.url`` when it is on
    loopback (the simulator's admin door answers only there), the built-in simulator's port when the
    url is empty (``kiosk run``), else "" (a real platform: the phone makes codes no platform knows)."""
    platform = settings.platform
    url = platform.url or (f"http://127.0.0.1:{platform.sim_port}" if platform.sim_port else "")
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return ""
    return url if host in LOOPBACK_HOSTS else ""


# --- progress -------------------------------------------------------------------------------

def look_up(gateway: Any, effect: flow.LookUpProgress, *, kiosk_id: str,
            post: Callable[[flow.Event], None] | None = None) -> flow.ProgressAnswered:
    """办件进度 through the gateway; typed digits are completed with this terminal's id."""
    digits = effect.digits
    receipt_no = effect.receipt_no or receipt_from_digits(kiosk_id, digits)
    try:
        return flow.ProgressAnswered(receipt_no, gateway.progress(receipt_no))
    except GatewayUnavailable:
        return flow.ProgressAnswered(receipt_no, {}, "error_gateway_unavailable")
    except GatewayError as exc:
        status = getattr(exc, "status", 0)
        if status in (400, 404):
            return flow.ProgressAnswered(receipt_no, {}, "progress_not_found")
        if status == 409:  # more than one case carries this number: showing one could show a stranger's
            return flow.ProgressAnswered(receipt_no, {}, "progress_ambiguous")
        if status == 503 and post is not None:  # the platform is away: online items show it
            post(flow.DeviceStates({"platform": False}))
        return flow.ProgressAnswered(receipt_no, {}, "progress_try_later")


# --- the simulated app and QR camera (sim:// terminals) --------------------------------------

@dataclass
class AppSignInIdentity:
    """Who a sign-in code stood for, as the platform answers it (name and ID number, no photo).

    Lives only in the flow's session, like a card read; :meth:`wipe` forgets it."""

    name: str
    id_number: str
    gender: str = ""
    card_type: str = "resident"

    def wipe(self) -> None:
        """Forget the person (end of session)."""
        self.name = self.id_number = self.gender = ""

    def __repr__(self) -> str:  # never the full name or number in a log or traceback
        return f"AppSignInIdentity({mask_name(self.name)}, {mask_id_number(self.id_number)})"


@dataclass(frozen=True)
class _FreshCode:
    """A sign-in code to be issued only when it is shown (as the app refreshes its code on screen)."""

    expires_in_s: float | None


class SimulatedApp:
    """The resident's phone with the government app.

    Its sign-in codes come from the platform simulator (``POST /admin/signin-codes``, signed with the
    simulator's key — Ed25519, or SM2 under the sm suite — redeemed there once for a TEST person) once
    :meth:`use_platform` names it. Without a platform simulator it signs codes with a key of its own that no platform knows, so
    the platform refuses them as it would a code from another system. Tests and the demo can hold
    up a particular code (an expired one, a foreign one, nothing) for the next scan with
    :meth:`hold_up` or :meth:`hold_up_signin`.
    """

    LIFETIME_S = 120
    ADMIN_TIMEOUT_S = 5.0

    def __init__(self, clock: Callable[[], float] = time.time, platform_url: str = "") -> None:
        self._key = SigningKey.generate("intl")  # the phone's own: no platform knows it
        self._clock = clock
        self._lock = threading.Lock()  # the demo's thread queues codes, the runner's thread shows them
        self._held: list[str | _FreshCode] = []
        self.platform_url = platform_url.rstrip("/")
        self._platform_key: Any = None  # the simulator's public key, from its answer

    @property
    def signin_key(self) -> Any:
        """The public key the codes shown are signed with (the platform's, once one was issued there)."""
        with self._lock:
            return self._platform_key or self._key.public

    def use_platform(self, url: str) -> None:
        """Get codes from the platform simulator at ``url`` ("" for none) from now on."""
        url = url.rstrip("/")
        with self._lock:
            if url != self.platform_url:
                self.platform_url, self._platform_key = url, None

    def signin_code(self, *, expires_in_s: float | None = None) -> str:
        """A fresh sign-in code (expired when ``expires_in_s`` ≤ 0): the platform simulator's when one
        is in use and answers, else one signed by this phone's own key."""
        lifetime = self.LIFETIME_S if expires_in_s is None else expires_in_s
        url = self.platform_url
        if url:
            try:
                response = requests.post(f"{url}/admin/signin-codes", json={"expires_in_s": lifetime},
                                         timeout=self.ADMIN_TIMEOUT_S)
                response.raise_for_status()
                data = response.json()
                key = load_public_key(str(data["public_key"]))
                with self._lock:
                    self._platform_key = key
                return str(data["code"])
            except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
                # Only the simulated phone is affected; the code it shows instead will be refused.
                log.warning("the simulated government app got no sign-in code from the platform simulator "
                            "at %s (%s); it shows a code no platform issued", url, type(exc).__name__)
        return signin_payload(secrets.token_urlsafe(24), int(self._clock() + lifetime), self._key)

    def hold_up(self, text: str) -> None:
        """Show ``text`` at the next scan ("" shows nothing at all) instead of the usual code."""
        with self._lock:
            self._held.append(text)

    def hold_up_signin(self, *, expires_in_s: float | None = None) -> None:
        """At the next scan show a sign-in code issued at that moment (expired when ``expires_in_s`` ≤ 0)."""
        with self._lock:
            self._held.append(_FreshCode(expires_in_s))

    def next_code(self, purpose: str, last_receipt: bytes = b"") -> str:
        """What the resident holds up for ``purpose``: a held code, else a fresh sign-in code, else
        the progress link of the last receipt printed (or of a sample number the platform does not know)."""
        with self._lock:
            held = self._held.pop(0) if self._held else None
        if isinstance(held, _FreshCode):
            return self.signin_code(expires_in_s=held.expires_in_s)
        if held is not None:
            return held
        if purpose == "signin":
            return self.signin_code()
        if purpose == "staff":
            return ""  # a staff pass is held up by a test or the demo (hold_up); the resident's phone has none
        found = _PROGRESS_LINK.findall(last_receipt or b"")
        return found[-1].decode("ascii") if found else progress_url(SAMPLE_RECEIPT_NO)


class SimulatedQrCamera:
    """A simulated QR camera with the resident's phone (:class:`SimulatedApp`) held up to it: each scan
    draws what the app holds up (segno, through ``devices.camera.simulate.qr_scene``), read on demand
    like the other simulated cameras. It is the registry's ``sim://`` QR camera
    (:class:`~devices.camera.simulate.CodeCamera`) with a phone of its own, for tests and benchmarks."""

    fps = 25.0

    def __init__(self, app: SimulatedApp | None = None) -> None:
        # lazy: devices.camera imports OpenCV (0.3 s), and this module is loaded at start-up
        from devices.camera.simulate import CodeCamera

        self.app = app or SimulatedApp()
        self._camera = CodeCamera(self.app)

    @property
    def shown(self) -> str:
        """The last code shown (tests read it; the scanner never logs it)."""
        return self._camera.shown

    @property
    def signin_key(self) -> Any:
        """The key the phone's codes are signed with (the platform simulator's when it issued them)."""
        return self.app.signin_key

    def use_platform(self, url: str) -> None:
        """Let the phone get its codes from the platform simulator at ``url`` ("" for none)."""
        self.app.use_platform(url)

    def present(self, purpose: str, last_receipt: bytes = b"") -> None:
        """Called at the start of each scan: decide what is held up to the camera."""
        self._camera.present(purpose, last_receipt)

    def read(self) -> Any:
        """The next frame of what is held up."""
        return self._camera.read()

    def close(self) -> None:
        """Nothing to release."""
