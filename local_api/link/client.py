"""HTTP client of the government platform (contract: ``docs/platform-openapi.yaml``).

Every request is signed (:mod:`local_api.link.signing`); TLS certificates are verified when the
URL is https (requests' default, never switched off here), against ``platform.ca_bundle`` when it is
set (a private government CA) and with the terminal's client certificate (``platform.client_cert`` /
``client_key``, mutual TLS) when it is set (:class:`PlatformTLS`). The platform's certificate expiry as
seen on the last new connection is kept for the metrics (:meth:`PlatformClient.server_cert_not_after`).
Python's ``ssl`` (OpenSSL) speaks TLS, not TLCP (GB/T 38636, SM2 double certificates): a platform that
requires TLCP is reached through a TLCP front on the terminal (``docs/compliance.md``). Failures come out as two
exceptions the callers act on: :class:`PlatformUnavailable` (try again later) and
:class:`PlatformRejected` (the platform said no; trying again will not help).
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_netrc_auth
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from local_api.link.signing import sign
from local_api.strict_json import STRICT_NUMBERS

# 408 and 429 are "not now" rather than "no"; every other 4xx is final.
_RETRYABLE_4XX = {408, 429}
MAX_REASON_CHARS = 300


class PlatformError(Exception):
    """Base of the platform client's errors; ``reason`` is plain text without personal data."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class PlatformUnavailable(PlatformError):
    """The platform could not be reached or asked us to wait; ``retry_after`` in seconds if it said."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PlatformRejected(PlatformError):
    """The platform refused the request (a 4xx other than 408/429); ``code`` is its ``error`` field."""

    def __init__(self, reason: str, status: int, code: str = "") -> None:
        super().__init__(reason)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class PlatformReply:
    """The platform's acknowledgement of a submission."""

    platform_ref: str
    status: int
    duplicate: bool  # True when the platform already had this idempotency key


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now (delta-seconds or HTTP-date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def clock_offset_of(date_header: str | None, *, now: float | None = None) -> float | None:
    """How far the clock of a server whose answer carried ``Date: date_header`` is ahead of ours, in
    seconds (HTTP-dates are whole seconds); None when the header is absent or unreadable."""
    if not date_header:
        return None
    try:
        when = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is GMT; a zone-less one is not one
        return None
    return when.timestamp() - (time.time() if now is None else now)


@dataclass(frozen=True)
class PlatformTLS:
    """TLS towards the platform: the CA bundle its certificate must chain to (empty: the system's trust
    store) and this terminal's client certificate and key (both or neither: mutual TLS)."""

    ca_bundle: str = ""
    client_cert: str = ""
    client_key: str = ""


def tls_failure_reason(exc: BaseException) -> str:
    """A TLS failure towards the platform in plain words, naming the setting to look at."""
    text = str(exc)
    verify = re.search(r"certificate verify failed: ([^(')]+)", text)
    if verify:
        return (f"TLS: the platform's certificate was refused ({verify.group(1).strip()}); is platform.ca_bundle "
                "the CA that signed it, and platform.url its name?")
    alert = re.search(r"(tlsv1\d? alert [a-z ]+|sslv3 alert [a-z ]+)", text)
    if alert:
        return (f"TLS: the platform refused this terminal ({alert.group(1).strip()}); it may want a client "
                "certificate it trusts (platform.client_cert / client_key)")
    if "EOF occurred" in text or "UNEXPECTED_EOF" in text:
        return ("TLS: the platform closed the connection during the handshake; it may want a client certificate "
                "it trusts (platform.client_cert / client_key)")
    short = re.search(r"\[SSL[^]]*\] ([^(')]+)", text)
    return f"TLS with the platform failed ({(short.group(1) if short else type(exc).__name__).strip()})"


class _CertWatchingAdapter(HTTPAdapter):
    """requests' adapter whose HTTPS connections tell ``seen`` the server certificate's expiry (Unix
    seconds) each time one is made (the handshake verified it: ``platform.ca_bundle`` or the system store)."""

    def __init__(self, seen: Callable[[float], None]) -> None:
        def connect(conn: HTTPSConnection) -> None:
            HTTPSConnection.connect(conn)
            sock = conn.sock
            cert = sock.getpeercert() if isinstance(sock, ssl.SSLSocket) else None
            not_after = cert.get("notAfter") if cert else None
            if isinstance(not_after, str):
                seen(float(ssl.cert_time_to_seconds(not_after)))

        connection = type("WatchedHTTPSConnection", (HTTPSConnection,), {"connect": connect})
        self._pool = type("WatchedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": connection})
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        # a new dict: urllib3's default one is shared by every pool manager in the process
        self.poolmanager.pool_classes_by_scheme = {"http": HTTPConnectionPool, "https": self._pool}


