"""The platform simulator over real HTTP (waitress): signatures, idempotency, documents, faults."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests

from local_api.link import signing
from local_api.link.client import PlatformClient, PlatformRejected, PlatformUnavailable, parse_retry_after
from local_api.link.signing import METHODS, SignatureError, Verifier, sign
from local_api.server import ServerHandle
from local_api.sim.app import create_platform_app

SECRET = "test-secret-0123456789"
KIOSK = "HC-TEST-001"
NAME = "张三"
ID_NUMBER = "11010519491231002X"
APPLICANT = {"name": NAME, "id_number": ID_NUMBER}
BODY = {"kind": "application", "item_code": "rs-sydj", "applicant": APPLICANT, "form": {"reason": "离职"}}


@pytest.fixture
def sim(request: pytest.FixtureRequest):
    """The simulator in the suite ``request.param`` (``indirect`` parametrizing: both suites), else intl."""
    suite = getattr(request, "param", "intl")
    app = create_platform_app(SECRET, seed=7, suite=suite)
    handle = ServerHandle(app, name="sim").start()
    handle.suite = suite  # type: ignore[attr-defined]
    yield handle, app
    handle.close()


BOTH_SUITES = pytest.mark.parametrize("sim", ["intl", "sm"], indirect=True)


@pytest.fixture
def client(sim):
    handle, _ = sim
    c = PlatformClient(handle.url, SECRET, KIOSK, timeout_s=2, suite=handle.suite)
    yield c
    c.close()


def signed_post(url: str, path: str, body: dict, *, secret: str = SECRET, headers: dict | None = None,
                suite: str = "intl"):
    raw = json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {}),
                   **sign(secret, KIOSK, "POST", path, raw, suite=suite)}
    return requests.post(url + path, data=raw, headers=all_headers, timeout=5), all_headers, raw


def faults(url: str, **kw) -> None:
    assert requests.post(url + "/admin/faults", json=kw, timeout=5).status_code == 200


@BOTH_SUITES
def test_signature_is_required_and_checked(sim) -> None:
    handle, _ = sim
    url, suite = handle.url, handle.suite
    unsigned = requests.post(url + "/v1/applications", json=BODY, headers={"Idempotency-Key": "k1"},
                             timeout=5)
    assert unsigned.status_code == 401 and "X-" in unsigned.json()["reason"]

    wrong, _, _ = signed_post(url, "/v1/applications", BODY, secret="another-secret-xxxxxxxx",
                              headers={"Idempotency-Key": "k1"}, suite=suite)
    assert wrong.status_code == 401 and wrong.json()["error"] == "bad_signature"

    other_suite = "intl" if suite == "sm" else "sm"  # right secret, the other suite's MAC: no downgrade
    downgraded, _, _ = signed_post(url, "/v1/applications", BODY, headers={"Idempotency-Key": "k1"},
                                   suite=other_suite)
    assert downgraded.status_code == 401 and METHODS[suite] in downgraded.json()["reason"]

    ok, headers, raw = signed_post(url, "/v1/applications", BODY, headers={"Idempotency-Key": "k1"}, suite=suite)
    assert ok.status_code == 201

    replay = requests.post(url + "/v1/applications", data=raw, headers=headers, timeout=5)
    assert replay.status_code == 401 and "replay" in replay.json()["reason"]

    tampered = dict(BODY, item_code="other")
    altered = requests.post(url + "/v1/applications", data=json.dumps(tampered).encode(),
                            headers={**headers, "X-Nonce": "fresh"}, timeout=5)
    assert altered.status_code == 401


def test_verifier_window_and_replay_cache(crypto_suite: str) -> None:
    now = [1_800_000_000.0]
    verifier = Verifier(SECRET, suites=[crypto_suite], clock=lambda: now[0])

    def sign(*args, **kw):  # signing.sign in this test's suite
        return signing.sign(*args, **kw, suite=crypto_suite)

    headers = sign(SECRET, KIOSK, "GET", "/health", b"", now=now[0] - 299)
    assert verifier.verify("GET", "/health", headers, b"") == KIOSK
    with pytest.raises(SignatureError, match="replay"):
        verifier.verify("GET", "/health", headers, b"")
    with pytest.raises(SignatureError, match="300"):
        verifier.verify("GET", "/health", sign(SECRET, KIOSK, "GET", "/health", b"", now=now[0] - 301), b"")
    with pytest.raises(SignatureError, match="300"):
        verifier.verify("GET", "/health", sign(SECRET, KIOSK, "GET", "/health", b"", now=now[0] + 301), b"")
    with pytest.raises(SignatureError, match="does not match"):
        verifier.verify("POST", "/health", sign(SECRET, KIOSK, "GET", "/health", b"", now=now[0]), b"")


def test_intl_signatures_are_byte_for_byte_those_before_suites() -> None:
    # The platform's verifiers in service check HMAC-SHA256 exactly as before: same headers, same bytes.
    headers = sign("s3cret-s3cret-s3cret", "HC-1", "POST", "/v1/applications", b'{"a": 1}', now=1_800_000_000,
                   nonce="n0nce")
    assert headers == {"X-Kiosk-Id": "HC-1", "X-Timestamp": "1800000000", "X-Nonce": "n0nce",
                       "X-Signature": "9e3ecdc995379745ddd9919acce8f82ad5ea17ac17c56fa8bf884fb37a16ed75"}
    sm = sign("s3cret-s3cret-s3cret", "HC-1", "POST", "/v1/applications", b'{"a": 1}', now=1_800_000_000,
              nonce="n0nce", suite="sm")
    assert sm["X-Signature-Method"] == "HMAC-SM3" and sm["X-Signature"] != headers["X-Signature"]


@BOTH_SUITES
def test_same_idempotency_key_holds_one_application(sim, client: PlatformClient) -> None:
    handle, _ = sim
    first = client.submit_application("HC-TEST-001-20261121-000001", BODY)
    again = client.submit_application("HC-TEST-001-20261121-000001", BODY)
    assert (first.status, again.status) == (201, 200)
    assert first.platform_ref == again.platform_ref and again.duplicate

    with pytest.raises(PlatformRejected) as info:
        client.submit_application("HC-TEST-001-20261121-000001", dict(BODY, form={"reason": "other"}))
    assert info.value.status == 422

    listing = requests.get(handle.url + "/admin/applications", timeout=5).json()
    assert listing["count"] == 1
    assert listing["applications"][0]["deliveries"] == 2

    summary = client._json(client._request("GET", "/v1/applications/HC-TEST-001-20261121-000001"))
    assert summary["platform_ref"] == first.platform_ref
    text = json.dumps(summary, ensure_ascii=False)
    assert NAME not in text and ID_NUMBER not in text


def test_missing_applicant_field_is_rejected_naming_it(client: PlatformClient) -> None:
    with pytest.raises(PlatformRejected, match=r"applicant\.id_number") as info:
        client.submit_application("k-2", dict(BODY, applicant={"name": NAME}))
    assert info.value.status == 422


def test_social_insurance_proof(client: PlatformClient) -> None:
    doc = client.fetch_document("rs-sbjfzm", APPLICANT)
    assert doc["title"] == "社会保险参保缴费证明"
    assert re.fullmatch(r"[A-Z2-9]{8}", doc["verification_code"])
    rows = dict(doc["rows"])
    assert rows["姓名"] == "张*"
    assert rows["公民身份号码"] == "1101**********002X"
    assert rows["参保地"] == "厦门市海沧区"
    types = [i["type"] for i in doc["insurances"]]
    assert types == ["企业职工基本养老保险", "失业保险", "工伤保险"]
    assert all(i["status"] == "正常参保" and i["months"] > 0 for i in doc["insurances"])
    assert ID_NUMBER not in json.dumps(doc, ensure_ascii=False)
    assert client.fetch_document("rs-sbjfzm", APPLICANT)["insurances"] == doc["insurances"]  # stable

    with pytest.raises(PlatformRejected) as info:
        client.fetch_document("no-such-item", APPLICANT)
    assert info.value.status == 404


def test_ratings_name_their_direction(sim, client: PlatformClient) -> None:
    handle, _ = sim
    reply = client.submit_rating("r-1", {"transaction_key": "t-1", "level": 5, "direction": "gbt39046"})
    assert reply.status == 201
    reversed_ = client.submit_rating("r-2", {"transaction_key": "t-2", "level": 5,
                                             "direction": "gbt39046_reversed"})
    assert client.submit_rating("r-1", {"transaction_key": "t-1", "level": 5,
                                        "direction": "gbt39046"}).platform_ref == reply.platform_ref
    with pytest.raises(PlatformRejected, match="direction"):
        client.submit_rating("r-3", {"transaction_key": "t-3", "level": 2})
    ratings = {r["idempotency_key"]: r for r in requests.get(handle.url + "/admin/applications",
                                                            timeout=5).json()["ratings"]}
    assert ratings["r-1"]["level_gbt39046"] == 5 and ratings["r-1"]["follow_up"] is True
    assert ratings["r-2"]["level_gbt39046"] == 1 and ratings["r-2"]["follow_up"] is False
    assert reversed_.status == 201 and ratings["r-1"]["deliveries"] == 2


def test_injected_429_carries_retry_after(sim, client: PlatformClient) -> None:
    handle, _ = sim
    faults(handle.url, status=429, retry_after_s=7)
    with pytest.raises(PlatformUnavailable) as info:
        client.submit_application("k-429", BODY)
    assert info.value.retry_after == 7.0
    faults(handle.url)
    assert client.health()["status"] == "ok"


def test_injected_503_then_recovery(sim, client: PlatformClient) -> None:
    handle, _ = sim
    faults(handle.url, status=503)
    with pytest.raises(PlatformUnavailable, match="503"):
        client.fetch_document("rs-sbjfzm", APPLICANT)
    faults(handle.url, status=503, error_rate=0.0)
    assert client.fetch_document("rs-sbjfzm", APPLICANT)["title"]


def test_dropped_answer_after_serving(sim, client: PlatformClient) -> None:
    handle, _ = sim
    faults(handle.url, drop=True)
    with pytest.raises(PlatformUnavailable):
        client.submit_application("k-drop", BODY)
    faults(handle.url)
    listing = requests.get(handle.url + "/admin/applications", timeout=5).json()
    assert [a["idempotency_key"] for a in listing["applications"]] == ["k-drop"]  # it was served
    assert client.submit_application("k-drop", BODY).duplicate


def test_hang_is_a_timeout(sim) -> None:
    handle, _ = sim
    faults(handle.url, hang_s=1.0)
    quick = PlatformClient(handle.url, SECRET, KIOSK, timeout_s=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(PlatformUnavailable, match="no answer"):
            quick.health()
        assert time.monotonic() - started < 0.9
    finally:
        quick.close()
        faults(handle.url)


def test_nothing_listening_is_unavailable() -> None:
    handle = ServerHandle(create_platform_app(SECRET))
    url = handle.url
    handle.close()  # bound, then closed: nothing listens there now
    dead = PlatformClient(url, SECRET, KIOSK, timeout_s=1)
    with pytest.raises(PlatformUnavailable, match="cannot connect"):
        dead.health()
    dead.close()


def test_admin_is_loopback_only_and_errors_are_json() -> None:
    app = create_platform_app(SECRET)
    remote = app.test_client().get("/admin/applications", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert remote.status_code == 403 and remote.json["error"] == "forbidden"
    assert app.test_client().get("/nowhere").json["error"] == "not_found"
    bad = app.test_client().post("/admin/faults", json={"explode": True})
    assert bad.status_code == 400 and "explode" in bad.json["reason"]


def test_retry_after_http_date() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 30) == pytest.approx(30)
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_openapi_document_matches_the_simulator_routes() -> None:
    yaml = pytest.importorskip("yaml")
    from pathlib import Path

    doc = yaml.safe_load((Path(__file__).parents[2] / "docs" / "platform-openapi.yaml").read_text("utf-8"))
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    app = create_platform_app(SECRET)
    served = {(re.sub(r"<(\w+)>", r"{\1}", rule.rule), method)
              for rule in app.url_map.iter_rules() if not rule.rule.startswith(("/admin", "/static"))
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served


def test_every_platform_service_is_signed_and_suffers_injected_faults(sim, client: PlatformClient) -> None:
    """Query, identity, appointments and progress go through the same door as the core contract."""
    handle, _ = sim
    unsigned = requests.get(handle.url + "/v1/appointments/slots?item_code=bdc-yy", timeout=5)
    assert unsigned.status_code == 401
    faults(handle.url, status=503)
    with pytest.raises(PlatformUnavailable, match="503"):
        client.appointment_slots("bdc-yy")
    faults(handle.url, status=503, error_rate=0.0)
    client.appointment_slots("bdc-yy")


# -- app sign-in (扫码登录) ------------------------------------------------------------------------

def issue_code(url: str, **body) -> dict:
    answer = requests.post(url + "/admin/signin-codes", json=body, timeout=5)
    assert answer.status_code == 201, answer.text
    return answer.json()


def token_of(code: str) -> str:
    return code.split(":")[3]


@BOTH_SUITES
def test_sign_in_codes_are_signed_by_the_platform_and_redeemed_once(sim, client: PlatformClient) -> None:
    from devices.id_card.identity import sample_cards
    from kiosk.qrcodes import SignIn, inspect_payload, load_public_key

    handle, _ = sim
    issued = issue_code(handle.url)
    assert issued["public_key"] == client.signin_key()  # the key is also published in the signed contract
    key = load_public_key(client.signin_key())
    assert key is not None and key.algorithm == {"intl": "Ed25519", "sm": "SM2"}[handle.suite]
    verdict = inspect_payload(issued["code"], now=time.time(), signin_key=key)
    assert isinstance(verdict.payload, SignIn) and verdict.payload.signature_checked
    assert 0 < issued["expires_at"] - time.time() <= 120
    forged = issue_code(handle.url)["code"]
    forged = forged[:-2] + ("AA" if not forged.endswith("AA") else "BB")
    assert inspect_payload(forged, now=time.time(), signin_key=key).reason_key == "qr_signin_forged"

    person = client.redeem_signin(token_of(issued["code"]))
    card = sample_cards()[1]  # a TEST person, never a real one
    assert (person["name"], person["id_number"], person["gender"], person["card_type"]) == \
        (card.name, card.id_number, card.gender, "resident")
    with pytest.raises(PlatformRejected) as used:
        client.redeem_signin(token_of(issued["code"]))
    assert used.value.status == 410 and used.value.code == "signin_used"
    with pytest.raises(PlatformRejected) as unknown:
        client.redeem_signin("Z" * 32)
    assert unknown.value.status == 404 and unknown.value.code == "signin_unknown"
    expired = issue_code(handle.url, expires_in_s=-1)
    with pytest.raises(PlatformRejected) as late:
        client.redeem_signin(token_of(expired["code"]))
    assert late.value.status == 410 and late.value.code == "signin_expired"
    counts = requests.get(handle.url + "/admin/signin-codes", timeout=5).json()
    assert counts["held"] == 3 and counts["redeemed"] == 1 and "code" not in counts


def test_sign_in_is_signed_suffers_faults_and_refuses_odd_requests(sim, client: PlatformClient) -> None:
    handle, _ = sim
    code = issue_code(handle.url)["code"]
    unsigned = requests.post(handle.url + "/v1/identity/signin", json={"token": token_of(code)}, timeout=5)
    assert unsigned.status_code == 401
    faults(handle.url, status=503)
    with pytest.raises(PlatformUnavailable, match="503"):
        client.redeem_signin(token_of(code))
    faults(handle.url)
    assert client.redeem_signin(token_of(code))["name"]  # the failed attempt did not use the code up
    no_token, _, _ = signed_post(handle.url, "/v1/identity/signin", {"token": 7})
    assert no_token.status_code == 400 and no_token.json()["reason"].startswith("token:")
    for body in ({"expires_in_s": 601}, {"expires_in_s": "soon"}, {"expires_in": 60}):
        assert requests.post(handle.url + "/admin/signin-codes", json=body, timeout=5).status_code == 400
    app = create_platform_app(SECRET)
    remote = app.test_client().post("/admin/signin-codes", json={}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert remote.status_code == 403  # nobody off this machine can mint sign-in codes


def test_a_receipt_number_two_applications_carry_shows_neither_case(sim, client: PlatformClient) -> None:
    """Two terminals left on one kiosk id (or an outbox restored from a backup, before run numbers)
    once sent two residents' applications under one receipt number: a progress lookup by that number
    must not show either resident's case; the platform's own reference still names one."""
    receipt = "HC-DEMO-001-20261121-000001"
    first = client.submit_application("0b4d7c52-8f0e-4a43-9d3e-1f6f5a0c2a11", dict(BODY, receipt_no=receipt))
    client.submit_application("6f1c9a2e-7b3d-4e5f-8a9b-0c1d2e3f4a5b",
                              dict(BODY, receipt_no=receipt, form={"reason": "another resident"}))
    with pytest.raises(PlatformRejected) as info:
        client.progress(receipt)
    assert info.value.status == 409
    assert client.progress(first.platform_ref)["platform_ref"] == first.platform_ref
