"""The kiosk UI's client of the local gateway.

The kiosk door wants the secret the gateway writes at each start (``settings.door_secret_path``,
0600): the client reads it on first use, sends it in ``X-Kiosk-Door`` and, when the gateway
answers that the secret is wrong (it was restarted and wrote a new one), reads the file once more
and repeats the call (the door refuses before doing anything, so repeating is harmless).

Errors come out as :class:`GatewayUnavailable` (the gateway is not answering: the screen
says so in plain words, the technician text says what to check) and :class:`GatewayRefused`
(the gateway answered with an error: ``status``, ``error``, ``field`` and ``message``).
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from urllib3.exceptions import NewConnectionError

if TYPE_CHECKING:  # only for the annotation: the client is imported before settings are needed
    from kiosk.settings import Settings

# The kiosk only ever rates in GB/T 39046 direction: 1 = 非常满意 … 5 = 非常不满意.
RATING_DIRECTION = "gbt39046"
DOOR_HEADER = "X-Kiosk-Door"
"""The kiosk door's secret travels in this header (``local_api.web.door``)."""
DOOR_REFUSED = "kiosk_door_secret"
WILDCARD_HOSTS = ("0.0.0.0", "::")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _nothing_sent(exc: requests.ConnectionError) -> bool:
    """Whether the connection failed before the request went out (refused, or no connection in time)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


class GatewayError(Exception):
    """Base of the gateway client's errors; ``status`` is the HTTP status when there was one (else 0)."""

    status: int = 0


class GatewayUnavailable(GatewayError):
    """The local gateway did not answer; ``message`` is for the screen, ``technician`` for the log."""

    def __init__(self, technician: str) -> None:
        self.message = "本机服务网关未响应，请稍后再试或联系工作人员"
        self.technician = technician
        super().__init__(f"{self.message} ({technician})")


