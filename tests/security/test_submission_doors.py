"""Issue 25 (P6): ``POST /api/v1/submissions`` is served by two doors — the Flask kiosk door and the
event-loop submission door (``local_api/web/fast_door.py``, its own loopback port). Every check of
the route is proven on both, over real HTTP: the same refusals, the same JSON errors and status codes,
the same store. Each test runs once per door (``door`` parameter)."""

from __future__ import annotations

import http.client
import json
import socket
import stat
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "local_api"))

from gateway_rig import DOOR_SECRET_FILE, Rig, door_headers, identities

from local_api.client import GatewayClient

PERSON = identities(1)[0]
SUBMISSION = {"kind": "application", "item_code": "rs-sydj", "applicant": PERSON, "form": {"reason": "合同到期"}}
ROUTE = "/api/v1/submissions"
DOORS = ("flask", "event-loop")


class Door:
    """One of the two doors of a running rig: ``url`` is where ``POST /api/v1/submissions`` goes."""

    def __init__(self, rig: Rig, which: str) -> None:
        self.rig = rig
        self.which = which
        fast = rig.gateway.fast_door
        assert fast is not None, "gateway.fast_door is on by default"
        self.url = rig.url if which == "flask" else fast.url
        self.port = int(self.url.rsplit(":", 1)[1])

    def post(self, *, secret: bool = True, **kw: Any) -> requests.Response:
        headers = {**(door_headers(self.rig.data_dir) if secret else {}), **kw.pop("headers", {})}
        return requests.post(self.url + ROUTE, headers=headers, timeout=10, **kw)

    def stored(self) -> int:
        return sum(self.rig.services.outbox.counts().values())


@pytest.fixture(params=DOORS)
def door(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Door]:
    rig = Rig(tmp_path / "data")
    try:
        yield Door(rig, request.param)
    finally:
        rig.close()


