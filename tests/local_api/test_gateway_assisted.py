"""Assisted mode (帮办代办) at the gateway and the platform simulator, over real HTTP: a staff pass signs
a staff member in only with a current helper token labelled with a staff number; an assisted submission
is checked (consent, 委托书 reference, the staff token still current), stored and forwarded with 代办人 and
the consent, and the simulator refuses a malformed assisted block."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import requests
from gateway_rig import Rig, identities, wait_for
from test_gateway_payments import APPLICANT, FORM, PayRig

from local_api.sim.assisted import assisted_problem

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 2000
CONSENT_AT = "2026-11-21T10:30:00+08:00"


@pytest.fixture
def rig(tmp_path: Path):
    rig = Rig(tmp_path)
    yield rig
    rig.close()


def helper_token(rig: Rig, label: str = "0427") -> str:
    answer = rig.post("/api/v1/tokens", rig.first_token, json={"role": "helper", "label": label})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def signed_in(rig: Rig, token: str) -> dict:
    answer = rig.door("POST", "/api/v1/staff/signin", json={"token": token})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def submission(assisted: dict | None, materials: list | None = None) -> dict:
    person = identities(1)[0]
    body = {"kind": "application", "item_code": "rs-sydj", "applicant": {"name": person["name"],
            "id_number": person["id_number"]}, "form": {"reason": "test"}}
    if materials:
        body["materials"] = materials
    if assisted is not None:
        body["assisted"] = assisted
    return body


def block(staff: dict, kind: str = "on_screen", poa: str | None = None) -> dict:
    return {"agent_staff_no": staff["staff_no"], "staff_token_id": staff["token_id"],
            "consent": {"kind": kind, "at": CONSENT_AT}, "power_of_attorney": poa}


def test_only_a_current_helper_token_with_a_staff_number_signs_in(rig):
    token = helper_token(rig)
    staff = signed_in(rig, token)
    assert staff["staff_no"] == "0427" and token.startswith(f"kgw_{staff['token_id']}.")
    # A technician's token is no staff pass, nor is a helper token without a staff number as its label.
    assert rig.door("POST", "/api/v1/staff/signin", json={"token": rig.first_token}).status_code == 401
    unlabelled = helper_token(rig, label="Zhang San's tablet")
    refused = rig.door("POST", "/api/v1/staff/signin", json={"token": unlabelled})
    assert refused.status_code == 401 and refused.json()["error"] == "staff_pass_refused"
    # Not the kiosk app (no door secret): refused at the door, whatever the token.
    assert requests.post(rig.url + "/api/v1/staff/signin", json={"token": token}, timeout=5).status_code == 401
    # Revoked: no longer signs in.
    rig.services.tokens.revoke(staff["token_id"])
    assert rig.door("POST", "/api/v1/staff/signin", json={"token": token}).status_code == 401
    # Each sign-in is audited with the token id and staff number, never the token itself.
    audit = (rig.data_dir / "audit.jsonl").read_text()
    records = [json.loads(line) for line in audit.splitlines() if '"staff_signin"' in line]
    assert [r["outcome"] for r in records] == ["ok", "refused", "refused", "refused"]
    assert records[0]["target"] == "0427" and token.split(".")[1] not in audit
    # The end of a staff session is audited beside its start.
    rig.client.staff_signout("0427", staff["token_id"], "timeout")
    ended = [json.loads(line) for line in (rig.data_dir / "audit.jsonl").read_text().splitlines()
             if '"staff_signout"' in line]
    assert [(r["target"], r["detail"]) for r in ended] == [("0427", "assisted mode: timeout")]


def test_an_assisted_submission_reaches_the_platform_with_the_staff_number_and_consent(rig):
    staff = signed_in(rig, helper_token(rig))
    answer = rig.door("POST", "/api/v1/submissions", json=submission(block(staff)))
    assert answer.status_code == 202, answer.text
    receipt = answer.json()["receipt_no"]
    rig.client.wait_delivered(receipt, timeout_s=10)
    received = requests.get(rig.sim_url + "/admin/received", timeout=5).json()["applications"]
    body = next(a["body"] for a in received if a["body"]["receipt_no"] == receipt)
    assert body["assisted"] == block(staff)


def test_for_an_absent_resident_the_power_of_attorney_must_be_among_the_materials(rig):
    staff = signed_in(rig, helper_token(rig))
    page = {"name": "poa-1.jpg", "content_type": "image/jpeg", "data": base64.b64encode(JPEG).decode()}
    missing = rig.door("POST", "/api/v1/submissions", json=submission(block(staff, "power_of_attorney")))
    assert missing.status_code == 400 and "power_of_attorney" in missing.json()["message"]
    elsewhere = rig.door("POST", "/api/v1/submissions",
                         json=submission(block(staff, "power_of_attorney", "poa-1.jpg")))
    assert elsewhere.status_code == 400 and "names no material" in elsewhere.json()["message"]
    ok = rig.door("POST", "/api/v1/submissions",
                  json=submission(block(staff, "power_of_attorney", "poa-1.jpg"), [page]))
    assert ok.status_code == 202, ok.text
    receipt = ok.json()["receipt_no"]
    rig.client.wait_delivered(receipt, timeout_s=10)
    held = wait_for(lambda: [a for a in requests.get(rig.sim_url + "/admin/received", timeout=5).json()
                             ["applications"] if a["body"]["receipt_no"] == receipt], 5, "the application")
    body = held[0]["body"]
    assert body["assisted"]["consent"]["kind"] == "power_of_attorney"
    assert [m["name"] for m in body["materials"]] == ["poa-1.jpg"] and body["materials"][0]["head"] == "ffd8ffe0"


@pytest.mark.parametrize(("change", "field"), [
    ({"agent_staff_no": "张三"}, "assisted.agent_staff_no"),
    ({"consent": {"kind": "nodded", "at": CONSENT_AT}}, "assisted.consent.kind"),
    ({"consent": {"kind": "on_screen", "at": "2026-11-21T10:30:00"}}, "assisted.consent.at"),
    ({"staff_token_id": "nope"}, "assisted.staff_token_id"),
])
def test_a_malformed_assisted_block_is_refused_naming_the_field(rig, change, field):
    staff = signed_in(rig, helper_token(rig))
    answer = rig.door("POST", "/api/v1/submissions", json=submission({**block(staff), **change}))
    assert answer.status_code == 400 and answer.json()["field"] == field, answer.text


def test_a_revoked_staff_token_submits_nothing_more(rig):
    staff = signed_in(rig, helper_token(rig))
    rig.services.tokens.revoke(staff["token_id"])
    answer = rig.door("POST", "/api/v1/submissions", json=submission(block(staff)))
    assert answer.status_code == 403 and answer.json()["error"] == "staff_not_current"
    other = signed_in(rig, helper_token(rig, label="0815"))
    claimed = rig.door("POST", "/api/v1/submissions",
                       json=submission({**block(other), "agent_staff_no": "0427"}))  # another staff number
    assert claimed.status_code == 403
    assert sum(requests.get(rig.url + "/health", timeout=5).json()["outbox"].values()) == 0  # nothing stored


def test_the_simulator_refuses_a_malformed_assisted_block():
    base = {"materials": [{"name": "poa-1.jpg", "data": ""}]}
    good = {"agent_staff_no": "0427", "consent": {"kind": "on_screen", "at": CONSENT_AT}, "power_of_attorney": None}
    assert assisted_problem({**base}) == ""
    assert assisted_problem({**base, "assisted": good}) == ""
    assert assisted_problem({**base, "assisted": {**good, "consent": {"kind": "power_of_attorney", "at": CONSENT_AT},
                                                  "power_of_attorney": "poa-1.jpg"}}) == ""
    assert "agent_staff_no" in assisted_problem({**base, "assisted": {**good, "agent_staff_no": ""}})
    assert "consent.at" in assisted_problem({**base, "assisted": {**good, "consent": {"kind": "on_screen"}}})
    assert "power_of_attorney" in assisted_problem(
        {"assisted": {**good, "consent": {"kind": "power_of_attorney", "at": CONSENT_AT}, "power_of_attorney": "x"}})


def test_a_fee_items_assisted_application_is_held_with_its_consent_and_delivered_with_it_once_paid(tmp_path):
    rig = PayRig(tmp_path / "data")
    try:
        created = requests.post(rig.http.url + "/api/v1/tokens", timeout=5, json={"role": "helper", "label": "0427"},
                                headers={"Authorization": "Bearer " + (rig.data_dir / "first-token.txt").read_text().strip()})
        staff = rig.client.staff_signin(created.json()["token"])
        order = rig.client.create_payment("ga-hzsl", APPLICANT, FORM, request_id="req-assisted-1", amount="120.00",
                                          assisted=block(staff))
        rig.admin(f"/admin/payments/{order['order_no']}/pay")
        [app] = wait_for(rig.applications, what="delivery")
        assert app["body"]["assisted"] == block(staff) and app["body"]["payment"]["order_no"] == order["order_no"]
    finally:
        rig.stop_gateway()
        rig.sim.close()
