"""A fee item in the flow: the fee before anything is sent, the payment code and its countdown, paid only
on the payment platform's word (through the gateway), a new code or stop on expiry, and a resident who
walks away reported so a late payment is matched."""

from __future__ import annotations

from decimal import Decimal

from devices.id_card.identity import sample_cards
from kiosk import flow
from kiosk.flow import Screen
from kiosk.money import spoken_amount, yuan_text
from tests.kiosk.test_flow_kinds import agree_with_face, of, open_item

ORDER = {"order_no": "FJFS2026120400000001", "state": "created", "amount": "120.00",
         "pay_url": "https://pay.fjzwfw.example/qr/FJFS2026120400000001", "channels": ["alipay", "wechat",
                                                                                   "unionpay", "mzt"],
         "expires_in_s": 300}


def to_review(kiosk, catalog, code="ga-hzsl"):
    item = catalog.get(code)
    open_item(kiosk, item, sample_cards()[0])
    agree_with_face(kiosk)
    assert kiosk.screen is Screen.FORM
    typed = {"mobile": "13950000000", "plate_number": "闽D12345"}
    for f in item.fields:
        if f.type == "choice":
            kiosk.handle(flow.Tapped(f"choice:{f.key}:{f.choices[0].value}"))
        elif not f.prefill:
            kiosk.handle(flow.Tapped(f"field:{f.key}"))
            kiosk.handle(flow.TextEntered(typed.get(f.key, "x")))
    kiosk.handle(flow.Tapped("next"))
    if kiosk.screen is Screen.MATERIALS:
        for i, _ in enumerate(item.materials):
            kiosk.handle(flow.Tapped(f"capture:{i}"))
            kiosk.handle(flow.PageCaptured(i, b"\xff\xd8jpeg", 1000, 1400))
        kiosk.handle(flow.Tapped("next"))
    assert kiosk.screen is Screen.REVIEW
    return item


def to_code(kiosk, catalog, order=ORDER):
    to_review(kiosk, catalog)
    effects = kiosk.handle(flow.Tapped("submit"))
    assert not of(effects, flow.Submit)  # nothing is sent before the fee is paid
    view = kiosk.view()
    assert kiosk.screen is Screen.PAYMENT and view.pay_phase == "fee"
    assert view.amount_text == "¥120.00" and view.amount_words == "一百二十元整" and "护照" in view.fee_purpose
    effects = kiosk.handle(flow.Tapped("pay"))
    [create] = of(effects, flow.CreatePayment)
    assert create.amount == "120.00" and create.item_code == "ga-hzsl"
    assert sample_cards()[0].id_number not in repr(create)
    kiosk.handle(flow.PaymentAnswered(dict(order), request_id=create.request_id))
    return create


def test_paid_on_the_platforms_word_prints_the_receipt_with_the_bill(kiosk, catalog, clock):
    to_code(kiosk, catalog)
    view = kiosk.view()
    assert view.pay_phase == "qr" and view.pay_url.endswith(ORDER["order_no"]) and view.pay_left_s == 300
    assert set(view.channels) == {"alipay", "wechat", "unionpay", "mzt"}
    clock.now += 2.5
    [poll] = of(kiosk.handle(flow.Tick()), flow.PollPayment)
    assert poll.order_no == ORDER["order_no"]
    kiosk.handle(flow.PaymentAnswered({**ORDER, "state": "created"}))
    assert kiosk.screen is Screen.PAYMENT  # still waiting
    clock.now += 100  # no idle timeout while the resident pays on their phone
    kiosk.handle(flow.Tick())
    assert kiosk.screen is Screen.PAYMENT and not kiosk.view().warning and kiosk.view().pay_left_s == 198
    bill = {"number": "350201260000000001", "check_code": "3F9A1C", "verify_url": "https://pjcy.example/v?no=1"}
    effects = kiosk.handle(flow.PaymentAnswered({**ORDER, "state": "paid", "receipt_no": "HC-1-20261204-123456-0001",
                                                 "paid_at": "2026-12-04T10:00:00+08:00", "bill": bill}))
    [job] = of(effects, flow.PrintReceipt)
    assert job.content["payment"]["amount"] == "¥120.00" and job.content["payment"]["bill_no"] == bill["number"]
    assert job.content["payment"]["verify_url"] == bill["verify_url"]
    assert job.content["receipt_no"] == "HC-1-20261204-123456-0001"
    kiosk.handle(flow.PrintFinished(job.job_id, True))
    assert kiosk.screen is Screen.DONE and kiosk.view().paid_text == "¥120.00"


