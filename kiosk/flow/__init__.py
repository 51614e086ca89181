"""The resident's journey as a state machine: ``handle(event) -> effects``.

No pygame, no Flask, no threads: the screens turn touches into :class:`Tapped` events (and the
on-screen keyboard's text into :class:`TextEntered`), device threads turn card reads into
:class:`CardRead`, the effect runner turns gateway, camera and printer answers into events, and a
:class:`Tick` lets the flow notice timeouts against the injected monotonic clock. The flow answers
each event with a list of effects for the outside world to carry out.

Personal data lives only in the :class:`Session`; :meth:`KioskFlow.view` hands the screens
display-safe (masked) strings, and every way a session ends goes through :meth:`KioskFlow.end_session`, which
wipes it and cancels any print still waiting.

- ``model.py``: screens, events, effects (``Material``: a scanned page handed in), the session
- ``identity.py``: the ``Identity`` protocol the devices' identities satisfy, and ``PREFILL`` (catalog
  pre-fill key → what it reads from the identity)
- ``views.py``: one frozen dataclass per screen view (``View`` and its subclasses)
- ``machine.py``: :class:`KioskFlow` (sessions, the buttons every screen has, availability, time)
  and its dispatch table ``HANDLERS``: screen → the screen's handler (``handler.py``)
- ``browse.py``: attract, home, categories, lists, search, detail, help
- ``journeys.py``: each item kind end to end (card prompt, confirm, form, materials, review, slots,
  result, working, printing, done)
- ``face.py``: 人证比对 (consent, face capture, platform check, the other ways) for every 身份证+人脸 item
- ``qr.py``: 办件进度查询 (scan a receipt or type its number) and 扫码登录 (the app's sign-in code)
- ``payment.py``: a fee item's payment (the fee, the payment QR code, the countdown, paid on the platform's word)
- ``assisted.py``: 帮办代办 — a staff member's session (sign-in by staff pass, its own timeouts), the resident's
  consent or a 委托书 before any submission, and 代办人 on it
- ``help_desk.py``: help by the station's opening hours, the call-back, a report's details, and the resident's
  side of the remote help desk (consent, staff number, point, messages, end)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what __getattr__ below hands out, for type checkers
    from kiosk.flow.identity import Identity
    from kiosk.flow.machine import HELP_GROUPS, REPORT_CATEGORIES, SEARCH_CHIPS, KioskFlow
    from kiosk.flow.model import *

__all__ = [
    "HELP_GROUPS",
    "RATING_LEVELS",
    "REPORT_CATEGORIES",
    "SEARCH_CHIPS",
    "Identity",
    "KioskFlow",
    "Screen",
    "Session",
    "id_type",
]


def __getattr__(name: str) -> Any:
    """``flow.KioskFlow``, ``flow.Tapped`` …: the flow's vocabulary (``model.py``) and machine, loaded on
    first use so that the first frame (``screens/boot.py``), which needs only ``kiosk.flow.views``,
    does not wait for the catalog and the transitions."""
    for module in ("kiosk.flow.model", "kiosk.flow.identity", "kiosk.flow.machine"):
        # lazy: importing these at package import would load the catalog before the first frame
        found = importlib.import_module(module)
        if not name.startswith("_") and hasattr(found, name):
            return getattr(found, name)
    raise AttributeError(f"module 'kiosk.flow' has no attribute {name!r}")
