"""Batch delivery of a backlog (``POST /v1/submissions/batch``): the forwarder against the platform simulator
over real HTTP, with a real SQLite outbox. What must hold is what holds one by one: every submission at
the platform exactly once under its own idempotency key, in acceptance order, a refused one parked with
the others delivered, a "not now" holding it and every later one back, resends harmless."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from gateway_rig import ITEMS, SECRET, identities, wait_for

from local_api.link.client import PlatformClient
from local_api.outbox.crypto import Sealer
from local_api.outbox.forwarder import Forwarder
from local_api.outbox.store import Outbox
from local_api.server import ServerHandle
from local_api.sim.app import create_platform_app

KIOSK = "HC-TEST-001"
BATCH = "/v1/submissions/batch"


class Bench:
    """A platform simulator (optionally without the batch endpoint), an outbox with a backlog, a forwarder."""

    def __init__(self, folder: Path, *, batch_endpoint: bool = True) -> None:
        self.folder = folder
        self.key = os.urandom(32)
        self.app = create_platform_app(SECRET, seed=1, items=ITEMS)
        if not batch_endpoint:  # a platform that predates the batch endpoint: 404 as for any unknown path
            inner = self.app.wsgi_app

            def without_batch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
                if environ.get("PATH_INFO") == BATCH:
                    start_response("404 NOT FOUND", [("Content-Type", "application/json")])
                    return [b'{"error": "not_found", "reason": "no such endpoint"}']
                return inner(environ, start_response)

            self.app.wsgi_app = without_batch  # type: ignore[method-assign]
        self.state = self.app.extensions["platform_sim"]
        self.sim = ServerHandle(self.app, name="sim").start()
        self.outbox = self.open()
        self.forwarder: Forwarder | None = None

    def open(self) -> Outbox:
        return Outbox(self.folder / "outbox.db", Sealer(self.key), kiosk_id=KIOSK)

    def start(self) -> Forwarder:
        self.forwarder = Forwarder(self.outbox, PlatformClient(self.sim.url, SECRET, KIOSK, 2.0), retry_max_s=0.2,
                                   base_delay_s=0.02, idle_probe_s=None)
        self.forwarder.start()
        return self.forwarder

    def faults(self, **kw: object) -> None:
        assert requests.post(self.sim.url + "/admin/faults", json=kw, timeout=5).status_code == 200

    def paths(self) -> list[str]:
        return [p for _, m, p in list(self.state.arrivals) if m == "POST"]

    def held(self) -> dict[str, Any]:
        """What the platform holds, every kind, by idempotency key."""
        with self.state.lock:
            return {**self.state.applications, **self.state.help_requests, **self.state.reports}

    def wait_settled(self, receipts: list[str], timeout_s: float = 20.0) -> None:
        wait_for(lambda: all(self.outbox.get(r).state in ("delivered", "rejected") for r in receipts), timeout_s,
                 what="every submission delivered or parked")

    def close(self) -> None:
        if self.forwarder is not None:
            self.forwarder.stop(1.0)
            self.forwarder.client.close()
        self.outbox.close()
        self.sim.close()


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    b = Bench(tmp_path)
    yield b
    b.close()


def application(person: dict[str, str], item_code: str = "rs-sydj") -> tuple[str, str, dict[str, Any]]:
    return "application", item_code, {"applicant": person, "form": {"reason": "合同到期"}}


def serial(ref: str) -> int:
    return int(re.sub(r"^\D+\d{8}", "", ref))


def test_a_backlog_goes_in_batches_each_submission_once_in_acceptance_order(bench: Bench) -> None:
    people = identities(120)
    receipts = []
    for i, person in enumerate(people):  # every kind the forwarder stores, mixed
        if i % 10 == 3:
            kind, code, payload = "help_request", "rs-sydj", {"need": "callback", "applicant": person}
        elif i % 10 == 7:
            kind, code, payload = "report", "rs-sydj", {"category": "too_slow", "text": "排队太久"}
        else:
            kind, code, payload = application(person)
        receipts.append(bench.outbox.accept(kind, code, payload).receipt_no)
    records = [bench.outbox.get(r) for r in receipts]
    bench.start()
    bench.wait_settled(receipts)

    held = bench.held()
    assert len(held) == 120
    delivered = [bench.outbox.get(r) for r in receipts]
    assert all(d.state == "delivered" for d in delivered)
    for record, done in zip(records, delivered):
        at_platform = held[record.idempotency_key]
        assert at_platform.deliveries == 1 and at_platform.body["receipt_no"] == record.receipt_no
        assert done.platform_ref == at_platform.platform_ref and done.attempts == 1
    refs = [serial(d.platform_ref or "") for d in delivered]
    assert refs == sorted(refs)  # the platform took them in the order residents submitted them
    posts = bench.paths()
    assert BATCH in posts and len(posts) < 120 / 10  # a handful of requests, not one per submission


def test_a_refused_submission_in_a_batch_is_parked_and_a_not_now_holds_it_and_the_rest_back(bench: Bench) -> None:
    people = identities(14)
    plan = [application(p) for p in people[:5]]
    plan.append(("application", "rs-sydj", {"applicant": {"name": people[5]["name"]}}))  # no ID number: 422
    plan += [application(p) for p in people[6:9]]
    plan.append(application(people[9], "ga-hzsl"))  # its department is down: 503 for this one
    plan += [application(p) for p in people[10:]]
    receipts = [bench.outbox.accept(kind, code, payload).receipt_no for kind, code, payload in plan]
    bench.faults(down_departments=["ga"])
    first = bench.start()

    wait_for(lambda: bench.outbox.get(receipts[9]).attempts >= 2, what="the held-back one retried")
    first.stop()  # a still picture: no step in flight
    first.client.close()
    states = [bench.outbox.get(r) for r in receipts]
    assert [s.state for s in states[:9]] == ["delivered"] * 5 + ["rejected"] + ["delivered"] * 3
    assert "applicant.id_number" in (states[5].last_error or "")
    assert all(s.state in ("queued", "sending") for s in states[9:])
    assert "503" in (states[9].last_error or "")
    assert all(s.attempts == 0 and s.last_error is None for s in states[10:])  # never sent: nothing to blame
    held = {a.body["receipt_no"] for a in bench.held().values()}
    assert held == {receipts[i] for i in (0, 1, 2, 3, 4, 6, 7, 8)}  # nothing after the held-back one went

    bench.faults()
    bench.start()
    bench.wait_settled(receipts)
    at_platform = {a.body["receipt_no"]: a for a in bench.held().values()}
    assert set(at_platform) == set(receipts) - {receipts[5]}
    assert all(a.deliveries == 1 for a in at_platform.values())
    later = [serial(at_platform[r].platform_ref) for r in receipts[9:]]
    assert later == sorted(later)  # the held-back one first, then the rest, in order


def test_a_batch_served_but_answered_as_failed_is_resent_harmlessly(bench: Bench) -> None:
    receipts = [bench.outbox.accept(*application(p)).receipt_no for p in identities(30)]
    bench.faults(duplicate=True)  # served and stored, then answered 503: the gateway sends them again
    bench.start()
    wait_for(lambda: len(bench.held()) == 30, what="the platform holding all of them")
    wait_for(lambda: bench.paths().count(BATCH) >= 2, what="a resend")
    bench.faults()
    bench.wait_settled(receipts)
    held = bench.held()
    assert len(held) == 30 and all(a.deliveries >= 2 for a in held.values())
    for receipt in receipts:
        record = bench.outbox.get(receipt)
        assert record.state == "delivered" and record.platform_ref == held[record.idempotency_key].platform_ref


def test_a_batch_abandoned_in_flight_is_resent_after_a_restart_and_held_once(bench: Bench) -> None:
    receipts = [bench.outbox.accept(*application(p)).receipt_no for p in identities(20)]
    bench.faults(latency_s=0.6)  # the platform is slow: the gateway stops while the batch is in flight
    forwarder = bench.start()
    wait_for(lambda: BATCH in bench.paths(), what="the batch in flight")
    forwarder.stop(0.05)
    assert all(bench.outbox.get(r).state == "sending" for r in receipts)
    bench.outbox.close()  # the process is gone: the abandoned attempt's answer is never written
    bench.faults()
    wait_for(lambda: len(bench.held()) == 20, what="the platform finishing the abandoned batch")
    forwarder.client.close()

    bench.outbox = bench.open()  # the next start: rows left 'sending' are queued again
    bench.start()
    bench.wait_settled(receipts)
    held = bench.held()
    assert len(held) == 20 and all(a.deliveries == 2 for a in held.values())
    assert all(bench.outbox.get(r).state == "delivered" for r in receipts)


def test_a_platform_without_the_batch_endpoint_gets_them_one_by_one(tmp_path: Path) -> None:
    bench = Bench(tmp_path, batch_endpoint=False)
    try:
        receipts = [bench.outbox.accept(*application(p)).receipt_no for p in identities(12)]
        bench.start()
        bench.wait_settled(receipts)
        held = bench.held()
        assert len(held) == 12 and all(a.deliveries == 1 for a in held.values())
        assert all(bench.outbox.get(r).state == "delivered" and bench.outbox.get(r).attempts == 1 for r in receipts)
        assert bench.paths() == ["/v1/applications"] * 12  # the batch request never reached the platform's app
    finally:
        bench.close()


def test_a_burst_being_accepted_is_delivered_meanwhile_and_drained_right_after(bench: Bench) -> None:
    forwarder = bench.start()
    people = identities(50)
    receipts: list[str] = []
    end = time.monotonic() + 1.5
    while time.monotonic() < end:  # accepting as fast as the disk allows, as the gateway's doors do
        receipts.append(bench.outbox.accept(*application(people[len(receipts) % 50])).receipt_no)
        forwarder.wake()
    assert forwarder.delivered_total > 0  # accepting comes first, but delivery does not stop meanwhile
    bench.wait_settled(receipts, 30)
    held = bench.held()
    assert len(held) == len(receipts) and all(a.deliveries == 1 for a in held.values())
    refs = [serial(bench.outbox.get(r).platform_ref or "") for r in receipts]
    assert refs == sorted(refs)
