"""Carries out the flow's QR work off the UI thread: scanning a code, and looking up 办件进度.

The effect runner (``kiosk/effects.py``) hands every :class:`flow.QrWork` effect to :func:`carry_out`
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
The platform contract has no redeeming call yet, so only the simulated app (:class:`SimulatedApp`,
``sim://`` terminals) can turn a code into an identity; on real hardware a valid code is answered
with a plain "use your ID card" until that call exists.
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

from kiosk import flow
from kiosk.privacy import mask_id_number, mask_name
from kiosk.qrcodes import ProgressLookup, SignIn, progress_url, signin_payload

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
        event = scan(effect, qr_camera(runner.cameras), last_receipt=getattr(runner, "last_receipt", b""))
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


def scan(effect: flow.ScanQr, camera: Any, *, last_receipt: bytes = b"",
         clock: Callable[[], float] = time.monotonic) -> flow.Event | None:
    """Look for a code until one is decoded, ``effect.timeout_s`` pass or ``effect.cancel`` is set.

    Returns the event for the flow, or None when the scan was cancelled (nobody is waiting for it).
    """
    from devices.base import DeviceError
    from devices.camera.qr import QrReader

    if camera is None:
        return flow.ScanFailed(effect.scan_id, "scan_no_camera")
    if hasattr(camera, "present"):  # the simulated app shows what the flow's purpose asks for
        camera.present(effect.purpose, last_receipt)
    reader = QrReader(signin_key=getattr(camera, "signin_key", None))
    deadline = clock() + effect.timeout_s
    while not effect.cancel.is_set():
        if clock() >= deadline:
            return flow.ScanFailed(effect.scan_id, "scan_timeout")
        try:
            frame = _frame(camera)
        except DeviceError as exc:
            log.warning("QR camera failed: %s", exc)
            return flow.ScanFailed(effect.scan_id, "scan_camera_failed")
        read = reader.decode(frame) if frame is not None else None
        if read is None:
            effect.cancel.wait(FRAME_PAUSE_S)
            continue
        if effect.cancel.is_set():
            return None
        return _answer(effect, read.verdict.payload, read.verdict.reason_key, camera)
    return None


def _answer(effect: flow.ScanQr, payload: Any, reason_key: str, camera: Any) -> flow.Event | None:
    if payload is None:
        return flow.ScanFailed(effect.scan_id, reason_key or "qr_not_ours")
    if isinstance(payload, ProgressLookup):
        if effect.purpose != "progress":
            return flow.ScanFailed(effect.scan_id, "qr_wrong_kind_signin")
        return flow.QrScanned(effect.scan_id, payload.receipt_no)
    assert isinstance(payload, SignIn)
    if effect.purpose != "signin":
        return flow.ScanFailed(effect.scan_id, "qr_wrong_kind_progress")
    redeem = getattr(camera, "redeem_signin", None)
    if redeem is None:
        return flow.ScanFailed(effect.scan_id, "scan_signin_unavailable")
    identity = redeem(payload.token)
    if identity is None:
        return flow.ScanFailed(effect.scan_id, "qr_signin_used")
    if effect.cancel.is_set():
        identity.wipe()
        return None
    return flow.CardRead(identity, "app_qr")


# --- progress -------------------------------------------------------------------------------

def look_up(gateway: Any, effect: flow.LookUpProgress, *, kiosk_id: str,
            post: Callable[[flow.Event], None] | None = None) -> flow.ProgressAnswered:
    """办件进度 through the gateway; typed digits are completed with this terminal's id."""
    from local_api.client import GatewayError, GatewayUnavailable

    digits = effect.digits
    receipt_no = effect.receipt_no or f"{kiosk_id}-{digits[:8]}-{digits[8:]}"
    try:
        return flow.ProgressAnswered(receipt_no, gateway.progress(receipt_no))
    except GatewayUnavailable:
        return flow.ProgressAnswered(receipt_no, {}, "error_gateway_unavailable")
    except GatewayError as exc:
        status = getattr(exc, "status", 0)
        if status in (400, 404):
            return flow.ProgressAnswered(receipt_no, {}, "progress_not_found")
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


class SimulatedApp:
    """The resident's phone with the government app, plus the platform's side of its sign-in codes.

    Issues signed one-time codes (Ed25519, :func:`kiosk.qrcodes.signin_payload`) and redeems each
    once for a TEST identity. Tests and the demo can hold up a particular code (an expired one, a
    foreign one, nothing) for the next scan with :meth:`hold_up`.
    """

    LIFETIME_S = 120

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        self._key = Ed25519PrivateKey.generate()
        self.signin_key = self._key.public_key()
        self._clock = clock
        self._lock = threading.Lock()  # the demo's thread queues codes, the runner's thread shows them
        self._held: list[str] = []
        self._tokens: set[str] = set()

    def signin_code(self, *, expires_in_s: float | None = None) -> str:
        """A fresh sign-in code (expired when ``expires_in_s`` ≤ 0)."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        expires = int(self._clock() + (self.LIFETIME_S if expires_in_s is None else expires_in_s))
        return signin_payload(token, expires, self._key)

    def hold_up(self, text: str) -> None:
        """Show ``text`` at the next scan ("" shows nothing at all) instead of the usual code."""
        with self._lock:
            self._held.append(text)

    def next_code(self, purpose: str, last_receipt: bytes = b"") -> str:
        """What the resident holds up for ``purpose``: a held code, else a fresh sign-in code, else
        the progress link of the last receipt printed (or of a sample number the platform does not know)."""
        with self._lock:
            if self._held:
                return self._held.pop(0)
        if purpose == "signin":
            return self.signin_code()
        found = _PROGRESS_LINK.findall(last_receipt or b"")
        return found[-1].decode("ascii") if found else progress_url(SAMPLE_RECEIPT_NO)

    def redeem_signin(self, token: str) -> AppSignInIdentity | None:
        """The identity behind ``token``, once (None: unknown or used)."""
        from devices.id_card.identity import sample_cards

        with self._lock:
            if token not in self._tokens:
                return None
            self._tokens.discard(token)
        person = sample_cards()[1]  # a TEST person, never a real one
        return AppSignInIdentity(person.name, person.id_number, person.gender)


class SimulatedQrCamera:
    """A simulated QR camera: each scan draws what :class:`SimulatedApp` holds up (segno, through
    ``devices.camera.simulate.qr_scene``), read on demand like the other simulated cameras."""

    fps = 25.0

    def __init__(self, app: SimulatedApp | None = None) -> None:
        self.app = app or SimulatedApp()
        self.signin_key = self.app.signin_key
        self._scene: Callable[[int], Any] | None = None
        self._i = 0
        self.shown = ""  # the last code shown (tests read it; the scanner never logs it)

    def present(self, purpose: str, last_receipt: bytes = b"") -> None:
        """Called at the start of each scan: decide what is held up to the camera."""
        from devices.camera.simulate import qr_scene

        self.shown = self.app.next_code(purpose, last_receipt)
        self._scene = qr_scene(self.shown, module_px=5) if self.shown else _empty_scene
        self._i = 0

    def read(self) -> Any:
        self._i += 1
        return (self._scene or _empty_scene)(self._i)

    def redeem_signin(self, token: str) -> AppSignInIdentity | None:
        return self.app.redeem_signin(token)


def _empty_scene(i: int) -> Any:
    import numpy as np

    return np.full((480, 640, 3), 200, np.uint8)
