"""Issue 17, loose input: request JSON is read with a depth limit, strictly (no NaN, Infinity or numbers
beyond a float), and text fields are normalised (NFC) with control and bidi-override characters and blank
names refused — each answer a 400 naming the field or the limit, never a 500. Real HTTP to a gateway on
127.0.0.1 (waitress); the platform simulator at the far end shows what was forwarded."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "local_api"))

from gateway_rig import Rig, door_headers, identities, wait_for

DEEP = "[" * 1000 + "]" * 1000
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory):
    r = Rig(tmp_path_factory.mktemp("input") / "data", KIOSK_GATEWAY__AUTH_MAX_FAILURES="1000")
    yield r
    r.close()


def post_raw(rig: Rig, path: str, text: str, token: str | None = None) -> requests.Response:
    # As the kiosk app sends it (the door's secret), so what is tested is the body, not the door.
    headers = dict(JSON, **door_headers(rig.data_dir), **({"Authorization": f"Bearer {token}"} if token else {}))
    return requests.post(rig.url + path, data=text.encode("utf-8"), headers=headers, timeout=30)


def applicant(**extra: Any) -> dict[str, Any]:
    person = identities(1)[0]
    return {"name": person["name"], "id_number": person["id_number"], **extra}


def submission(**changes: Any) -> dict[str, Any]:
    return {"kind": "application", "item_code": "rs-sydj", "applicant": applicant(), "form": {"reason": "失业"},
            **changes}


@pytest.mark.parametrize("path, prefix", [
    ("/console/session", '{"token": '),  # unauthenticated
    ("/api/v1/ratings", '{"receipt_no": "R1", "level": 1, "direction": "gbt39046", "text": '),  # the kiosk door
    ("/api/v1/heartbeat", '{"screen": "attract", "devices": {"printer": {"state": "online", "detail": {"x": '),
])
def test_json_nested_a_thousand_deep_is_a_400_naming_the_limit(rig: Rig, path: str, prefix: str) -> None:
    closing = "}" * (prefix.count("{") - prefix.count("}"))
    answer = post_raw(rig, path, prefix + DEEP + closing)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_request" and answer.json()["field"] == "body"
    assert "nested deeper than 32 levels" in answer.json()["message"]


def test_json_within_the_depth_limit_is_read(rig: Rig) -> None:
    detail: Any = "bottom"
    for _ in range(29):  # body, devices, printer, then detail and 28 more objects: 32 levels in all
        detail = {"x": detail}
    body = {"screen": "attract", "devices": {"printer": {"state": "online", "detail": detail}}}
    assert post_raw(rig, "/api/v1/heartbeat", json.dumps(body)).status_code == 200
    body["devices"]["printer"]["detail"] = {"x": detail}
    assert post_raw(rig, "/api/v1/heartbeat", json.dumps(body)).status_code == 400


@pytest.mark.parametrize("number, named", [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"),
                                           ("1e999999", "1e999999")])
def test_non_standard_numbers_are_refused_not_forwarded(rig: Rig, number: str, named: str) -> None:
    text = json.dumps(submission(form={"amount": "__NUMBER__"})).replace('"__NUMBER__"', number)
    answer = post_raw(rig, "/api/v1/submissions", text)
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == "body" and named in answer.json()["message"]
    heartbeat = post_raw(rig, "/api/v1/heartbeat",
                         '{"screen": "attract", "devices": {"printer": {"state": "online", "detail": {"t": '
                         f'{number}' '}}}}')
    assert heartbeat.status_code == 400 and named in heartbeat.json()["message"]
    received = requests.get(rig.sim_url + "/admin/received", timeout=10).text
    assert "NaN" not in received and "Infinity" not in received


def test_the_gateway_never_writes_non_standard_json(rig: Rig) -> None:
    with rig.gateway.app.app_context():
        with pytest.raises(ValueError):
            rig.gateway.app.json.dumps({"x": float("nan")})
        assert rig.gateway.app.json.dumps({"x": 1.5}) == '{"x": 1.5}'


@pytest.mark.parametrize("body, field, words", [
    (submission(applicant=applicant(name="李\x00娜")), "applicant.name", "control character"),
    (submission(applicant=applicant(name="李娜\n")), "applicant.name", "control character"),
    (submission(applicant=applicant(name="\u202e娜李")), "applicant.name", "right-to-left"),
    (submission(applicant=applicant(name="   ")), "applicant.name", "blank"),
    (submission(applicant=applicant(name="\u3000\u200b")), "applicant.name", "blank"),
    (submission(applicant=applicant(address="厦门\u2066市")), "applicant.address", "right-to-left"),
    (submission(form={"reason": "失\x1b[2J业"}), "form.reason", "control character"),
    (submission(form={"reason": "ok", "\u202ekey": "x"}), "form", "right-to-left"),
])
def test_bad_characters_and_blank_names_are_field_errors(rig: Rig, body: dict[str, Any], field: str,
                                                         words: str) -> None:
    answer = requests.post(rig.url + "/api/v1/submissions", json=body, timeout=30, headers=door_headers(rig.data_dir))
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"].startswith(field) and words in answer.json()["message"], answer.json()


def test_free_text_keeps_its_line_breaks_but_not_other_controls(rig: Rig) -> None:
    ok = requests.post(rig.url + "/api/v1/reports", json={"category": "other", "text": "第一行\n第二行\t。"}, headers=door_headers(rig.data_dir),
                       timeout=30)
    assert ok.status_code == 202, ok.text
    for text, words in (("坏\x07了", "control character"), ("\u202e坏了", "right-to-left"), (" \n ", "blank")):
        refused = requests.post(rig.url + "/api/v1/reports", json={"category": "other", "text": text}, timeout=30,
                                headers=door_headers(rig.data_dir))
        assert refused.status_code == 400 and refused.json()["field"] == "text", refused.text
        assert words in refused.json()["message"]


def test_operator_door_text_fields_are_checked_too(rig: Rig) -> None:
    token = rig.first_token
    answer = rig.post("/api/v1/tokens", token, json={"role": "operator", "label": "夜班\u202e"})
    assert answer.status_code == 400 and answer.json()["field"] == "label", answer.text
    login = requests.post(rig.url + "/console/session", json={"token": "kgw_\x00"}, timeout=10)
    assert login.status_code == 400 and login.json()["field"] == "token", login.text


def test_text_is_normalised_to_nfc_before_it_is_stored_and_forwarded(rig: Rig) -> None:
    decomposed = "Jose\u0301 Cafe\u0301"  # e + COMBINING ACUTE ACCENT
    receipt = rig.client.submit("application", "rs-sydj", applicant(), {"reason": decomposed})["receipt_no"]
    rig.client.wait_delivered(receipt, 20)

    def forwarded() -> list[dict[str, Any]]:
        apps = requests.get(rig.sim_url + "/admin/received", timeout=10).json()["applications"]
        return [a for a in apps if "Jos" in json.dumps(a, ensure_ascii=False)]

    sent = json.dumps(wait_for(forwarded, what="the application at the platform"), ensure_ascii=False)
    assert "José Café" in sent and "\u0301" not in sent


def test_a_body_over_its_size_limit_is_refused_before_it_is_parsed(rig: Rig) -> None:
    padding = "x" * (70 * 1024)  # a rating is a few hundred bytes; its limit is the default 64 KiB
    answer = post_raw(rig, "/console/session", '{"token": "' + padding + '"}')
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"] == "payload_too_large" and answer.json()["field"] == "body"
    assert "64 KiB" in answer.json()["message"]
    pages = requests.post(rig.url + "/api/v1/submissions", timeout=30, headers=door_headers(rig.data_dir), json=submission(  # big bodies keep theirs
        materials=[{"name": "page", "content_type": "image/jpeg", "data": "/9j/" + "A" * 400_000}]))
    assert pages.status_code == 202, pages.text
