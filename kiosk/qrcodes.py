"""The QR payloads this kiosk accepts, and nothing else.

Three formats:

- **progress lookup** (printed on receipts): ``https://zwfw.example.gov.cn/progress?no=<receipt_no>``,
  where a receipt number is ``<kiosk id>-<YYYYMMDD>-<6-digit sequence>``
  (e.g. ``HC-DEMO-001-20261121-000001``, as the gateway's outbox issues them);
- **sign-in** (shown by the government app, 闽政通): ``mzt:signin:v1:<token>:<expiry>:<signature>``.
  ``token`` is an opaque one-time code the platform redeems (16–64 base64url characters), ``expiry``
  the Unix time after which the code is void, and ``signature`` the platform's signature (base64url, no
  padding; 64 bytes: Ed25519, or SM2 with SM3 as r‖s under ``security.suite = "sm"`` — the key says
  which, :mod:`kiosk.crypto`) over ``mzt:signin:v1:<token>:<expiry>``. The kiosk checks the shape, the
  expiry and — when it is given the platform's public key — the signature; the platform still decides
  whether the token signs anyone in. This format is our design for the sample platform
  (``docs/platform-openapi.yaml`` owns the redeeming side), not a published 闽政通 specification.
- **staff pass** (assisted mode, 帮办代办): ``kiosk:staff:v1:<token>``, a gateway ``helper`` token
  (``kgw_<id>.<secret>``) printed as a QR for a staff member's badge or shown on their phone; the
  gateway checks it (``POST /api/v1/staff/signin``) and answers the staff number (the token's label).

:func:`inspect_payload` says why a code was refused, in plain words a resident can act on;
:func:`parse_payload` is the short form that returns only accepted payloads. Neither logs anything:
a sign-in token is a credential.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from kiosk.crypto import SigningKey, VerifyKey, load_verify_key

PROGRESS_HOST = "zwfw.example.gov.cn"
PROGRESS_PATH = "/progress"
PROGRESS_URL = f"https://{PROGRESS_HOST}{PROGRESS_PATH}?no={{receipt_no}}"
# The platform's 好差评 page for one receipt (printed as a second QR code; the kiosk does not scan it).
RATING_PATH = "/hcp"
RATING_URL = f"https://{PROGRESS_HOST}{RATING_PATH}?no={{receipt_no}}"

SIGNIN_PREFIX = "mzt:signin:"
STAFF_PREFIX = "kiosk:staff:v1:"  # a staff pass (assisted mode): the prefix, then a gateway helper token
_STAFF_TOKEN_RE = re.compile(r"^kgw_[0-9a-f]{8}\.[A-Za-z0-9_-]{20,64}$")
SIGNIN_VERSION = "v1"
# A sign-in code is meant to be shown and scanned within minutes; a longer-lived one is refused
# so a photographed code cannot be replayed for days (checked only when ``now`` is given).
SIGNIN_MAX_LIFETIME_S = 600

# Kiosk ids follow the settings' pattern (kiosk/settings.py: ``^[A-Za-z0-9_.-]+$``, ≤ 64).
# <kiosk id>-<YYYYMMDD>-<6-digit run>-<4-digit serial> (local_api/outbox/store.py); receipts printed before
# run numbers end in one 6-digit serial and are still looked up.
_RECEIPT_RE = re.compile(r"^(?P<kiosk>[A-Za-z0-9_.-]{1,64})-(?P<date>\d{8})-(?P<seq>\d{6}(?:-\d{4})?)$")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_EXPIRY_RE = re.compile(r"^\d{9,11}$")
_SIG_RE = re.compile(r"^[A-Za-z0-9_-]{86}$")  # 64 bytes in unpadded base64url
_MAX_TEXT = 512  # both formats are far shorter; anything longer is not ours
_NOT_OURS = ("this QR code is not one of ours: show the sign-in code from the government app "
             "or the QR code on your receipt")


@dataclass(frozen=True)
class ProgressLookup:
    """A receipt's progress-lookup link: look up ``receipt_no`` at the platform."""

    receipt_no: str

    @property
    def kind(self) -> str:
        return "progress_lookup"