class GatewayRefused(GatewayError):
    """The gateway answered with an error status."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        self.error = str(body.get("error", "error"))
        self.field = body.get("field")
        self.message = str(body.get("message") or body.get("reason") or self.error)
        self.reason = body.get("reason")
        super().__init__(f"HTTP {status} {self.error}: {self.message}")


def _error_code(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("error")) if isinstance(body, dict) else None


class GatewayClient:
    """Calls to the local gateway; one instance per UI process (not shared across threads)."""

    def __init__(self, base_url: str, timeout_s: float = 5, *, door_secret_file: Path | None = None,
                 fast_door_file: Path | None = None) -> None:
        """``door_secret_file``: where the gateway writes the kiosk door's secret (``settings.door_secret_path``;
        :meth:`for_settings` passes it); None: no secret is sent, and only ``/health`` answers.
        ``fast_door_file``: where the gateway writes its submission door's port (``settings.fast_door_port_path``);
        submissions go there while it is there, else to the Flask door's route."""
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.door_secret_file = door_secret_file
        self.fast_door_file = fast_door_file if urlsplit(self.base_url).hostname in LOOPBACK_HOSTS else None
        self._secret: str | None = None
        self._fast_url: str | None = None
        self._session = requests.Session()

    @classmethod
    def for_settings(cls, settings: Settings, base_url: str | None = None, timeout_s: float = 5) -> GatewayClient:
        """A client of the gateway these settings describe (its URL unless ``base_url``), with its door secret.

        A gateway listening on every address (``0.0.0.0``, ``::``) is called on loopback: the kiosk door
        answers nothing else, and only to its loopback name. So is one with TLS for operators
        (``gateway.tls_cert``): its plain door listens on 127.0.0.1 only."""
        gw = settings.gateway
        host = "127.0.0.1" if gw.tls else gw.host
        url = base_url or f"http://{'[' + host + ']' if ':' in host else host}:{gw.port}"
        parts = urlsplit(url)
        if parts.hostname in WILDCARD_HOSTS:
            url = urlunsplit(parts._replace(netloc=f"{'[::1]' if ':' in parts.hostname else '127.0.0.1'}:{parts.port}"))
        return cls(url, timeout_s, door_secret_file=settings.door_secret_path,
                   fast_door_file=settings.fast_door_port_path)

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def _door_headers(self, *, reread: bool = False) -> dict[str, str]:
        if self.door_secret_file is None:
            return {}
        if self._secret is None or reread:
            try:
                self._secret = self.door_secret_file.read_text(encoding="ascii").strip()
            except (OSError, UnicodeDecodeError):
                self._secret = ""
        return {DOOR_HEADER: self._secret} if self._secret else {}

    def fast_door_url(self, *, reread: bool = False) -> str | None:
        """The gateway's event-loop submission door (``http://127.0.0.1:<port>``, read from its port file), or
        None when the gateway runs without it (no file)."""
        if self.fast_door_file is None:
            return None
        if self._fast_url is None or reread:
            try:
                port = int(self.fast_door_file.read_text(encoding="ascii").strip())
            except (OSError, UnicodeDecodeError, ValueError):
                self._fast_url = None
            else:
                self._fast_url = f"http://127.0.0.1:{port}" if 0 < port < 65536 else None
        return self._fast_url

    def send(self, method: str, path: str, *, timeout_s: float | None = None, base_url: str | None = None,
             **kw: Any) -> requests.Response:
        """One raw request (``requests`` keywords: ``json``, ``data``, ``headers``) with the door secret;
        once more with the file read again if the gateway refused the secret (it was restarted).
        For tools and tests that need the HTTP answer itself; raises ``requests`` errors as they come.
        ``base_url``: another door of the gateway (the submission door, :meth:`fast_door_url`)."""
        extra = kw.pop("headers", {})
        timeout = self.timeout_s if timeout_s is None else timeout_s
        base = base_url or self.base_url
        response = self._session.request(method, base + path, headers={**extra, **self._door_headers()},
                                         timeout=timeout, **kw)
        if response.status_code in (401, 403) and _error_code(response) == DOOR_REFUSED:
            response = self._session.request(method, base + path,
                                             headers={**extra, **self._door_headers(reread=True)},
                                             timeout=timeout, **kw)
            if response.status_code in (401, 403) and _error_code(response) == DOOR_REFUSED:
                raise GatewayUnavailable(
                    f"{base} refused this app's kiosk door secret (read from {self.door_secret_file}); "
                    "do the app and the gateway use the same gateway.data_dir, and run as the same user?")
        return response

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self.send(method, path, json=body)
        except requests.Timeout as exc:
            raise GatewayUnavailable(f"no answer from {self.base_url} within {self.timeout_s:g} s; "
                                     "is the gateway process hung? (systemctl status kiosk-gateway)") from exc
        except requests.RequestException as exc:
            raise GatewayUnavailable(f"cannot reach {self.base_url} ({type(exc).__name__}); is the gateway "
                                     "running? (systemctl status kiosk-gateway)") from exc
        return self._answer(response, path)

    def _submit(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /api/v1/submissions`` through the submission door while the gateway has one, else the Flask
        door's route. Falls back when the door cannot be reached: at once when nothing was sent (refused
        connection), and after a lost answer only for a submission with a ``request_id`` (resending it
        returns the same receipt)."""
        path = "/api/v1/submissions"
        fast = self.fast_door_url() or self.fast_door_url(reread=True)
        if fast is not None:
            try:
                return self._answer(self.send("POST", path, json=body, base_url=fast), path)
            except requests.ConnectionError as exc:
                self._fast_url = None  # read the file again next time (a restarted gateway has a new port)
                if not (_nothing_sent(exc) or "request_id" in body):
                    raise GatewayUnavailable(f"the gateway's submission door {fast} dropped the connection "
                                             f"({type(exc).__name__}); is the gateway running?") from exc
            except requests.Timeout as exc:
                raise GatewayUnavailable(f"no answer from {fast} within {self.timeout_s:g} s; "
                                         "is the gateway process hung? (systemctl status kiosk-gateway)") from exc
        return self._call("POST", path, body)

    def _answer(self, response: requests.Response, path: str) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise GatewayUnavailable(f"{self.base_url}{path} answered HTTP {response.status_code} without "
                                     "a JSON object; is something else listening on that port?")
        if response.status_code >= 400:
            raise GatewayRefused(response.status_code, data)
        return data

    def post_screen(self, png: bytes) -> dict[str, Any]:
        """Hand the gateway the current frame (PNG) for the operators' console; only masked data is
        ever on screen, and the gateway keeps only the latest frame, in memory."""
        try:
            response = self.send("POST", "/api/v1/screen", data=png, headers={"Content-Type": "image/png"})
        except requests.RequestException as exc:
            raise GatewayUnavailable(f"cannot reach {self.base_url} ({type(exc).__name__})") from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            raise GatewayRefused(response.status_code, body if isinstance(body, dict) else {})
        return dict(response.json())

    def health(self) -> dict[str, Any]:
        """The gateway's status report (outbox counts, platform reachability)."""
        return self._call("GET", "/health")

    def submit(self, kind: str, item_code: str, applicant: dict[str, Any], form: dict[str, Any],
               materials: list[tuple[str, str, bytes]] | None = None,
               request_id: str | None = None, bundle: dict[str, str] | None = None,
               assisted: dict[str, Any] | None = None) -> dict[str, Any]:
        """Queue an application or print request; ``{receipt_no, state: "queued", accepted_at}``.

        ``materials``: ``(name, content_type, bytes)`` of document-camera images, stored encrypted.
        ``request_id`` (8-64 of ``A-Za-z0-9_.-``, one per submission): resending after a lost answer
        returns the same receipt number instead of storing the submission twice.
        ``assisted`` (assisted mode): ``{agent_staff_no, staff_token_id, consent: {kind, at}, power_of_attorney}``.
        """
        body: dict[str, Any] = {"kind": kind, "item_code": item_code, "applicant": applicant, "form": form}
        if assisted:
            body["assisted"] = assisted
        if request_id is not None:
            body["request_id"] = request_id
        if bundle is not None:  # 一件事: {id (UUID), code}, the same on every item of one bundle journey
            body["bundle"] = bundle
        if materials:
            body["materials"] = [{"name": n, "content_type": t, "data": base64.b64encode(d).decode("ascii")}
                                 for n, t, d in materials]
        return self._submit(body)

    def create_payment(self, item_code: str, applicant: dict[str, Any], form: dict[str, Any], *,
                       request_id: str, amount: str | None,
                       materials: list[tuple[str, str, bytes]] | None = None,
                       assisted: dict[str, Any] | None = None) -> dict[str, Any]:
        """A fee item's application with its payment order: the gateway holds the application until the
        payment platform says paid. ``amount``: the catalog's fee as ``"120.00"``, None when the platform
        sets it. → ``{order_no, state, amount, pay_url, channels, expires_at, expires_in_s}``."""
        body: dict[str, Any] = {"kind": "application", "item_code": item_code, "applicant": applicant,
                                "form": form, "request_id": request_id, "amount": amount}
        if assisted:
            body["assisted"] = assisted
        if materials:
            body["materials"] = [{"name": n, "content_type": t, "data": base64.b64encode(d).decode("ascii")}
                                 for n, t, d in materials]
        return self._call("POST", "/api/v1/payments", body)

    def payment(self, order_no: str) -> dict[str, Any]:
        """An order's state as the payment platform says it (``stale`` when it could not be asked); once
        ``paid``: ``receipt_no`` of the queued application and the ``bill`` (财政电子票据)."""
        return self._call("GET", f"/api/v1/payments/{quote(order_no, safe='')}")

    def cancel_payment(self, order_no: str, reason: str) -> dict[str, Any]:
        """``reason``: ``stopped`` (cancel the order) or ``left`` (the resident walked away)."""
        return self._call("POST", f"/api/v1/payments/{quote(order_no, safe='')}/cancel", {"reason": reason})

    def submission(self, receipt_no: str) -> dict[str, Any]:
        """A submission's state, platform reference and timestamps."""
        return self._call("GET", f"/api/v1/submissions/{quote(receipt_no, safe='')}")

    def fetch_document(self, item_code: str, applicant: dict[str, Any]) -> dict[str, Any]:
        """A printable proof from the platform; :class:`GatewayRefused` 503 when it is unreachable."""
        return self._call("POST", "/api/v1/documents", {"item_code": item_code, "applicant": applicant})

    def query(self, item_code: str, applicant: dict[str, Any]) -> dict[str, Any]:
        """A query item's answer from the platform; :class:`GatewayRefused` 503 when it is unreachable."""
        return self._call("POST", "/api/v1/queries", {"item_code": item_code, "applicant": applicant})

    def exempt_benefits(self, applicant: dict[str, Any]) -> dict[str, Any]:
        """免申即办: what the platform granted (or will grant) the applicant without an application,
        ``{benefits: [{item_code, title, status, granted_on|due_on, amount, period, decision_no}]}``."""
        return self._call("POST", "/api/v1/benefits/exempt", {"applicant": applicant})

    def e_licences(self, item_code: str, applicant: dict[str, Any], materials: list[str]) -> dict[str, Any]:
        """数据互认: which of ``materials`` (简体 names) the e-licence library holds for the applicant,
        ``{licences: [{material, licence_ref, issuer, issued_on}]}`` (references, never the documents)."""
        return self._call("POST", "/api/v1/e-licences", {"item_code": item_code, "applicant": applicant,
                                                         "materials": materials})

    def verify_identity(self, applicant: dict[str, Any], face_jpeg: bytes,
                        item_code: str | None = None) -> dict[str, Any]:
        """人证比对 through the platform: ``{verified, reason, message, check_ref}``."""
        return self._call("POST", "/api/v1/identity/verify", {
            "applicant": applicant, "face_jpeg": base64.b64encode(face_jpeg).decode("ascii"), "item_code": item_code})

    def redeem_signin(self, token: str) -> dict[str, Any]:
        """扫码登录: the resident a scanned sign-in code's ``token`` stands for, ``{name, id_number, gender,
        card_type}``; :class:`GatewayRefused` 404 (unknown token), 410 (used or expired: ``body
        ["platform_error"]`` says which) or 503 (the platform cannot be reached)."""
        return self._call("POST", "/api/v1/identity/signin", {"token": token})

    def staff_signin(self, token: str) -> dict[str, Any]:
        """Assisted mode: a scanned staff pass's helper ``token`` → ``{staff_no, token_id}``;
        :class:`GatewayRefused` 401 when it is not a current helper token."""
        return self._call("POST", "/api/v1/staff/signin", {"token": token})

    def staff_signout(self, staff_no: str, token_id: str, reason: str) -> dict[str, Any]:
        """Assisted mode: the staff session ended (``ended`` or ``timeout``); the gateway audits it."""
        return self._call("POST", "/api/v1/staff/signout", {"staff_no": staff_no, "token_id": token_id,
                                                            "reason": reason})

    def appointment_slots(self, item_code: str, date: str | None = None) -> dict[str, Any]:
        """Free slots of an appointment item (``{item_code, place, slots: [...]}``)."""
        query = f"item_code={quote(item_code, safe='')}" + (f"&date={quote(date, safe='')}" if date else "")
        return self._call("GET", f"/api/v1/appointments/slots?{query}")

    def book_appointment(self, item_code: str, slot_id: str, applicant: dict[str, Any], *,
                         phone: str | None = None, request_id: str | None = None) -> dict[str, Any]:
        """Book a slot; the same ``request_id`` twice is the same booking."""
        return self._call("POST", "/api/v1/appointments", {"item_code": item_code, "slot_id": slot_id,
                                                           "applicant": applicant, "phone": phone,
                                                           "request_id": request_id})

    def progress(self, receipt_no: str) -> dict[str, Any]:
        """办件进度 by receipt number (``source`` says whether the gateway or the platform answered)."""
        return self._call("GET", f"/api/v1/progress/{quote(receipt_no, safe='')}")

    def help_request(self, need: str, group: str, *, item_code: str | None = None,
                     applicant: dict[str, Any] | None = None, phone: str | None = None,
                     text: str = "", window: str | None = None) -> dict[str, Any]:
        """Queue a 帮办代办 request; ``{receipt_no, state: "queued"}``."""
        body = {"need": need, "group": group, "item_code": item_code, "applicant": applicant, "phone": phone,
                "text": text}
        if window:
            body["window"] = window  # a call-back's time window (issue 21)
        return self._call("POST", "/api/v1/help-requests", body)

    def report(self, category: str, text: str, *, item_code: str | None = None,
               applicant: dict[str, Any] | None = None, phone: str | None = None) -> dict[str, Any]:
        """Queue a 办不成事反映 report; ``{receipt_no, state: "queued"}``."""
        return self._call("POST", "/api/v1/reports", {"category": category, "text": text, "item_code": item_code,
                                                      "applicant": applicant, "phone": phone})

    def heartbeat(self, screen: str, devices: dict[str, dict[str, Any]],
                  results: list[dict[str, Any]] | None = None,
                  sessions: dict[str, Any] | None = None) -> dict[str, Any]:
        """Report the screen and ``{name: DeviceStatus.to_dict()}`` (and, optionally, the app's cumulative
        anonymous session counts ``{run, counts}``); answers ``{commands, platform, service, …}``."""
        body: dict[str, Any] = {"screen": screen, "devices": devices, "results": results or []}
        if sessions is not None:
            body["sessions"] = sessions
        return self._call("POST", "/api/v1/heartbeat", body)

    def audit(self, action: str, outcome: str = "ok", target: str | None = None,
              detail: str = "") -> dict[str, Any]:
        """Append a maintenance-mode record to the gateway's audit (never secrets or personal data)."""
        return self._call("POST", "/api/v1/audit", {"action": action, "outcome": outcome, "target": target,
                                                    "detail": detail})

    def set_service(self, in_service: bool, message: str = "") -> dict[str, Any]:
        """Switch the kiosk out of service (with the residents' ``message``) or back; answers the
        switch's view ``{in_service, message, since, by}``."""
        return self._call("POST", "/api/v1/kiosk/service", {"in_service": in_service, "message": message})

    def rate(self, receipt_no: str, level: int, text: str = "") -> dict[str, Any]:
        """Queue a 好差评 rating (GB/T 39046 levels: 1 = 非常满意 … 5 = 非常不满意)."""
        return self._call("POST", "/api/v1/ratings", {"receipt_no": receipt_no, "level": level,
                                                      "direction": RATING_DIRECTION, "text": text})

    def wait_delivered(self, receipt_no: str, timeout_s: float, poll_s: float = 0.05) -> dict[str, Any]:
        """Poll until the submission is delivered, rejected or expired; ``TimeoutError`` if not in time."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.submission(receipt_no)
            if state["state"] in ("delivered", "rejected", "expired"):
                return state
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{receipt_no} still {state['state']} after {timeout_s:g} s")
            time.sleep(poll_s)