def refused(answer: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status and answer.json()["error"] == code, (answer.status_code, answer.text)
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.headers["Cache-Control"] == "no-store" and answer.headers["X-Content-Type-Options"] == "nosniff"
    return dict(answer.json())


def test_the_gateway_tells_the_app_where_its_submission_door_is(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "data")
    port_file = rig.settings.fast_door_port_path
    try:
        assert rig.gateway.fast_door is not None
        assert stat.S_IMODE(port_file.stat().st_mode) == 0o600
        assert int(port_file.read_text()) == rig.gateway.fast_door.port != rig.http.port
        assert rig.client.fast_door_url() == rig.gateway.fast_door.url
        # Only the submission route moved: the rest of the kiosk door is not on that port.
        other = requests.post(rig.gateway.fast_door.url + "/api/v1/reports", json={"category": "other", "text": "x"},
                              headers=door_headers(rig.data_dir), timeout=10)
        assert other.status_code == 404 and other.json()["error"] == "not_found"
        get = requests.get(rig.gateway.fast_door.url + ROUTE, headers=door_headers(rig.data_dir), timeout=10)
        assert get.status_code == 405 and get.headers["Allow"] == "POST"
    finally:
        rig.close()
    assert not port_file.exists()  # stopped: the app goes back to the Flask route


def test_without_the_event_loop_door_the_app_submits_through_flask(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "data", KIOSK_GATEWAY__FAST_DOOR="false")
    try:
        assert rig.gateway.fast_door is None and not rig.settings.fast_door_port_path.exists()
        assert rig.client.fast_door_url() is None
        answer = rig.client.submit("application", "rs-sydj", PERSON, {"reason": "x"})
        assert answer["state"] == "queued"
        assert rig.services.outbox.get(answer["receipt_no"]).item_code == "rs-sydj"
    finally:
        rig.close()


def test_a_stale_port_file_falls_back_to_the_flask_route(tmp_path: Path) -> None:
    """A gateway killed without removing its port file: nothing listens there; the submission still goes in."""
    rig = Rig(tmp_path / "data")
    try:
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            free_port = unused.getsockname()[1]
        rig.settings.fast_door_port_path.write_text(f"{free_port}\n")
        client = GatewayClient.for_settings(rig.settings, rig.url, timeout_s=10)
        try:
            answer = client.submit("application", "rs-sydj", PERSON, {"reason": "x"})
        finally:
            client.close()
        assert rig.services.outbox.get(answer["receipt_no"]).state in ("queued", "sending", "delivered")
    finally:
        rig.close()


@pytest.mark.parametrize("kw", [
    {"data": json.dumps(SUBMISSION), "headers": {"Content-Type": "text/plain"}},
    {"data": json.dumps(SUBMISSION).encode()},  # no Content-Type at all
    {"data": {"kind": "application"}},  # form-encoded
    {"data": json.dumps(SUBMISSION), "headers": {"Content-Type": "text/plain;charset=UTF-8"}},
], ids=["text", "none", "form", "text-charset"])
def test_bodies_that_are_not_json_are_refused_with_415(door: Door, kw: dict[str, Any]) -> None:
    body = refused(door.post(**kw), 415, "unsupported_media_type")
    assert "application/json" in body["message"] and body["field"] == "body"
    assert door.stored() == 0
    assert door.post(json=SUBMISSION).status_code == 202  # JSON still goes in


def test_a_foreign_origin_or_site_is_refused(door: Door) -> None:
    for origin in ("http://evil.example", "null", "http://127.0.0.1:1", f"https://127.0.0.1:{door.port}"):
        refused(door.post(json=SUBMISSION, headers={"Origin": origin}), 403, "origin_refused")
    refused(door.post(json=SUBMISSION, headers={"Sec-Fetch-Site": "cross-site"}), 403, "origin_refused")
    assert door.stored() == 0
    assert door.post(json=SUBMISSION, headers={"Origin": door.url}).status_code == 202


def test_a_foreign_host_is_refused(door: Door) -> None:
    for host in ("evil.example", f"evil.example:{door.port}", f"127.0.0.1:{door.port + 1}", f"10.0.0.5:{door.port}"):
        refused(door.post(json=SUBMISSION, headers={"Host": host}), 421, "wrong_host")
    assert door.stored() == 0
    for host in (f"127.0.0.1:{door.port}", f"localhost:{door.port}", f"[::1]:{door.port}"):
        assert door.post(json=SUBMISSION, headers={"Host": host}).status_code == 202


def test_no_secret_no_door(door: Door) -> None:
    secret = (door.rig.data_dir / DOOR_SECRET_FILE).read_text().strip()
    for headers in ({}, {"X-Kiosk-Door": ""}, {"X-Kiosk-Door": "0" * len(secret)}, {"X-Kiosk-Door": secret[:-1]}):
        answer = door.post(secret=False, json=SUBMISSION, headers=headers)
        refused(answer, 401, "kiosk_door_secret")
        assert secret not in answer.text
    assert door.stored() == 0


def test_forwarding_headers_are_refused(door: Door) -> None:
    for headers in ({"Forwarded": "for=198.51.100.7"}, {"X-Forwarded-For": "127.0.0.1"}, {"X-Real-IP": "127.0.0.1"},
                    {"X-Forwarded-Proto": "https"}):
        refused(door.post(json=SUBMISSION, headers=headers), 403, "via_proxy")
    assert door.stored() == 0


def test_a_peer_that_is_not_the_loopback_address_is_refused(door: Door) -> None:
    """127.0.0.2 is on the loopback network but not the address the gateway trusts as this machine."""
    connection = http.client.HTTPConnection("127.0.0.1", door.port, timeout=10, source_address=("127.0.0.2", 0))
    try:
        connection.request("POST", ROUTE, body=json.dumps(SUBMISSION).encode(), headers={
            "Content-Type": "application/json", **door_headers(door.rig.data_dir)})
        answer = connection.getresponse()
        assert answer.status == 403 and json.loads(answer.read())["error"] == "forbidden"
    finally:
        connection.close()
    assert door.stored() == 0


@pytest.mark.parametrize(("text", "field", "words"), [
    ('{"kind": "application", "item_code": "rs-sydj", "form": {"n": NaN}}', "body", "NaN"),
    ("[" * 1000 + "]" * 1000, "body", "nested deeper than 32 levels"),
    ("[1, 2]", "body", "JSON object"),
    ('{"kind": "application", "item_code": "rs-sydj"', "body", ""),
    (json.dumps({**SUBMISSION, "applicant": {**PERSON, "name": "张\u202e三"}}), "applicant.name", "right-to-left"),
    (json.dumps({**SUBMISSION, "extra": 1}), "extra", "unknown field"),
    (json.dumps({**SUBMISSION, "item_code": "no-such-item"}), "item_code", "unknown item code"),
    (json.dumps({k: v for k, v in SUBMISSION.items() if k != "applicant"}), "applicant", "required"),
], ids=["nan", "deep", "array", "truncated", "bidi", "extra", "unknown-item", "missing"])
def test_bad_bodies_are_400s_naming_the_field(door: Door, text: str, field: str, words: str) -> None:
    body = refused(door.post(data=text.encode(), headers={"Content-Type": "application/json"}), 400,
                   "invalid_request")
    assert body["field"].startswith(field) and words in body["message"], body
    assert door.stored() == 0


def test_bodies_over_the_limits_are_413s(door: Door) -> None:
    limit_mb = door.rig.settings.gateway.max_materials_mb
    big = "A" * int(limit_mb * 1024 * 1024 * 4 / 3 + 3 * 1024 * 1024)  # over the app's body limit
    body = refused(door.post(json={**SUBMISSION, "materials": [{"name": "p", "content_type": "image/jpeg",
                                                                "data": big}]}), 413, "request_entity_too_large")
    assert body["field"] == "body"
    pages = [{"name": f"p{i}", "content_type": "image/jpeg", "data": "/9j/" + "A" * 1_800_000} for i in range(5)]
    body = refused(door.post(json={**SUBMISSION, "materials": pages}), 413, "payload_too_large")
    assert body["field"] == "materials"
    assert door.stored() == 0


def test_a_resend_returns_the_same_receipt_and_a_changed_body_is_refused(door: Door) -> None:
    first = door.post(json={**SUBMISSION, "request_id": "resend-0001"})
    again = door.post(json={**SUBMISSION, "request_id": "resend-0001"})
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["receipt_no"] == first.json()["receipt_no"] and again.json()["duplicate"] is True
    body = refused(door.post(json={**SUBMISSION, "form": {"reason": "别的"}, "request_id": "resend-0001"}), 409,
                   "request_conflict")
    assert body["field"] == "request_id"
    assert door.stored() == 1


def test_an_assisted_submission_without_a_current_staff_token_is_refused(door: Door) -> None:
    assisted = {"agent_staff_no": "0427", "staff_token_id": "deadbeef",
                "consent": {"kind": "on_screen", "at": "2026-11-21T10:30:00+08:00"}, "power_of_attorney": None}
    body = refused(door.post(json={**SUBMISSION, "assisted": assisted}), 403, "staff_not_current")
    assert body["field"] == "assisted.staff_token_id" and door.stored() == 0


def test_a_full_disk_refuses_with_507(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "data", KIOSK_GATEWAY__MIN_FREE_MB="1000000000")  # more than any disk has
    try:
        for which in DOORS:
            refused(Door(rig, which).post(json=SUBMISSION), 507, "disk_full")
        assert sum(rig.services.outbox.counts().values()) == 0
    finally:
        rig.close()


def test_accepts_and_refusals_are_counted_in_metrics(door: Door) -> None:
    def metric(name: str) -> float:
        rendered = door.rig.services.metrics.render()
        text = rendered.decode() if isinstance(rendered, bytes) else rendered
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))

    accepted = metric('kiosk_gateway_submissions_accepted_total{kind="application"}')
    timed = metric("kiosk_gateway_accept_seconds_count")
    counted = metric('kiosk_gateway_http_requests_total{method="POST",route="/api/v1/submissions",status="202"}')
    fast = metric('kiosk_gateway_fast_door_requests_total{status="202"}')
    assert door.post(json=SUBMISSION).status_code == 202
    assert metric('kiosk_gateway_fast_door_requests_total{status="202"}') == fast + (door.which == "event-loop")
    assert metric('kiosk_gateway_submissions_accepted_total{kind="application"}') == accepted + 1
    assert metric("kiosk_gateway_accept_seconds_count") == timed + 1
    assert metric('kiosk_gateway_http_requests_total{method="POST",route="/api/v1/submissions",status="202"}') \
        == counted + 1