@dataclass(frozen=True)
class SignIn:
    """A sign-in code from the government app. ``token`` is a credential: never log or show it."""

    token: str
    expires_at: int
    signature_checked: bool

    @property
    def kind(self) -> str:
        return "sign_in"

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"SignIn(token=<{len(self.token)} chars>, expires_at={self.expires_at})"


@dataclass(frozen=True)
class StaffPass:
    """A staff member's pass for assisted mode (帮办代办): ``kiosk:staff:v1:<helper token>``. The token is
    a gateway ``helper`` token (``kgw_<id>.<secret>``) whose label is the staff number; only the gateway
    can say whether it is current. A credential: never log or show it."""

    token: str

    @property
    def kind(self) -> str:
        return "staff_pass"

    def __repr__(self) -> str:
        return f"StaffPass(token=<{len(self.token)} chars>)"


QrPayload = ProgressLookup | SignIn | StaffPass


@dataclass(frozen=True)
class QrVerdict:
    """What a scanned text turned out to be: ``payload`` when accepted, else ``reason`` says why not."""

    payload: QrPayload | None
    reason: str = ""
    reason_key: str = ""  # the same reason as a message key (config/messages.toml), for the resident's language

    @property
    def accepted(self) -> bool:
        return self.payload is not None


def is_receipt_no(text: str) -> bool:
    """True for ``<kiosk id>-<YYYYMMDD>-<6 digits>-<4 digits>`` (or the older ``…-<6 digits>``) with a
    real calendar date."""
    m = _RECEIPT_RE.match(text)
    if m is None:
        return False
    try:
        dt.datetime.strptime(m["date"], "%Y%m%d")
    except ValueError:
        return False
    return True


def progress_url(receipt_no: str) -> str:
    """The progress-lookup link for ``receipt_no`` (printed as a QR on receipts).

    Raises ValueError for a string that is not a receipt number, so a wrong link never reaches paper.
    """
    if not is_receipt_no(receipt_no):
        raise ValueError(f"{receipt_no!r} is not a receipt number (<kiosk id>-<YYYYMMDD>-<6 digits>-<4 digits>)")
    return PROGRESS_URL.format(receipt_no=receipt_no)


def rating_url(receipt_no: str) -> str:
    """The platform's 好差评 (rating) page for ``receipt_no``; ValueError for a non-receipt number."""
    if not is_receipt_no(receipt_no):
        raise ValueError(f"{receipt_no!r} is not a receipt number (<kiosk id>-<YYYYMMDD>-<6 digits>-<4 digits>)")
    return RATING_URL.format(receipt_no=receipt_no)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_key_b64(key: VerifyKey) -> str:
    """``key`` as the settings and the platform write it: the raw bytes in standard base64 (32 for
    Ed25519, 65 for SM2)."""
    return key.text()


def load_public_key(text: str) -> VerifyKey | None:
    """The platform's sign-in public key from base64 (standard or url-safe); None for "" (no key).

    Its length (or an ``ed25519:``/``sm2:`` prefix) says its algorithm. Raises ValueError, saying what is
    wrong, for anything that is not an Ed25519 or SM2 public key.
    """
    return load_verify_key(text)


def signin_payload(token: str, expires_at: int, key: SigningKey) -> str:
    """A signed sign-in payload, as the platform would issue it (for simulators and tests)."""
    if not _TOKEN_RE.match(token):
        raise ValueError("sign-in token must be 16-64 base64url characters")
    body = f"{SIGNIN_PREFIX}{SIGNIN_VERSION}:{token}:{int(expires_at)}"
    return f"{body}:{_b64url(key.sign(body.encode('ascii')))}"


def staff_pass_payload(token: str) -> str:
    """The QR text of a staff pass for the helper token ``token`` (made by ``POST /api/v1/tokens`` with
    ``{"role": "helper", "label": "<staff number>"}``; ``kiosk staff-pass`` prints it as a PNG)."""
    if not _STAFF_TOKEN_RE.match(token):
        raise ValueError("a staff pass holds a gateway token: kgw_<8 hex>.<secret>")
    return STAFF_PREFIX + token


