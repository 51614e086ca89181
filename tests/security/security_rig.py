"""Helpers for the security suite (issue 17): the gateway rig of tests/local_api (waitress on
127.0.0.1, a platform simulator), its first technician token, console log-ins and requests from
another loopback address."""

from __future__ import annotations

import http.client
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "local_api"))

import requests
from gateway_rig import Rig, wait_for

__all__ = ["Rig", "log_in", "raw_request", "read_first_token", "token_id", "wait_for"]


def read_first_token(rig: Rig) -> str:
    """The first technician token, as the technician on site reads it from ``first-token.txt``."""
    return (rig.data_dir / "first-token.txt").read_text().strip()


def token_id(token: str) -> str:
    """The id part of ``kgw_<id>.<secret>``."""
    return token.removeprefix("kgw_").split(".", 1)[0]


def log_in(rig: Rig, token: str) -> tuple[requests.Session, str]:
    """A console session as the pages open one: ``(a requests session holding the cookie, CSRF token)``."""
    session = requests.Session()
    answer = session.post(rig.url + "/console/session", json={"token": token}, timeout=10,
                          headers={"Origin": rig.url})
    assert answer.status_code == 200, answer.text
    return session, answer.json()["csrf_token"]


def raw_request(rig: Rig, method: str, path: str, *, source: str = "127.0.0.1", token: str | None = None,
                body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """One request from the loopback address ``source`` (e.g. 127.0.0.2): ``(status, headers, JSON)``."""
    connection = http.client.HTTPConnection("127.0.0.1", int(rig.url.rsplit(":", 1)[1]), timeout=10,
                                            source_address=(source, 0))
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=data, headers=sent)
        answer = connection.getresponse()
        raw = answer.read()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, json.loads(raw) if raw else None
    finally:
        connection.close()