def test_both_doors_answer_alike(tmp_path: Path) -> None:
    """The same requests through both doors: the same status and JSON, except the port each names."""
    rig = Rig(tmp_path / "data")
    try:
        flask, fast = Door(rig, "flask"), Door(rig, "event-loop")
        cases: list[dict[str, Any]] = [
            {"json": {**SUBMISSION, "item_code": "nope"}}, {"data": "x", "headers": {"Content-Type": "text/plain"}},
            {"json": SUBMISSION, "headers": {"Origin": "http://evil"}}, {"json": SUBMISSION, "secret": False},
            {"json": SUBMISSION, "headers": {"X-Forwarded-For": "1.2.3.4"}},
            {"json": SUBMISSION, "headers": {"Host": "evil.example"}},
            {"data": b'{"a": Infinity}', "headers": {"Content-Type": "application/json"}},
            {"json": {**SUBMISSION, "kind": "other"}}, {"json": {**SUBMISSION, "applicant": {}}},
            {"json": SUBMISSION},
        ]
        for case in cases:
            a, b = flask.post(**dict(case)), fast.post(**dict(case))
            left = json.loads(a.text.replace(str(flask.port), "PORT"))
            right = json.loads(b.text.replace(str(fast.port), "PORT"))
            for answer in (left, right):
                for moment in ("receipt_no", "accepted_at"):
                    answer.pop(moment, None)
            assert (a.status_code, left) == (b.status_code, right), case
        assert sum(rig.services.outbox.counts().values()) == 2
    finally:
        rig.close()