def test_a_paid_state_without_the_queued_application_is_not_paid(kiosk, catalog):
    to_code(kiosk, catalog)
    kiosk.handle(flow.PaymentAnswered({**ORDER, "state": "paid"}))  # no receipt_no: not queued yet
    assert kiosk.screen is Screen.PAYMENT
    assert kiosk.handle(flow.Tapped("paid")) == [] or kiosk.screen is Screen.PAYMENT  # no button makes it paid


def test_expiry_offers_a_new_code_or_stop_and_stop_cancels(kiosk, catalog, clock):
    first = to_code(kiosk, catalog)
    clock.now += 301
    effects = kiosk.handle(flow.Tick())
    assert kiosk.view().pay_phase == "expired" and of(effects, flow.PollPayment)  # one last ask
    kiosk.handle(flow.PaymentAnswered({**ORDER, "state": "expired"}))
    effects = kiosk.handle(flow.Tapped("new_code"))
    [again] = of(effects, flow.CreatePayment)
    assert again.request_id != first.request_id
    kiosk.handle(flow.PaymentAnswered({**ORDER, "order_no": "X2"}, request_id=first.request_id))  # stale answer
    assert kiosk.view().pay_phase == "creating"
    kiosk.handle(flow.PaymentAnswered({**ORDER, "order_no": "X2"}, request_id=again.request_id))
    assert kiosk.view().pay_phase == "qr"
    effects = kiosk.handle(flow.Tapped("stop"))
    assert [(c.order_no, c.reason) for c in of(effects, flow.CancelPayment)] == [("X2", "stopped")]
    assert of(effects, flow.SessionWiped) and kiosk.session is None and kiosk.screen is Screen.HOME


def test_a_late_payment_after_expiry_on_screen_is_still_matched(kiosk, catalog, clock):
    to_code(kiosk, catalog)
    clock.now += 301
    kiosk.handle(flow.Tick())
    effects = kiosk.handle(flow.PaymentAnswered({**ORDER, "state": "paid", "receipt_no": "HC-1-20261204-1-0001"}))
    assert of(effects, flow.PrintReceipt)


def test_a_resident_who_walks_away_is_reported(kiosk, catalog):
    to_code(kiosk, catalog)
    effects = kiosk.handle(flow.Tapped("exit"))
    assert [(c.order_no, c.reason) for c in of(effects, flow.CancelPayment)] == [(ORDER["order_no"], "left")]


def test_no_code_made_offers_again_or_back(kiosk, catalog):
    to_review(kiosk, catalog)
    kiosk.handle(flow.Tapped("submit"))
    [create] = of(kiosk.handle(flow.Tapped("pay")), flow.CreatePayment)
    kiosk.handle(flow.PaymentAnswered(reason_key="pay_unavailable", request_id=create.request_id))
    assert kiosk.view().pay_phase == "failed" and kiosk.view().pay_reason == "pay_unavailable"
    kiosk.handle(flow.Tapped("back"))
    assert kiosk.screen is Screen.REVIEW


def test_a_fine_has_the_platforms_amount(kiosk, catalog):
    to_review(kiosk, catalog, "ga-wfcl")
    kiosk.handle(flow.Tapped("submit"))
    assert kiosk.view().platform_amount and kiosk.view().amount_text == ""
    [create] = of(kiosk.handle(flow.Tapped("pay")), flow.CreatePayment)
    assert create.amount == ""
    kiosk.handle(flow.PaymentAnswered({**ORDER, "amount": "200.00"}, request_id=create.request_id))
    assert kiosk.view().amount_text == "¥200.00"


def test_amounts_are_shown_and_spoken():
    assert yuan_text(Decimal(10)) == "¥10.00" and yuan_text(Decimal("12345.6")) == "¥12,345.60"
    assert spoken_amount(Decimal(60), "zh_CN") == "六十元整"
    assert spoken_amount(Decimal("10.05"), "zh_CN") == "十元零五分"
    assert spoken_amount(Decimal(20000), "zh_TW") == "二萬元整"
    assert spoken_amount(Decimal(120), "en") == "one hundred and twenty yuan"
    assert spoken_amount(Decimal("0.50"), "en") == "fifty fen"
