"""Fees end to end through the real processes (``kiosk run --headless``): a resident pays 普通护照申领's fee by
the payment QR code; the platform simulator's ``/admin/payments`` door plays the resident's phone. Every
assertion is made at the far ends — what the payment platform and the application platform hold, what the
printer printed — or on what the screen then says.

paid → the application is at the platform once, with the order and the 财政电子票据; expired → a new code or
stop, nothing submitted; paid after expiry → refunded, nothing submitted; the app killed (kill -9) after the
resident paid and before it heard so → the gateway matches the payment and delivers the application once.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from kiosk_rig import KIOSK_ID, Finger, Kiosk, wait_for

from kiosk.catalog.loading import Catalog, ServiceItem
from screens.demo_journeys import SAMPLE_VALUES

pytestmark = pytest.mark.timeout(300)

ITEM = "ga-hzsl"  # 普通护照申领: 120 元


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kiosk]:
    rig = Kiosk(tmp_path_factory.mktemp("e2e-pay")).start()
    try:
        yield rig
    finally:
        rig.stop()


@pytest.fixture(scope="module")
def item() -> ServiceItem:
    found = Catalog.load().get(ITEM)
    assert found is not None
    return found


@pytest.fixture
def finger(kiosk: Kiosk) -> Iterator[Finger]:
    kiosk.faults()
    ttl(kiosk, 300)
    f = kiosk.finger
    f.wait_for("attract", 60)
    yield f
    kiosk.faults()
    ttl(kiosk, 300)


def ttl(kiosk: Kiosk, seconds: float) -> None:
    answer = requests.post(kiosk.platform + "/admin/payments/settings", json={"ttl_s": seconds}, timeout=10)
    assert answer.status_code == 200, answer.text


def orders(kiosk: Kiosk) -> dict[str, dict[str, Any]]:
    listing = requests.get(kiosk.platform + "/admin/payments", timeout=10).json()
    return {o["order_no"]: o for o in listing["orders"]}


def pay(kiosk: Kiosk, order_no: str) -> dict[str, Any]:
    """The resident's phone pays the order (the payment platform's word, not the kiosk's)."""
    answer = requests.post(f"{kiosk.platform}/admin/payments/{order_no}/pay", json={}, timeout=10)
    assert answer.status_code == 200, answer.text
    paid: dict[str, Any] = answer.json()
    return paid


def applications_for(kiosk: Kiosk, order_no: str) -> list[dict[str, Any]]:
    return [a for a in kiosk.received()["applications"]
            if ((a["body"].get("payment") or {}).get("order_no")) == order_no]


def to_payment_code(f: Finger, item: ServiceItem) -> dict[str, Any]:
    """Card, item, face, form, the photo receipt, review, the fee, 扫码缴费: the view with the code."""
    f.lay_card()
    f.wait_for("home")
    f.tap("search")
    f.wait_for("search")
    f.type(item.name.get("zh_CN"))
    wait_for(lambda: f.shows(f"detail:{item.code}"), 10, f"{item.code} among the search results")
    f.tap(f"detail:{item.code}")
    f.wait_for("detail")
    f.tap("begin")
    f.wait_for("consent")
    f.tap("consent")
    f.wait_for("form", 60)
    for field in item.fields:
        if not field.prefill and field.required:
            f.tap(f"field:{field.key}")
            f.type(SAMPLE_VALUES.get(field.type, "测试"))
            if f.shows("kb:done"):
                f.tap("kb:done")
    f.tap("next")
    f.wait_for("materials")
    for i, _ in enumerate(item.materials):
        f.tap(f"capture:{i}")
        f.wait_view(lambda v, i=i: (v.get("pages") or {}).get(str(i)), f"page {i} taken")
    f.tap("next")
    f.wait_for("review")
    f.tap("submit")
    fee = f.wait_for("payment")["view"]
    assert fee["pay_phase"] == "fee" and fee["amount_text"] == "¥120.00" and fee["fee_purpose"]
    f.tap("pay")
    view = f.wait_view(lambda v: v.get("pay_phase") == "qr", "the payment QR code", 30)
    assert view["pay_url"] and view["pay_left_s"] > 0
    assert set(view["channels"]) == {"alipay", "wechat", "unionpay", "mzt"}
    return view


def order_on_screen(kiosk: Kiosk, view: dict[str, Any]) -> str:
    """The order the code on screen pays (its pay_url names it) — as the payment platform holds it."""
    [order_no] = [n for n in orders(kiosk) if view["pay_url"].endswith(n)]
    return order_no


