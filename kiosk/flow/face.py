"""人证比对 for every item whose identity level is ``id_card_face``, whatever its kind.

identify (ID card) ─► consent ─agree─► working (CaptureFace → VerifyIdentity)
 ─verified─► the kind's journey
                          │                                                  └─not verified─► consent, failed:
                          └─alt:<way>─► card prompt (social security card, app QR)   the reason + the other ways

The consent screen always offers the item's non-biometric alternatives next to the face: nobody
is ever left with the face as the only way. A resident identified by one of those alternatives
never sees the consent screen. For print and query items the consent button also carries the
confirm (同意并打印 / 同意并查询): the consent screen shows the item and the masked applicant, so
a separate confirm screen would only add a touch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kiosk.catalog.model import ServiceItem
from kiosk.flow.model import (
    CaptureFace,
    Effect,
    Event,
    FaceCaptured,
    IdentityChecked,
    Screen,
    ServiceFailed,
    Session,
    VerifyIdentity,
)
from kiosk.flow.views import ConsentView, View, shared

if TYPE_CHECKING:
    from kiosk.flow.machine import KioskFlow

# Kinds whose consent screen also confirms the action (no separate confirm screen after the face).
CONSENT_CONFIRMS = {"print", "query"}
# What the consent screen offers instead of the face (ways a resident can identify without biometrics).
NON_BIOMETRIC = ("social_security_card", "app_qr")


# The platform's reason codes for a check that did not pass (the gateway passes them through).
PLATFORM_REASONS = {"face_mismatch": "face_reason_mismatch", "liveness_failed": "face_reason_not_live",
                    "id_not_found": "face_reason_id_not_found", "photo_unavailable": "face_reason_photo_unavailable"}


def face_reason_key(reason: str, *, captured: bool) -> str:
    """A message key saying in plain words why the face check did not pass.

    ``reason`` is the camera's free text (English, not for residents' eyes) or the platform's
    reason code, so it is mapped to a few translated explanations rather than shown.
    """
    if captured:
        return PLATFORM_REASONS.get(reason, "face_reason_other")
    text = reason.lower()
    if "camera" in text:
        return "face_reason_camera"
    if "blink" in text or "live" in text:
        return "face_reason_not_live"
    return "face_reason_no_face"


def needs_face(flow: KioskFlow) -> bool:
    """The item asks for 身份证+人脸, the resident used the ID card, and the face is not checked yet."""
    s = flow.session
    return bool(s is not None and s.item is not None and s.item.identity == "id_card_face"
                and s.identity_source == "id_card" and not s.face_verified)


def ask_consent(flow: KioskFlow) -> list[Effect]:
    s = flow.session
    assert s is not None
    s.extra.pop("face_failed", None)
    return flow.go(Screen.CONSENT)


def consent_tapped(flow: KioskFlow, target: str) -> list[Effect] | None:
    """The consent screen's own buttons: agree (the face check starts) or another way."""
    s = flow.session
    assert s is not None
    if target == "consent":
        if not face_possible(flow):
            return flow.notify("notice_face_failed")
        s.extra.pop("face_failed", None)
        s.extra["face_checking"] = True
        return [*flow.go(Screen.WORKING), CaptureFace()]
    if target.startswith("alt:") and target[4:] in NON_BIOMETRIC and s.item is not None \
            and target[4:] in s.item.accepted_identity():
        # Only a way the item accepts: a stale or forged touch cannot swap a proof-of-life check for a card.
        s.extra["awaiting"] = target[4:]
        return flow.go(Screen.CARD_PROMPT)
    return None


def face_answered(flow: KioskFlow, event: Event,
                  verified: Callable[[KioskFlow], list[Effect]]) -> list[Effect] | None:
    """Answers from the camera and the platform while the face is being checked (None: not ours);
    ``verified`` is the item's journey once the face matched."""
    s = flow.session
    if s is None or s.item is None:
        return None
    if isinstance(event, ServiceFailed) and s.extra.pop("face_checking", False):
        # The identity platform could not be asked (offline, or it failed): not a failed face, and
        # not a dead end either — back to the consent screen with the ways that need no platform.
        return face_failed(flow, "face_reason_platform")
    if isinstance(event, FaceCaptured):
        if not event.jpeg or not event.live:
            s.extra.pop("face_checking", None)
            return face_failed(flow, face_reason_key(event.reason, captured=False))
        return [VerifyIdentity(s.applicant(), event.jpeg, s.item.code)]
    if isinstance(event, IdentityChecked):
        s.extra.pop("face_checking", None)
        s.face_verified = event.verified
        if not event.verified:
            return face_failed(flow, face_reason_key(event.reason, captured=True))
        return verified(flow)
    return None


def face_failed(flow: KioskFlow, reason_key: str) -> list[Effect]:
    s = flow.session
    assert s is not None
    s.extra["face_failed"] = reason_key
    return [*flow.go(Screen.CONSENT), *flow.notify("notice_face_failed")]


def consent_view(flow: KioskFlow, s: Session, item: ServiceItem, base: View) -> ConsentView:
    """What the consent screen needs beyond the item: how it confirms, the failure, the other ways."""
    return ConsentView(**shared(base),
                       consent_confirms=item.kind if item.kind in CONSENT_CONFIRMS else "",
                       face_failed=s.extra.get("face_failed", ""),
                       face_possible=face_possible(flow),
                       # Why not: the camera, or the identity platform the face must be compared at.
                       face_unavailable_key="face_unavailable" if not flow.available.get("camera", True)
                       else "face_unavailable_platform",
                       alternatives=[a for a in item.identity_alternatives if a in NON_BIOMETRIC])


def face_possible(flow: KioskFlow) -> bool:
    """A face check needs the camera here and the identity platform (the comparison is done there)."""
    return flow.available.get("camera", True) and flow.available.get("platform", True)
