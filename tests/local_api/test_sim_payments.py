"""The payment platform as the simulator plays it, over real HTTP: orders, states, bills, refunds."""

from __future__ import annotations

import pytest
import requests

from local_api.link.client import PlatformClient, PlatformRejected, PlatformUnavailable
from local_api.server import ServerHandle
from local_api.sim.app import create_platform_app

SECRET = "test-secret-0123456789"
PAYER = {"name": "张三", "id_number": "11010519491231002X"}


@pytest.fixture
def sim():
    app = create_platform_app(SECRET, seed=7)
    handle = ServerHandle(app, name="sim").start()
    client = PlatformClient(handle.url, SECRET, "HC-TEST-001", timeout_s=2)
    yield handle.url, client
    client.close()
    handle.close()


def admin(url: str, path: str, body: dict | None = None) -> dict:
    answer = requests.post(url + path, json=body or {}, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_order_is_created_once_paid_once_and_carries_its_bill(sim) -> None:
    url, client = sim
    order = client.create_payment("key-1", {"item_code": "ga-hzsl", "amount": "120.00", "payer": PAYER})
    assert order["state"] == "created" and order["amount"] == "120.00" and order["pay_url"]
    again = client.create_payment("key-1", {"item_code": "ga-hzsl", "amount": "120.00", "payer": PAYER})
    assert again["order_no"] == order["order_no"]
    admin(url, f"/admin/payments/{order['order_no']}/pay")
    twice = admin(url, f"/admin/payments/{order['order_no']}/pay")
    assert twice["state"] == "paid" and twice["payments"] == 2
    paid = client.payment(order["order_no"])
    assert paid["state"] == "paid" and paid["bill"]["number"] and paid["bill"]["check_code"]
    assert paid["bill"]["verify_url"].startswith("https://")
    listing = requests.get(url + "/admin/payments", timeout=5).json()
    assert listing["paid"] == 1 and listing["paid_amount"] == "120.00" and listing["count"] == 1
    with pytest.raises(PlatformRejected) as refused:
        client.cancel_payment(order["order_no"])
    assert refused.value.status == 409


def test_the_amount_is_the_catalogs_or_the_platforms(sim) -> None:
    _, client = sim
    with pytest.raises(PlatformRejected) as wrong:
        client.create_payment("key-2", {"item_code": "ga-hzsl", "amount": "1.00", "payer": PAYER})
    assert wrong.value.code == "amount_mismatch"
    fine = client.create_payment("key-3", {"item_code": "ga-wfcl", "payer": PAYER})
    assert fine["amount"] in {"50.00", "100.00", "150.00", "200.00"}
    with pytest.raises(PlatformRejected) as free:
        client.create_payment("key-4", {"item_code": "rs-sydj", "payer": PAYER})
    assert free.value.code == "no_fee"


def test_a_payment_after_expiry_or_cancel_is_refunded(sim) -> None:
    url, client = sim
    late = client.create_payment("key-5", {"item_code": "ga-jszhz", "payer": PAYER})
    admin(url, f"/admin/payments/{late['order_no']}/expire")
    assert client.payment(late["order_no"])["state"] == "expired"
    assert admin(url, f"/admin/payments/{late['order_no']}/pay")["state"] == "refunded"
    stopped = client.create_payment("key-6", {"item_code": "ga-jszhz", "payer": PAYER})
    assert client.cancel_payment(stopped["order_no"])["state"] == "cancelled"
    admin(url, f"/admin/payments/{stopped['order_no']}/pay")
    answer = client.payment(stopped["order_no"])
    assert answer["state"] == "refunded" and "bill" not in answer


def test_orders_expire_by_the_clock_and_faults_reach_payments(sim) -> None:
    url, client = sim
    admin(url, "/admin/payments/settings", {"ttl_s": 1})
    order = client.create_payment("key-7", {"item_code": "ga-jszhz", "payer": PAYER})
    import time
    time.sleep(1.2)
    assert client.payment(order["order_no"])["state"] == "expired"
    admin(url, "/admin/faults", {"status": 503})
    with pytest.raises(PlatformUnavailable):
        client.payment(order["order_no"])