def inspect_payload(text: str, *, now: float | None = None,
                    signin_key: VerifyKey | None = None) -> QrVerdict:
    """Decide whether ``text`` (a decoded QR) is one of our formats.

    ``now`` (Unix seconds) enables the sign-in expiry checks; ``signin_key`` (the platform's public key)
    enables the signature check. Without them only the shape is checked.
    """
    if not text or len(text) > _MAX_TEXT:
        return QrVerdict(None, _NOT_OURS, "qr_not_ours")
    if text.startswith(SIGNIN_PREFIX):
        return _inspect_signin(text, now, signin_key)
    if text.startswith(STAFF_PREFIX):
        token = text[len(STAFF_PREFIX):]
        if not _STAFF_TOKEN_RE.match(token):
            return QrVerdict(None, "this staff pass is damaged: print it again from the gateway", "staff_pass_damaged")
        return QrVerdict(StaffPass(token))
    if text.lower().startswith(("https://", "http://")):
        return _inspect_progress(text)
    return QrVerdict(None, _NOT_OURS, "qr_not_ours")


def parse_payload(text: str, *, now: float | None = None,
                  signin_key: VerifyKey | None = None) -> QrPayload | None:
    """The accepted payload in ``text``, or None (see :func:`inspect_payload` for the reason)."""
    return inspect_payload(text, now=now, signin_key=signin_key).payload


def _inspect_progress(text: str) -> QrVerdict:
    foreign = QrVerdict(None, "this link is not a progress link of this service: show the QR code printed "
                              "on your receipt, or type the receipt number", "qr_foreign_link")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return foreign
    if (parts.scheme != "https" or (parts.hostname or "").lower() != PROGRESS_HOST or port is not None
            or parts.username or parts.password or parts.path != PROGRESS_PATH or parts.fragment):
        return foreign
    query = parse_qsl(parts.query, keep_blank_values=True)
    if len(query) != 1 or query[0][0] != "no":
        return QrVerdict(None, "the progress link is damaged (it must carry exactly one receipt number): "
                               "type the receipt number instead", "qr_damaged_link")
    receipt_no = query[0][1]
    if not is_receipt_no(receipt_no):
        return QrVerdict(None, "the receipt number in this QR code is not valid: type the receipt number "
                               "printed under the code instead", "qr_bad_receipt_no")
    return QrVerdict(ProgressLookup(receipt_no))


def _inspect_signin(text: str, now: float | None, key: VerifyKey | None) -> QrVerdict:
    fields = text[len(SIGNIN_PREFIX):].split(":")
    if not fields or fields[0] != SIGNIN_VERSION:
        return QrVerdict(None, "this sign-in code is from a newer or older app version: update the "
                               "government app, or use your ID card", "qr_signin_version")
    damaged = QrVerdict(None, "this sign-in code is damaged: refresh it in the government app, "
                              "or use your ID card", "qr_signin_damaged")
    if len(fields) != 4:
        return damaged
    _, token, expiry, signature = fields
    if not (_TOKEN_RE.match(token) and _EXPIRY_RE.match(expiry) and _SIG_RE.match(signature)):
        return damaged
    expires_at = int(expiry)
    if now is not None:
        if expires_at <= now:
            return QrVerdict(None, "this sign-in code has expired: refresh it in the government app "
                                   "and show it again", "qr_signin_expired")
        if expires_at - now > SIGNIN_MAX_LIFETIME_S:
            return QrVerdict(None, "this sign-in code is valid for too long to be genuine: refresh it in the "
                                   "government app, or use your ID card", "qr_signin_too_long")
    if key is not None:
        try:
            raw_signature = base64.urlsafe_b64decode(signature + "==")
        except (binascii.Error, ValueError):
            raw_signature = b""
        if not key.verify(raw_signature, f"{SIGNIN_PREFIX}{SIGNIN_VERSION}:{token}:{expiry}".encode("ascii")):
            return QrVerdict(None, "this sign-in code was not issued by the government platform: "
                                   "refresh it in the government app, or use your ID card", "qr_signin_forged")
    return QrVerdict(SignIn(token, expires_at, signature_checked=key is not None))