def test_submissions_arriving_together_each_get_their_own_answer(door: Door) -> None:
    """Sent at once (on the event-loop door, one loop tick's requests share a transaction): every one is
    stored once under its own receipt, and one request sent twice at once is stored once."""
    bodies = [{**SUBMISSION, "request_id": f"together-{i:04d}"} for i in range(12)]
    bodies += [{**SUBMISSION, "request_id": "together-twice"}] * 2
    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(lambda body: door.post(json=body), bodies))
    assert sorted(a.status_code for a in answers) == [200] + [202] * 13, [a.text for a in answers]
    receipts = [a.json()["receipt_no"] for a in answers]
    assert len(set(receipts[:12])) == 12 and receipts[12] == receipts[13] and receipts[12] not in receipts[:12]
    assert door.stored() == 13


def _raw_exchange(port: int, data: bytes, *, half_close: bool = False, wait_s: float = 5.0) -> bytes:
    """Send ``data`` on one connection and read until the door closes it (or ``wait_s`` passes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait_s) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
        return received


def test_the_event_loop_door_speaks_http_1_1_on_raw_connections(tmp_path: Path) -> None:
    """Two requests sent in one write get two answers in order, a chunked body is read whole, a client that
    stopped sending after its request still gets its answer, a bad head is a 400 and a huge one a 431."""
    rig = Rig(tmp_path / "data")
    try:
        door = Door(rig, "event-loop")
        secret = (rig.data_dir / DOOR_SECRET_FILE).read_text(encoding="ascii").strip()
        body = json.dumps(SUBMISSION, ensure_ascii=False).encode()
        head = (f"POST {ROUTE} HTTP/1.1\r\nHost: 127.0.0.1:{door.port}\r\nContent-Type: application/json\r\n"
                f"X-Kiosk-Door: {secret}\r\n").encode()
        plain = head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        closing = head + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
        chunked = head + b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
        both = _raw_exchange(door.port, plain + closing)
        assert both.count(b"HTTP/1.1 202 ") == 2 and both.count(b'"receipt_no"') == 2
        assert _raw_exchange(door.port, chunked + closing).count(b"HTTP/1.1 202 ") == 2
        assert _raw_exchange(door.port, plain, half_close=True).startswith(b"HTTP/1.1 202 ")
        assert door.stored() == 5
        assert _raw_exchange(door.port, b"NOT HTTP AT ALL\r\n\r\n").startswith(b"HTTP/1.1 400 ")
        big = head + b"X-Filler: " + b"a" * 17_000 + b"\r\n\r\n"
        assert _raw_exchange(door.port, big).startswith(b"HTTP/1.1 431 ")
        assert door.stored() == 5
    finally:
        rig.close()
