"""一件事 at the gateway and the platform simulator, over real HTTP: a submission's optional ``bundle``
({id, code}) is checked, stored with the item and delivered with it; each item of a bundle is its own
submission, delivered once; an item whose department is down at the platform waits and arrives once when it is up."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from gateway_rig import Rig, identities, wait_for

PERSON = identities(1)[0]


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path / "data")
    yield r
    r.close()


def test_every_item_of_a_bundle_arrives_once_with_the_bundles_id_and_code(rig: Rig) -> None:
    bundle = {"id": str(uuid.uuid4()), "code": "employment"}
    # The rig's catalog (gateway_rig.ITEMS) has one apply and one print item: both in one bundle.
    receipts = {code: rig.client.submit(kind, code, PERSON, {"mobile": "13950000000"},
                                        request_id=f"req-{code}-0001", bundle=bundle)["receipt_no"]
                for kind, code in (("application", "rs-sydj"), ("print_request", "rs-sbjfzm"))}
    again = rig.client.submit("application", "rs-sydj", PERSON, {"mobile": "13950000000"},
                              request_id="req-rs-sydj-0001", bundle=bundle)  # a resend after a lost answer
    assert again["receipt_no"] == receipts["rs-sydj"] and again["duplicate"] is True
    for receipt in receipts.values():
        assert rig.client.wait_delivered(receipt, 10)["state"] == "delivered"
    held = [a for a in rig.held()["applications"] if a["receipt_no"] in receipts.values()]
    assert sorted(a["item_code"] for a in held) == sorted(receipts)
    assert {(a["bundle_id"], a["bundle_code"]) for a in held} == {(bundle["id"], "employment")}
    assert all(a["deliveries"] == 1 for a in held)
    progress = rig.client.progress(receipts["rs-sydj"])  # the bundle receipt's QR: every item's status
    assert [(i["item_code"], i["receipt_no"]) for i in progress["bundle"]["items"]] == list(receipts.items())
    assert progress["bundle"]["id"] == bundle["id"] and all(i["status_text"] for i in progress["bundle"]["items"])
    single = rig.client.submit("application", "rs-sydj", PERSON, {"mobile": "13950000000"})["receipt_no"]
    rig.client.wait_delivered(single, 10)
    alone = next(a for a in rig.held()["applications"] if a["receipt_no"] == single)
    assert "bundle_id" not in alone  # a single item carries no bundle
    assert "bundle" not in rig.client.progress(single)


def test_a_bundle_that_is_not_one_is_refused_and_nothing_is_stored(rig: Rig) -> None:
    for bundle, field in (({"id": "not-a-uuid", "code": "birth"}, "bundle.id"),
                          ({"id": str(uuid.uuid4()), "code": "Birth!"}, "bundle.code"),
                          ({"id": str(uuid.uuid4())}, "bundle.code"),
                          ({"id": str(uuid.uuid4()), "code": "birth", "extra": 1}, "bundle.extra")):
        answer = rig.post("/api/v1/submissions", json={"kind": "application", "item_code": "rs-sydj",
                                                       "applicant": PERSON, "bundle": bundle})
        assert answer.status_code == 400 and answer.json()["field"] == field, answer.text
    assert sum(rig.client.health()["outbox"].values()) == 0


def test_an_item_whose_department_is_down_waits_and_arrives_once(rig: Rig) -> None:
    rig.faults(down_departments=["rs"])
    bundle = {"id": str(uuid.uuid4()), "code": "birth"}
    down = rig.client.submit("application", "rs-sydj", PERSON, {}, bundle=bundle)["receipt_no"]
    wait_for(lambda: rig.client.submission(down)["attempts"] >= 2, what="retries against the department")
    assert rig.client.submission(down)["state"] in ("queued", "sending")
    assert not [a for a in rig.held()["applications"] if a["receipt_no"] == down]
    rig.faults()
    assert rig.client.wait_delivered(down, 10)["state"] == "delivered"
    held = [a for a in rig.held()["applications"] if a["receipt_no"] == down]
    assert len(held) == 1 and held[0]["deliveries"] == 1 and held[0]["bundle_code"] == "birth"
