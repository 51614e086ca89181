"""The kiosk UI's client of the local gateway.

Errors come out as :class:`GatewayUnavailable` (the gateway is not answering: the screen
says so in plain words, the technician text says what to check) and :class:`GatewayRefused`
(the gateway answered with an error: ``status``, ``error``, ``field`` and ``message``).
"""

from __future__ import annotations

import time
from typing import Any

import requests
from urllib.parse import quote

# The kiosk only ever rates in GB/T 39046 direction: 1 = 非常满意 … 5 = 非常不满意.
RATING_DIRECTION = "gbt39046"


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


class GatewayClient:
    """Calls to the local gateway; one instance per UI process (not shared across threads)."""

    def __init__(self, base_url: str, timeout_s: float = 5) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._session = requests.Session()

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self._session.request(method, self.base_url + path, json=body, timeout=self.timeout_s)
        except requests.Timeout as exc:
            raise GatewayUnavailable(f"no answer from {self.base_url} within {self.timeout_s:g} s; "
                                     "is the gateway process hung? (systemctl status kiosk-gateway)") from exc
        except requests.RequestException as exc:
            raise GatewayUnavailable(f"cannot reach {self.base_url} ({type(exc).__name__}); is the gateway "
                                     "running? (systemctl status kiosk-gateway)") from exc
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

    def health(self) -> dict[str, Any]:
        """The gateway's status report (outbox counts, platform reachability)."""
        return self._call("GET", "/health")

    def submit(self, kind: str, item_code: str, applicant: dict[str, Any],
               form: dict[str, Any]) -> dict[str, Any]:
        """Queue an application or print request; ``{receipt_no, state: "queued", accepted_at}``."""
        return self._call("POST", "/api/v1/submissions",
                          {"kind": kind, "item_code": item_code, "applicant": applicant, "form": form})

    def submission(self, receipt_no: str) -> dict[str, Any]:
        """A submission's state, platform reference and timestamps."""
        return self._call("GET", f"/api/v1/submissions/{quote(receipt_no, safe='')}")

    def fetch_document(self, item_code: str, applicant: dict[str, Any]) -> dict[str, Any]:
        """A printable proof from the platform; :class:`GatewayRefused` 503 when it is unreachable."""
        return self._call("POST", "/api/v1/documents", {"item_code": item_code, "applicant": applicant})

    def rate(self, receipt_no: str, level: int, text: str = "") -> dict[str, Any]:
        """Queue a 好差评 rating (GB/T 39046 levels: 1 = 非常满意 … 5 = 非常不满意)."""
        return self._call("POST", "/api/v1/ratings", {"receipt_no": receipt_no, "level": level,
                                                      "direction": RATING_DIRECTION, "text": text})

    def wait_delivered(self, receipt_no: str, timeout_s: float, poll_s: float = 0.05) -> dict[str, Any]:
        """Poll until the submission is delivered or rejected; ``TimeoutError`` if neither in time."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.submission(receipt_no)
            if state["state"] in ("delivered", "rejected"):
                return state
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{receipt_no} still {state['state']} after {timeout_s:g} s")
            time.sleep(poll_s)
