"""Fees through the gateway over real HTTP: a fee item's application is held (sealed) until the payment
platform says paid, delivered once, and never submitted when the order expires or is cancelled."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import requests

from local_api.client import GatewayClient, GatewayRefused
from local_api.server import ServerHandle, build_gateway
from local_api.sim.app import create_platform_app
from tests.local_api.gateway_rig import SECRET, make_settings, wait_for

NAME = "张三"
APPLICANT = {"name": NAME, "id_number": "11010519491231002X"}
FORM = {"mobile": "13800138000"}


class PayRig:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.settings = make_settings(data_dir)
        self.sim_app = create_platform_app(SECRET, seed=3)
        self.sim = ServerHandle(self.sim_app, name="sim").start()
        self.start_gateway()

    def start_gateway(self) -> None:
        self.gateway = build_gateway(self.settings, platform_base_url=self.sim.url, base_delay_s=0.02,
                                     idle_probe_s=0.1, payment_check_s=0.1)
        self.http = ServerHandle(self.gateway.app, name="gateway").start()
        self.client = GatewayClient.for_settings(self.settings, self.http.url, timeout_s=10)

    def stop_gateway(self) -> None:
        self.client.close()
        self.http.close()
        self.gateway.close()

    def admin(self, path: str, body: dict | None = None) -> dict:
        answer = requests.post(self.sim.url + path, json=body or {}, timeout=5)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def applications(self) -> list[dict]:
        return requests.get(self.sim.url + "/admin/received", timeout=5).json()["applications"]

    def orders(self) -> dict:
        return requests.get(self.sim.url + "/admin/payments", timeout=5).json()

    def held_blobs(self) -> list[tuple]:
        with sqlite3.connect(self.data_dir / "outbox.db") as db:
            return db.execute("SELECT order_no, state, payload, materials FROM payments").fetchall()

    def order(self, item: str = "ga-hzsl", amount: str | None = "120.00", request_id: str = "req-payment-1") -> dict:
        return self.client.create_payment(item, APPLICANT, FORM, request_id=request_id, amount=amount)


@pytest.fixture
def rig(tmp_path):
    r = PayRig(tmp_path / "data")
    yield r
    r.stop_gateway()
    r.sim.close()


def test_paid_order_releases_its_application_once_with_the_bill(rig: PayRig) -> None:
    order = rig.order()
    assert order["state"] == "created" and order["amount"] == "120.00" and order["pay_url"]
    assert set(order["channels"]) == {"alipay", "wechat", "unionpay", "mzt"}
    assert 0 < order["expires_in_s"] <= 300
    again = rig.order()  # the app resends after a lost answer: the same order
    assert again["order_no"] == order["order_no"] and again["pay_url"] == order["pay_url"]
    [(_, _, blob, _)] = rig.held_blobs()
    assert NAME.encode() not in blob and APPLICANT["id_number"].encode() not in blob  # sealed
    time.sleep(0.3)
    assert rig.applications() == []  # held: nothing submitted before the platform says paid
    rig.admin(f"/admin/payments/{order['order_no']}/pay")
    rig.admin(f"/admin/payments/{order['order_no']}/pay")  # the wallet notifies twice
    paid = wait_for(lambda: (p := rig.client.payment(order["order_no"]))["receipt_no"] and p, what="paid")
    assert paid["state"] == "paid" and paid["bill"]["number"] and paid["bill"]["verify_url"]
    [app] = wait_for(rig.applications, what="delivery")
    assert app["receipt_no"] == paid["receipt_no"] and app["item_code"] == "ga-hzsl"
    assert app["body"]["payment"]["order_no"] == order["order_no"]
    assert app["body"]["payment"]["bill"]["number"] == paid["bill"]["number"]
    time.sleep(0.3)
    assert len(rig.applications()) == 1 and rig.orders()["paid"] == 1
    assert rig.held_blobs()[0][2] is None  # the held copy is gone once queued


def test_stopped_order_is_cancelled_and_a_late_payment_refunded(rig: PayRig) -> None:
    order = rig.order()
    stopped = rig.client.cancel_payment(order["order_no"], "stopped")
    assert stopped["state"] == "cancelled"
    rig.admin(f"/admin/payments/{order['order_no']}/pay")
    wait_for(lambda: rig.orders()["refunded"] == 1, what="refund")
    time.sleep(0.3)
    assert rig.applications() == []
    assert rig.held_blobs()[0][2:] == (None, None)  # nothing submitted, nothing kept


def test_a_resident_who_left_is_matched_when_paying_late(rig: PayRig) -> None:
    order = rig.order(item="ga-wfcl", amount=None, request_id="req-fine-0001")
    assert order["amount"] in {"50.00", "100.00", "150.00", "200.00"}
    left = rig.client.cancel_payment(order["order_no"], "left")
    assert left["left"] and left["state"] == "created"
    rig.admin(f"/admin/payments/{order['order_no']}/pay")  # paid on the phone after walking away
    [app] = wait_for(rig.applications, what="the watcher's match")
    assert app["body"]["payment"]["amount"] == order["amount"]


def test_expired_order_submits_nothing_and_a_later_payment_is_refunded(rig: PayRig) -> None:
    rig.admin("/admin/payments/settings", {"ttl_s": 1})
    order = rig.order(item="ga-jszhz", amount="10.00", request_id="req-expire-01")
    wait_for(lambda: rig.client.payment(order["order_no"])["state"] == "expired", what="expiry")
    assert rig.admin(f"/admin/payments/{order['order_no']}/pay")["state"] == "refunded"
    wait_for(lambda: rig.client.payment(order["order_no"])["state"] == "refunded", what="refund heard")
    assert rig.applications() == []


def test_paid_is_only_believed_from_the_platform(rig: PayRig) -> None:
    order = rig.order()
    rig.admin("/admin/faults", {"status": 503})
    answer = rig.client.payment(order["order_no"])
    assert answer["state"] == "created" and answer["stale"]
    rig.admin("/admin/faults", {})
    with pytest.raises(GatewayRefused) as refused:
        rig.order(amount="1.00", request_id="req-wrong-amount")
    assert refused.value.status == 422  # the platform checks the catalog's fee against its own


def test_a_payment_made_while_the_gateway_was_down_is_delivered_after_restart(rig: PayRig) -> None:
    order = rig.order()
    rig.stop_gateway()
    rig.admin(f"/admin/payments/{order['order_no']}/pay")
    rig.start_gateway()  # nobody polls: the watcher finds the paid order and queues its application
    [app] = wait_for(rig.applications, what="delivery after restart")
    assert app["body"]["payment"]["order_no"] == order["order_no"]
    token = (rig.data_dir / "first-token.txt").read_text().strip()
    metrics = requests.get(rig.http.url + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert 'kiosk_gateway_payments{state="paid"} 1.0' in metrics.text
    assert "kiosk_gateway_payments_paid_yuan 120.0" in metrics.text
    assert NAME not in metrics.text


def test_settled_orders_are_forgotten_after_retention_and_open_ones_kept(rig: PayRig) -> None:
    paid = rig.order()
    rig.admin(f"/admin/payments/{paid['order_no']}/pay")
    wait_for(rig.applications, what="delivery")
    wait_for(lambda: rig.client.payment(paid["order_no"])["receipt_no"], what="queued")
    open_order = rig.order(request_id="req-still-open")
    ledger = rig.gateway.services.payments
    assert ledger.purge(time.time() + 1) == 1  # the paid and queued one; the open one stays
    assert [row[0] for row in rig.held_blobs()] == [open_order["order_no"]]
