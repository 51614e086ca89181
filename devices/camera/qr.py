"""QR codes from live frames: ``cv2.QRCodeDetector``, then :mod:`kiosk.qrcodes` decides what is ours.

A code held up to the camera is seen in many consecutive frames; :meth:`QrReader.scan` reports it
once and again only after it has been out of view for ``repeat_after_s`` (a resident showing the
same code twice means it). Foreign and malformed codes are reported too, with the reason, so the
screen can say what to do instead (type the receipt number, use the ID card, ask staff).

The decoded text of a sign-in code is a credential: it is kept only inside the returned
:class:`QrRead` and never logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.crypto import VerifyKey
from kiosk.qrcodes import QrVerdict, inspect_payload


@dataclass(frozen=True)
class QrRead:
    """One decoded code: the raw ``text``, the ``verdict`` on it and the code's corners in the frame."""

    text: str
    verdict: QrVerdict
    corners: tuple[tuple[float, float], ...]

    @property
    def accepted(self) -> bool:
        return self.verdict.accepted

    def __repr__(self) -> str:  # the text may be a sign-in token
        kind = self.verdict.payload.kind if self.verdict.payload else "rejected"
        return f"QrRead({kind}, {len(self.text)} chars)"


class QrReader:
    """Decodes QR codes from frames and validates them against our formats.

    ``signin_key`` is the platform's public key (Ed25519 or SM2) for sign-in codes (None: shape and expiry only);
    ``clock`` gives Unix seconds for the expiry check.
    """

    def __init__(self, *, signin_key: VerifyKey | None = None,
                 clock: Callable[[], float] = time.time, repeat_after_s: float = 3.0) -> None:
        self._detector = cv2.QRCodeDetector()
        self.signin_key = signin_key
        self._clock = clock
        self.repeat_after_s = repeat_after_s
        self._last_text = ""
        self._last_seen = -1e9

    def decode(self, frame: np.ndarray) -> QrRead | None:
        """The code in ``frame``, validated; None when no code could be decoded."""
        try:
            text, points, _ = self._detector.detectAndDecode(frame)
        except cv2.error:
            return None  # OpenCV rejects some degenerate detections instead of returning empty
        if not text:
            return None
        corners = tuple((float(x), float(y)) for x, y in points.reshape(-1, 2)) if points is not None else ()
        return QrRead(text, inspect_payload(text, now=self._clock(), signin_key=self.signin_key), corners)

    def scan(self, frame: np.ndarray, now: float | None = None) -> QrRead | None:
        """Like :meth:`decode`, but a code still in view since its last report is not reported again."""
        now = time.monotonic() if now is None else now
        read = self.decode(frame)
        if read is None:
            return None
        repeated = read.text == self._last_text and now - self._last_seen < self.repeat_after_s
        self._last_text, self._last_seen = read.text, now
        return None if repeated else read

    def forget(self) -> None:
        """Forget the last code (end of session)."""
        self._last_text, self._last_seen = "", -1e9