def test_paid_fee_submits_once_and_prints_the_bill(kiosk: Kiosk, item: ServiceItem, finger: Finger) -> None:
    before = len(kiosk.printer.jobs())
    view = to_payment_code(finger, item)
    order_no = order_on_screen(kiosk, view)
    assert orders(kiosk)[order_no]["state"] == "created" and orders(kiosk)[order_no]["amount"] == "120.00"
    assert applications_for(kiosk, order_no) == []  # nothing submitted before it is paid
    paid = pay(kiosk, order_no)
    pay(kiosk, order_no)  # the wallet notifies twice: recorded once
    done = finger.wait_for("done", 40)["view"]
    assert done["paid_text"] == "¥120.00" and done["receipt_no"].startswith(KIOSK_ID + "-")
    held = kiosk.at_platform(done["receipt_no"])
    assert held["item_code"] == ITEM and held["deliveries"] == 1
    assert held["body"]["payment"]["order_no"] == order_no
    assert held["body"]["payment"]["bill"]["number"] == paid["bill"]["number"]
    order = orders(kiosk)[order_no]
    assert order["state"] == "paid" and order["payments"] == 2
    slip = b"".join(wait_for(lambda: kiosk.printer.jobs()[before:], 20, "the receipt at the printer"))
    assert paid["bill"]["number"].encode() in slip and done["receipt_no"].encode() in slip
    finger.tap("rate:1")
    finger.wait_for("thanks")
    finger.tap("home")
    finger.wait_for("attract")


def test_expired_code_offers_a_new_one_or_stop_and_nothing_is_submitted(
        kiosk: Kiosk, item: ServiceItem, finger: Finger) -> None:
    ttl(kiosk, 4)
    view = to_payment_code(finger, item)
    first = order_on_screen(kiosk, view)
    finger.wait_view(lambda v: v.get("pay_phase") == "expired", "the code to expire", 30)
    assert finger.shows("new_code") and finger.shows("stop")
    ttl(kiosk, 300)
    finger.tap("new_code")
    again = finger.wait_view(lambda v: v.get("pay_phase") == "qr", "a new code", 30)
    second = order_on_screen(kiosk, again)
    assert second != first
    finger.tap("stop")
    finger.wait_for("home")
    wait_for(lambda: orders(kiosk)[second]["state"] == "cancelled", 20, "the second order cancelled")
    wait_for(lambda: orders(kiosk)[first]["state"] == "expired", 10, "the first order expired at the platform")
    assert applications_for(kiosk, first) == [] and applications_for(kiosk, second) == []
    finger.tap("exit")
    finger.wait_for("attract")


def test_paid_after_expiry_is_refunded_and_nothing_is_submitted(
        kiosk: Kiosk, item: ServiceItem, finger: Finger) -> None:
    ttl(kiosk, 4)
    view = to_payment_code(finger, item)
    order_no = order_on_screen(kiosk, view)
    finger.wait_view(lambda v: v.get("pay_phase") == "expired", "the code to expire", 30)
    finger.tap("exit")  # the resident walks away
    finger.wait_for("attract")
    # The screen counts down to the second the platform named (whole seconds): it may call time a moment
    # before the payment platform does. Paid once the platform, too, holds the order expired:
    wait_for(lambda: orders(kiosk)[order_no]["state"] == "expired", 10, "the order expired at the platform")
    assert pay(kiosk, order_no)["state"] == "refunded"  # paid on the phone, too late
    wait_for(lambda: orders(kiosk)[order_no]["refunded_at"], 10, "the refund")
    assert applications_for(kiosk, order_no) == []


def test_app_killed_between_payment_and_submission_delivers_once(
        kiosk: Kiosk, item: ServiceItem, finger: Finger) -> None:
    view = to_payment_code(finger, item)
    order_no = order_on_screen(kiosk, view)
    pid = kiosk.app_pid()
    assert pid
    # The resident pays; the app dies before it hears so (kill -9: no goodbye, no "left" sent).
    os.kill(pid, signal.SIGKILL)
    pay(kiosk, order_no)
    finger.close()
    wait_for(lambda: kiosk.app_pid() not in (0, pid), 60, "kiosk run to restart the app")
    look = finger.wait_for("attract", 90)
    assert not look["view"]["applicant_name"] and not look["view"]["paid_text"]  # the session died with the app
    # The gateway's watcher hears the payment platform and delivers the held application, once.
    [held] = wait_for(lambda: applications_for(kiosk, order_no), 60, "the paid application at the platform")
    assert held["item_code"] == ITEM and held["deliveries"] == 1
    assert orders(kiosk)[order_no]["state"] == "paid"
    wait_for(lambda: sum(kiosk.outbox().get(s, 0) for s in ("queued", "sending")) == 0, 60, "the outbox drained")
    assert len(applications_for(kiosk, order_no)) == 1