def _reason_of(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("reason", "message", "error"):
            if isinstance(data.get(key), str):
                return f"HTTP {response.status_code}: {data[key]}"[:MAX_REASON_CHARS]
    return f"HTTP {response.status_code} {response.reason or ''}".strip()[:MAX_REASON_CHARS]


def _error_code_of(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    code = data.get("error") if isinstance(data, dict) else None
    return code[:64] if isinstance(code, str) else ""


BATCH_PATH = "/v1/submissions/batch"
NO_BATCH_RECHECK_S = 3600.0
REF_FIELDS = {"application": "platform_ref", "rating": "rating_ref", "help_request": "help_ref",
              "report": "report_ref"}


def _batch_outcome(kind: str, key: str, result: Any) -> PlatformReply | PlatformError:
    """One submission's outcome in a batch answer, as its own endpoint's answer would have been read."""
    if not isinstance(result, dict) or result.get("idempotency_key") != key:
        return PlatformUnavailable("batch answer out of order or without its idempotency_key")
    status, body = result.get("status"), result.get("body")
    if not isinstance(status, int) or isinstance(status, bool) or not isinstance(body, dict):
        return PlatformUnavailable("batch answer without a status and body")
    if status >= 500 or status in _RETRYABLE_4XX:
        retry_after = result.get("retry_after")
        return PlatformUnavailable(_reason_in(status, body),
                                   float(retry_after) if isinstance(retry_after, (int, float)) and retry_after >= 0
                                   and not isinstance(retry_after, bool) else None)
    if status >= 400:
        code = body.get("error")
        return PlatformRejected(_reason_in(status, body), status, code[:64] if isinstance(code, str) else "")
    ref = body.get(REF_FIELDS.get(kind, "platform_ref"))
    if status not in (200, 201) or not isinstance(ref, str) or not ref:
        return PlatformUnavailable(f"HTTP {status} without {REF_FIELDS.get(kind, 'platform_ref')}")
    return PlatformReply(platform_ref=ref, status=status, duplicate=status == 200)


def _reason_in(status: int, body: dict[str, Any]) -> str:
    for key in ("reason", "message", "error"):
        if isinstance(body.get(key), str):
            return f"HTTP {status}: {body[key]}"[:MAX_REASON_CHARS]
    return f"HTTP {status}"


class PlatformClient:
    """Signed JSON requests to the platform. Safe to share between threads (one session per thread)."""

    def __init__(self, base_url: str, secret: str, kiosk_id: str, timeout_s: float, *,
                 tls: PlatformTLS | None = None, suite: str = "intl") -> None:
        self.base_url = base_url.rstrip("/")
        self.suite = suite  # security.suite: HMAC-SHA256 or HMAC-SM3 request signatures (local_api.link.signing)
        self.tls = tls or PlatformTLS()
        self.on_clock: Callable[[float], None] | None = None
        """Told each clock offset heard (the gateway's audit records it); must not raise."""
        self._server_not_after: float | None = None
        # The private CA only (not the system store as well); requests' default (True) without one.
        self._verify: str | bool = self.tls.ca_bundle or True
        self._cert = (self.tls.client_cert, self.tls.client_key) if self.tls.client_cert else None
        self._base_path = urlsplit(self.base_url).path
        self._secret = secret
        self.kiosk_id = kiosk_id
        self.timeout_s = timeout_s
        # requests.Session is not documented as thread-safe: the forwarder and request
        # threads each get their own, all closed by close().
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        # The platform's clock as its last answer dated it: (offset from ours in s, monotonic when heard).
        self._clock: tuple[float, float] | None = None
        self._no_batch_until = 0.0  # monotonic: a platform without the batch endpoint is asked again after

    def heard_clock(self) -> tuple[float, float] | None:
        """``(offset_s, heard_at)``: how far the platform's clock was ahead of this machine's wall clock
        (from the ``Date`` header of its last answer, any status) and when (``time.monotonic()``)."""
        return self._clock

    def server_cert_not_after(self) -> float | None:
        """When the platform's TLS certificate expires (Unix seconds), as seen on the last connection;
        None before one (or over plain HTTP)."""
        return self._server_not_after

    def _cert_seen(self, not_after: float) -> None:
        self._server_not_after = not_after

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = f"gov-kiosk-gateway ({self.kiosk_id})"
            session.mount("https://", _CertWatchingAdapter(self._cert_seen))
            # The environment (HTTPS_PROXY / NO_PROXY, REQUESTS_CA_BUNDLE, ~/.netrc) is read once, here, as
            # requests would read it for the platform's URL, instead of on every request: walking os.environ
            # for proxies cost the forwarder ≈ 0.3 ms of CPU per delivery. Every request goes to base_url.
            settings = session.merge_environment_settings(self.base_url, {}, None, self._verify, self._cert)
            session.auth = get_netrc_auth(self.base_url)
            session.trust_env = False
            self._local.settings = settings
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Close every pooled connection."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def _request(self, method: str, path: str, body: Any = None,
                 headers: dict[str, str] | None = None) -> requests.Response:
        # allow_nan=False: never NaN or Infinity on the wire (not JSON; issue 17).
        raw = b"" if body is None else json.dumps(body, ensure_ascii=False, sort_keys=True,
                                                  allow_nan=False).encode("utf-8")
        all_headers = dict(headers or {})
        if body is not None:
            all_headers["Content-Type"] = "application/json; charset=utf-8"
        all_headers.update(sign(self._secret, self.kiosk_id, method, self._base_path + path, raw, suite=self.suite))
        try:
            # verify and cert per request: a session's own are overridden by REQUESTS_CA_BUNDLE (requests #3829)
            session = self._session()
            env = self._local.settings
            response = session.request(method, self.base_url + path, data=raw or None, headers=all_headers,
                                       timeout=self.timeout_s, verify=env["verify"], cert=env["cert"],
                                       proxies=env["proxies"])
        except requests.Timeout as exc:
            raise PlatformUnavailable(f"no answer within {self.timeout_s:g} s") from exc
        except requests.exceptions.SSLError as exc:
            raise PlatformUnavailable(tls_failure_reason(exc)) from exc
        except requests.ConnectionError as exc:
            raise PlatformUnavailable(f"cannot connect to {self.base_url}: {type(exc).__name__}") from exc
        except requests.RequestException as exc:
            # e.g. the connection dropped mid-answer: the platform may have the request; retry is safe
            raise PlatformUnavailable(f"broken answer from the platform: {type(exc).__name__}") from exc
        offset = clock_offset_of(response.headers.get("Date"))
        if offset is not None:
            self._clock = (offset, time.monotonic())  # one tuple, swapped whole: safe across threads
            if self.on_clock is not None:
                self.on_clock(offset)
        status = response.status_code
        if status >= 500 or status in _RETRYABLE_4XX:
            raise PlatformUnavailable(_reason_of(response),
                                      parse_retry_after(response.headers.get("Retry-After")))
        if status >= 400:
            raise PlatformRejected(_reason_of(response), status, _error_code_of(response))
        return response

    def _json(self, response: requests.Response) -> dict[str, Any]:
        try:
            data = response.json(**STRICT_NUMBERS)
        except ValueError as exc:
            raise PlatformUnavailable(f"HTTP {response.status_code} with a body that is not JSON") from exc
        if not isinstance(data, dict):
            raise PlatformUnavailable(f"HTTP {response.status_code} with JSON that is not an object")
        return data

    def _submit(self, path: str, idempotency_key: str, body: dict[str, Any], ref_field: str) -> PlatformReply:
        response = self._request("POST", path, body, {"Idempotency-Key": idempotency_key})
        data = self._json(response)
        ref = data.get(ref_field)
        if not isinstance(ref, str) or not ref:
            raise PlatformUnavailable(f"HTTP {response.status_code} without {ref_field}")
        status = response.status_code
        return PlatformReply(platform_ref=ref, status=status, duplicate=status == 200)

    def submit_application(self, idempotency_key: str, body: dict[str, Any]) -> PlatformReply:
        """Deliver an application (or print request); the same key twice yields the same reference."""
        return self._submit("/v1/applications", idempotency_key, body, "platform_ref")

    def submit_rating(self, idempotency_key: str, body: dict[str, Any]) -> PlatformReply:
        """Deliver a 好差评 rating; the same key twice yields the same reference."""
        return self._submit("/v1/ratings", idempotency_key, body, "rating_ref")

    def submit_help_request(self, idempotency_key: str, body: dict[str, Any]) -> PlatformReply:
        """Deliver a 帮办代办 help request; the same key twice yields the same reference."""
        return self._submit("/v1/help-requests", idempotency_key, body, "help_ref")

    def submit_report(self, idempotency_key: str, body: dict[str, Any]) -> PlatformReply:
        """Deliver a 办不成事反映 report; the same key twice yields the same reference."""
        return self._submit("/v1/reports", idempotency_key, body, "report_ref")

    # -- batch delivery: several stored submissions in one signed request -------------------------------

    def batch_available(self) -> bool:
        """Whether to try ``POST /v1/submissions/batch`` (not while a platform without it is remembered)."""
        return time.monotonic() >= self._no_batch_until

    def submit_batch(self, items: list[tuple[str, str, dict[str, Any]]]) -> list[PlatformReply | PlatformError] | None:
        """Deliver ``(type, idempotency_key, body)`` submissions (type: ``application``, ``rating``,
        ``help_request``, ``report``) in one request; the platform handles them in order, each exactly as
        its own endpoint would (same idempotency key, same answer), and stops at the first it cannot take
        now. Returns one outcome per handled submission, in order: a :class:`PlatformReply`, a
        :class:`PlatformRejected` (that one is refused for good) or a :class:`PlatformUnavailable` (that one
        and every one after it: try again later); the unhandled rest is not in the list. None when the
        platform has no batch endpoint (404/405; remembered for an hour: deliver one by one). A failure
        of the whole request raises as every call does."""
        payload = {"submissions": [{"type": kind, "idempotency_key": key, "body": body} for kind, key, body in items]}
        try:
            response = self._request("POST", BATCH_PATH, payload)
        except PlatformRejected as exc:
            if exc.status in (404, 405):
                self._no_batch_until = time.monotonic() + NO_BATCH_RECHECK_S
                return None
            raise
        results = self._json(response).get("results")
        if not isinstance(results, list) or len(results) > len(items):
            raise PlatformUnavailable(f"HTTP {response.status_code} without results")
        outcomes: list[PlatformReply | PlatformError] = []
        for (kind, key, _body), result in zip(items, results):
            outcome = _batch_outcome(kind, key, result)
            outcomes.append(outcome)
            if isinstance(outcome, PlatformUnavailable):
                break
        return outcomes

    def query_item(self, item_code: str, applicant: dict[str, Any]) -> dict[str, Any]:
        """Answer of a query item (e.g. 医保账户余额查询) for the applicant."""
        return self._json(self._request("POST", f"/v1/items/{quote(item_code, safe='')}/query",
                                        {"applicant": applicant}))

    def verify_identity(self, body: dict[str, Any]) -> dict[str, Any]:
        """人证比对: ID data plus a live face JPEG (base64) → ``{verified, reason, check_ref}``."""
        return self._json(self._request("POST", "/v1/identity/verify", body))

    def redeem_signin(self, token: str) -> dict[str, Any]:
        """扫码登录: the resident a one-time sign-in token stands for (``{name, id_number, gender,
        card_type}``); :class:`PlatformRejected` 404 for an unknown token, 410 for a used or expired one.
        The token is a credential: it is sent in the body, never in a URL that could be logged."""
        return self._json(self._request("POST", "/v1/identity/signin", {"token": token}))

    def signin_key(self) -> str:
        """The platform's public key for sign-in codes (base64; Ed25519, or SM2 under the sm suite), as
        ``platform.signin_public_key`` takes it."""
        data = self._json(self._request("GET", "/v1/identity/signin-key"))
        key = data.get("public_key")
        if not isinstance(key, str) or not key:
            raise PlatformUnavailable("HTTP 200 without public_key")
        return key

    def appointment_slots(self, item_code: str, date: str | None = None) -> dict[str, Any]:
        """Free appointment slots of an item (from ``date``, ISO, when given)."""
        query = f"item_code={quote(item_code, safe='')}" + (f"&date={quote(date, safe='')}" if date else "")
        return self._json(self._request("GET", f"/v1/appointments/slots?{query}"))

    def book_appointment(self, idempotency_key: str, body: dict[str, Any]) -> dict[str, Any]:
        """Book a slot; a repeated key returns the same booking instead of a second one."""
        return self._json(self._request("POST", "/v1/appointments", body, {"Idempotency-Key": idempotency_key}))

    def progress(self, receipt_no: str) -> dict[str, Any]:
        """办件进度 of a submission by its receipt number (or the platform's reference)."""
        return self._json(self._request("GET", f"/v1/progress/{quote(receipt_no, safe='')}"))

    def fetch_document(self, item_code: str, applicant: dict[str, Any]) -> dict[str, Any]:
        """Fetch a printable proof (e.g. ``rs-sbjfzm`` 社保参保缴费证明) for the applicant."""
        response = self._request("POST", "/v1/documents", {"item_code": item_code, "applicant": applicant})
        return self._json(response)

    def exempt_benefits(self, applicant: dict[str, Any]) -> dict[str, Any]:
        """免申即办: benefits granted (or due) to the applicant without an application, ``{benefits: [...]}``."""
        data = self._json(self._request("POST", "/v1/benefits/exempt", {"applicant": applicant}))
        if not isinstance(data.get("benefits"), list):
            raise PlatformUnavailable("HTTP 200 without benefits")
        return data

    def e_licences(self, item_code: str, applicant: dict[str, Any], materials: list[str]) -> dict[str, Any]:
        """数据互认: the e-licences the library holds among ``materials`` (names), ``{licences: [...]}``."""
        data = self._json(self._request("POST", "/v1/e-licences", {"item_code": item_code, "applicant": applicant,
                                                                   "materials": materials}))
        if not isinstance(data.get("licences"), list):
            raise PlatformUnavailable("HTTP 200 without licences")
        return data

    # -- payments (统一公共支付平台): orders for a submission's fee ---------------------------------------

    def create_payment(self, idempotency_key: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create (or, with the same key, find again) a payment order: ``{item_code, payer, amount?,
        reference?}`` → the order (``order_no``, ``state``, ``amount`` as a decimal string, ``pay_url``,
        ``expires_at`` …)."""
        return self._order(self._request("POST", "/v1/payments", body, {"Idempotency-Key": idempotency_key}))

    def payment(self, order_no: str) -> dict[str, Any]:
        """A payment order's state as the payment platform holds it (the only word on "paid")."""
        return self._order(self._request("GET", f"/v1/payments/{quote(order_no, safe='')}"))

    def cancel_payment(self, order_no: str) -> dict[str, Any]:
        """Cancel an unpaid order; :class:`PlatformRejected` 409 ``already_paid`` when it was paid."""
        return self._order(self._request("POST", f"/v1/payments/{quote(order_no, safe='')}/cancel", {}))

    def _order(self, response: requests.Response) -> dict[str, Any]:
        data = self._json(response)
        if not isinstance(data.get("order_no"), str) or not isinstance(data.get("state"), str) \
                or not isinstance(data.get("amount"), str):
            raise PlatformUnavailable(f"HTTP {response.status_code} without an order")
        return data

    # -- catalog bundles (issue 22) ----------------------------------------------------------------------

    def catalog_rollout(self) -> dict[str, Any]:
        """Which catalog bundle this terminal should run: ``{version, sha256, size}`` (version None: none)."""
        return self._json(self._request("GET", "/v1/catalog/rollout"))

    def catalog_bundle(self, version: str) -> bytes:
        """The signed bundle file of ``version``, as published (checked by the caller)."""
        return self._request("GET", f"/v1/catalog/bundles/{quote(version, safe='')}").content

    def report_catalog(self, version: str, status: str, reason: str = "") -> None:
        """Tell the platform this terminal runs ``version`` (``active``) or refused it (``invalid``)."""
        self._json(self._request("POST", "/v1/catalog/reports",
                                 {"version": version, "status": status, "reason": reason[:500]}))

    def health(self) -> dict[str, Any]:
        """The platform's own health report; raises like every other call when it is not reachable."""
        return self._json(self._request("GET", "/health"))
