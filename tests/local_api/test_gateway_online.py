"""The gateway's kiosk door over real HTTP: online-only calls, the breaker, help requests and reports,
materials, refusals (disk full, unknown items, oversized), parked submissions."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from gateway_rig import Rig, identities, wait_for

from local_api.client import GatewayRefused
from local_api.outbox.store import UnknownReceipt

PEOPLE = identities(3)
PERSON = PEOPLE[0]
FACE = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(200) + b"\xff\xd9"
SCAN = b"\xff\xd8\xff\xe0" + "户口本首页扫描".encode() * 2000 + b"\xff\xd9"


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path / "data")
    yield r
    r.close()


def test_query_identity_appointment_and_progress(rig: Rig) -> None:
    answer = rig.client.query("yb-zhye", PERSON)
    rows = dict(answer["rows"])
    assert answer["title"] == "医保个人账户余额查询结果" and "个人账户余额" in rows
    assert rows["公民身份号码"] == PERSON["id_number"][:4] + "*" * 10 + PERSON["id_number"][-4:]
    assert rig.client.query("yb-zhye", PERSON)["rows"] == answer["rows"]  # stable per person
    with pytest.raises(GatewayRefused) as info:
        rig.client.query("rs-sydj", PERSON)  # an apply item has nothing to query
    assert info.value.status == 404

    assert rig.client.verify_identity(PERSON, FACE, "rs-ylzgrz")["verified"] is True
    requests.post(rig.sim_url + "/admin/identity", json={"id_number": PEOPLE[1]["id_number"],
                                                         "outcome": "face_mismatch"}, timeout=5)
    refused = rig.client.verify_identity(PEOPLE[1], FACE)
    assert refused["verified"] is False and refused["reason"] == "face_mismatch" and refused["message"]
    not_jpeg = rig.post("/api/v1/identity/verify", json={"applicant": PERSON,
                                                          "face_jpeg": base64.b64encode(b"GIF89a").decode()})
    assert not_jpeg.status_code == 400 and not_jpeg.json()["field"] == "face_jpeg"

    slots = rig.client.appointment_slots("mz-hydjyy")["slots"]
    free = next(s for s in slots if s["available"] > 0)
    booked = rig.client.book_appointment("mz-hydjyy", free["slot_id"], PERSON, request_id="booking-0001")
    again = rig.client.book_appointment("mz-hydjyy", free["slot_id"], PERSON, request_id="booking-0001")
    assert booked["appointment_ref"] == again["appointment_ref"] and again["duplicate"] is True
    after = {s["slot_id"]: s for s in rig.client.appointment_slots("mz-hydjyy")["slots"]}
    assert after[free["slot_id"]]["available"] == free["available"] - 1
    full = next(s for s in slots if s["capacity"] == 0)
    with pytest.raises(GatewayRefused) as info:
        rig.client.book_appointment("mz-hydjyy", full["slot_id"], PERSON)
    assert info.value.status == 409

    rig.faults(status=503)
    receipt = rig.client.submit("application", "rs-sydj", PERSON, {"reason": "合同到期"})["receipt_no"]
    local = rig.client.progress(receipt)
    assert local["source"] == "gateway" and local["status"] in ("queued", "sending")
    rig.faults()
    rig.client.wait_delivered(receipt, 10)
    remote = rig.client.progress(receipt)
    assert remote["source"] == "platform" and remote["status"] == "received" and remote["steps"]


def test_breaker_opens_and_online_calls_answer_at_once_while_apply_items_are_accepted(rig: Rig) -> None:
    rig.faults(hang_s=3.0)  # longer than the proxy timeout: every online call times out
    for _ in range(3):  # gateway.breaker_failures
        with pytest.raises(GatewayRefused) as info:
            rig.client.fetch_document("rs-sbjfzm", PERSON)
        assert info.value.status == 503 and info.value.error == "platform_unavailable"
    arrivals = rig.sim_state.requests
    rig.faults()
    rig.sim_state.requests = arrivals = rig.sim_state.requests
    answer = rig.post("/api/v1/queries", json={"item_code": "yb-zhye", "applicant": PERSON})
    assert answer.status_code == 503 and answer.json()["breaker"] == "open" and answer.headers["Retry-After"]
    assert rig.sim_state.requests == arrivals  # answered without asking the platform
    accepted = rig.client.submit("application", "rs-sydj", PERSON, {})  # store-and-forward still works
    assert accepted["state"] == "queued"
    assert rig.client.wait_delivered(accepted["receipt_no"], 15)["state"] == "delivered"  # closes it again
    wait_for(lambda: rig.client.health()["platform"]["breaker"] == "closed", what="breaker closed")
    assert rig.client.query("yb-zhye", PERSON)["rows"]


def test_help_requests_reports_and_materials_are_delivered_once_and_sealed_at_rest(rig: Rig) -> None:
    rig.faults(status=503)
    help_no = rig.client.help_request("home_visit", "elderly", item_code="rs-sydj", applicant=PERSON,
                                      phone="13912345678", text="行动不便，请上门办理")["receipt_no"]
    report_no = rig.client.report("cannot_handle", "找不到居住证签注事项", phone="13912345678")["receipt_no"]
    app_no = rig.client.submit("application", "rs-sydj", PERSON, {"reason": "合同到期"},
                               materials=[("户口本首页", "image/jpeg", SCAN)])["receipt_no"]
    raw = b"".join(p.read_bytes() for p in rig.data_dir.iterdir() if p.name.startswith("outbox.db"))
    for secret in (PERSON["name"], PERSON["id_number"], "13912345678", "行动不便", "找不到居住证", "户口本首页扫描"):
        assert secret.encode() not in raw, secret
    rig.faults(duplicate=True)  # served, but the gateway is told it failed: it delivers again
    def held_help() -> Any:
        return next((h for h in rig.sim_state.help_requests.values() if h.body.get("receipt_no") == help_no), None)
    wait_for(lambda: held_help() and held_help().deliveries >= 2, what="duplicate deliveries")
    rig.faults()
    for receipt in (help_no, report_no, app_no):
        assert rig.client.wait_delivered(receipt, 10)["state"] == "delivered"
    held = rig.held()
    assert [h["receipt_no"] for h in held["help_requests"]] == [help_no]
    assert [r["receipt_no"] for r in held["reports"]] == [report_no]
    assert [a["receipt_no"] for a in held["applications"]] == [app_no]
    body = next(a.body for a in rig.sim_state.applications.values() if a.body["receipt_no"] == app_no)
    assert base64.b64decode(body["materials"][0]["data"]) == SCAN and body["materials"][0]["name"] == "户口本首页"
    assert held_help().body["need"] == "home_visit"
    assert rig.client.submission(app_no)["materials"] == 1


def test_refusals_name_the_field_and_store_nothing(rig: Rig) -> None:
    cases = [
        ({"kind": "application", "item_code": "no-such-item", "applicant": PERSON}, 400, "item_code"),
        ({"kind": "application", "item_code": "rs-sydj", "applicant": PERSON,
          "materials": [{"name": "x", "content_type": "image/gif", "data": "AAAA"}]}, 400, "materials.0.content_type"),
        ({"kind": "application", "item_code": "rs-sydj", "applicant": PERSON,
          "materials": [{"name": "x", "content_type": "image/jpeg", "data": "not base64!"}]}, 400, "materials.0.data"),
        ({"kind": "application", "item_code": "rs-sydj", "applicant": PERSON,
          "materials": [{"name": f"p{i}", "content_type": "image/jpeg",
                         "data": base64.b64encode(bytes(1_300_000)).decode()} for i in range(5)]}, 413, "materials"),
        ({"kind": "application", "item_code": "rs-sydj", "applicant": PERSON,
          "form": {"blob": "x" * 12_000_000}}, 413, "body"),
    ]
    for body, status, field in cases:
        answer = rig.post("/api/v1/submissions", json=body)
        assert answer.status_code == status and answer.json()["field"] == field, (field, answer.text)
    bad_help = rig.post("/api/v1/help-requests", json={"need": "taxi", "group": "elderly"})
    assert bad_help.status_code == 400 and bad_help.json()["field"] == "need"
    bad_phone = rig.post("/api/v1/reports", json={"category": "other", "text": "x", "phone": "12345"})
    assert bad_phone.status_code == 400 and bad_phone.json()["field"] == "phone"
    assert sum(rig.client.health()["outbox"].values()) == 0


def test_disk_full_refuses_new_submissions_with_a_clear_message(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "data", KIOSK_GATEWAY__MIN_FREE_MB="1000000000")  # more than any disk has
    try:
        with pytest.raises(GatewayRefused) as info:
            rig.client.submit("application", "rs-sydj", PERSON, {})
        assert info.value.status == 507 and info.value.error == "disk_full"
        assert "存储空间不足" in info.value.message and "nothing was saved" in info.value.message
        assert sum(rig.client.health()["outbox"].values()) == 0
        ready = rig.get("/ready")
        assert ready.status_code == 503 and "disk" in ready.json()["problems"][0]
        rig.services.outbox.integrity_check()
    finally:
        rig.close()


def test_rejected_and_expired_are_parked_visible_and_can_be_queued_again(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "data", KIOSK_GATEWAY__EXPIRE_AFTER_S="0.5")
    try:
        rig.faults(status=422)
        rejected = rig.client.submit("application", "rs-sydj", PERSON, {})["receipt_no"]
        assert rig.client.wait_delivered(rejected, 10)["state"] == "rejected"
        rig.faults(status=503)
        expiring = rig.client.submit("application", "rs-sydj", PEOPLE[1], {})["receipt_no"]
        wait_for(lambda: rig.client.submission(expiring)["state"] == "expired", what="expiry")
        token = rig.first_token
        parked = rig.get("/api/v1/outbox?state=rejected", token).json()["submissions"]
        assert [p["receipt_no"] for p in parked] == [rejected] and "422" in parked[0]["last_error"]
        assert "姓名" not in json.dumps(parked, ensure_ascii=False)
        assert rig.get("/api/v1/status", token).json()["outbox"]["parked"] == 2
        rig.faults()
        for receipt in (rejected, expiring):
            assert rig.post(f"/api/v1/outbox/{receipt}/retry", token).json()["state"] == "queued"
            assert rig.client.wait_delivered(receipt, 10)["state"] == "delivered"
        assert rig.post(f"/api/v1/outbox/{rejected}/retry", token).status_code == 409  # delivered: not parked
        rig.services.outbox.purge_receipt(rejected)
        with pytest.raises(UnknownReceipt):
            rig.services.outbox.get(rejected)
    finally:
        rig.close()


def test_app_sign_in_is_redeemed_at_the_platform_once_and_never_logged(rig: Rig, caplog) -> None:
    from devices.id_card.identity import sample_cards

    caplog.set_level("DEBUG")

    def code(**body) -> str:
        answer = requests.post(rig.sim_url + "/admin/signin-codes", json=body, timeout=5)
        assert answer.status_code == 201
        return answer.json()["code"].split(":")[3]

    token = code()
    person = rig.client.redeem_signin(token)
    card = sample_cards()[1]
    assert person == {"name": card.name, "id_number": card.id_number, "gender": card.gender,
                      "card_type": "resident"}  # who, and nothing more (no time stamps, no photo)
    with pytest.raises(GatewayRefused) as used:
        rig.client.redeem_signin(token)
    assert used.value.status == 410 and used.value.body["platform_error"] == "signin_used"
    with pytest.raises(GatewayRefused) as expired:
        rig.client.redeem_signin(code(expires_in_s=-10))
    assert expired.value.status == 410 and expired.value.body["platform_error"] == "signin_expired"
    with pytest.raises(GatewayRefused) as unknown:
        rig.client.redeem_signin("Q" * 40)
    assert unknown.value.status == 404
    remote = rig.gateway.app.test_client().post("/api/v1/identity/signin", json={"token": code()},
                                                environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert remote.status_code == 403  # the kiosk app's own door: nobody on the network redeems codes
    for bad in ("short", "bad token with spaces!", "x" * 65):
        answer = rig.post("/api/v1/identity/signin", json={"token": bad})
        assert answer.status_code == 400 and answer.json()["field"] == "token" and bad not in answer.text
    rig.faults(status=503)
    pending = code()
    with pytest.raises(GatewayRefused) as away:
        rig.client.redeem_signin(pending)
    assert away.value.status == 503 and away.value.error == "platform_unavailable"
    rig.faults()
    wait_for(lambda: _redeemed(rig, pending), 10, "the breaker letting a sign-in through again")
    assert token not in caplog.text and pending not in caplog.text
    assert card.id_number not in caplog.text and card.name not in caplog.text


def _redeemed(rig: Rig, token: str) -> bool:
    try:
        return bool(rig.client.redeem_signin(token)["id_number"])
    except GatewayRefused as exc:
        if exc.status != 503:
            raise
        return False
