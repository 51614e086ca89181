"""kiosk/terminal/scanning.py: real segno QR codes drawn into synthetic camera frames, read by OpenCV's
detector, judged by kiosk/qrcodes.py, turned into flow events; sign-in codes issued by the platform
simulator and redeemed through a real gateway (both on 127.0.0.1)."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
import requests

from devices.camera.simulate import qr_scene
from devices.id_card.identity import sample_cards
from devices.printer.receipt import render_escpos
from kiosk import flow
from kiosk.crypto import SigningKey
from kiosk.qrcodes import load_public_key, progress_url, signin_payload
from kiosk.settings import load_settings
from kiosk.terminal.receipts import slip_layout
from kiosk.terminal.scanning import (
    SAMPLE_RECEIPT_NO,
    AppSignInIdentity,
    SimulatedApp,
    SimulatedQrCamera,
    look_up,
    qr_camera,
    redeem_signin,
    scan,
    simulated_platform_url,
)
from local_api.client import GatewayClient
from local_api.server import start_gateway, start_platform_sim

RECEIPT = "HC-DEMO-001-20261121-000042"


def scan_for(purpose: str, camera, timeout_s: float = 20.0, **kwargs):
    return scan(flow.ScanQr(purpose, timeout_s), camera, **kwargs)


@pytest.fixture
def camera() -> SimulatedQrCamera:
    return SimulatedQrCamera()


@pytest.fixture(scope="module", params=["intl", "sm"])
def platform(request: pytest.FixtureRequest):
    """The platform simulator and a real gateway in front of it, as ``kiosk run`` wires them, in each
    crypto suite (sm: SM2 sign-in codes, HMAC-SM3 requests, SM4-GCM outbox)."""
    import tempfile

    base = load_settings(environ={"KIOSK_SECURITY__SUITE": request.param})
    sim = start_platform_sim("127.0.0.1", 0, base.platform.secret, suite=request.param)
    with tempfile.TemporaryDirectory(prefix="scan-gw-") as data_dir:
        settings = base.model_copy(update={
            "gateway": base.gateway.model_copy(update={"port": 0, "data_dir": data_dir}),
            "platform": base.platform.model_copy(update={"url": sim.url})})
        gateway = start_gateway(settings)
        client = GatewayClient.for_settings(settings, gateway.url, timeout_s=10)
        try:
            yield {"sim": sim, "gateway": gateway, "client": client, "settings": settings}
        finally:
            client.close()
            gateway.close()
            sim.close()


def sign_in_scan(camera, platform, **kwargs):
    client = platform["client"]
    camera.use_platform(simulated_platform_url(platform["settings"]))
    return scan_for("signin", camera, redeem=lambda token: redeem_signin(client, token), **kwargs)


def test_a_receipt_code_held_up_is_read(camera):
    camera.app.hold_up(progress_url(RECEIPT))
    event = scan_for("progress", camera)
    assert isinstance(event, flow.QrScanned) and event.receipt_no == RECEIPT


def test_the_last_printed_receipt_is_what_the_simulated_resident_holds_up(camera):
    content = {"item_name": "测试事项", "document": None, "receipt_no": RECEIPT, "promised_days": 5,
               "applicant_name": "张*", "applicant_id": "1101**********002X"}
    layout = slip_layout("receipt", content, kiosk_id="HC-DEMO-001", place="测试", now=datetime(2026, 11, 21, 10))
    escpos = render_escpos(layout, 80)
    event = scan_for("progress", camera, last_receipt=escpos)
    assert isinstance(event, flow.QrScanned) and event.receipt_no == RECEIPT
    # Before anything was printed: a sample number (the platform answers "not found" for it).
    event = scan_for("progress", camera)
    assert isinstance(event, flow.QrScanned) and event.receipt_no == SAMPLE_RECEIPT_NO


@pytest.mark.parametrize("text, purpose, reason", [
    ("https://example.com/pay?order=1", "progress", "qr_foreign_link"),
    ("WIFI:S:guest;T:WPA;P:secret;;", "progress", "qr_not_ours"),
    (progress_url(RECEIPT).replace("no=", "no=x&no="), "progress", "qr_damaged_link"),
    ("mzt:signin:v2:abc", "signin", "qr_signin_version"),
])
def test_foreign_and_damaged_codes_get_the_verdicts_reason(camera, text, purpose, reason):
    camera.app.hold_up(text)
    event = scan_for(purpose, camera)
    assert isinstance(event, flow.ScanFailed) and event.reason_key == reason


def test_sign_in_codes_from_the_platform_expired_forged_good_and_reused(camera, platform):
    app = camera.app
    app.hold_up_signin(expires_in_s=-5)
    assert sign_in_scan(camera, platform).reason_key == "qr_signin_expired"
    assert camera.shown.startswith("mzt:signin:v1:")  # issued by the platform simulator, then shown
    stranger = SigningKey.generate("intl")
    app.hold_up(signin_payload("A" * 24, int(datetime.now().timestamp()) + 60, stranger))
    assert sign_in_scan(camera, platform).reason_key == "qr_signin_forged"
    event = sign_in_scan(camera, platform)  # the app shows a fresh code
    good = camera.shown
    assert isinstance(event, flow.CardRead) and event.source == "app_qr"
    person = sample_cards()[1]  # the simulator's TEST resident
    assert isinstance(event.identity, AppSignInIdentity)
    assert (event.identity.name, event.identity.id_number) == (person.name, person.id_number)
    assert event.identity.id_number not in repr(event.identity)
    app.hold_up(good)  # a photographed code shown again: the platform redeems a token once
    assert sign_in_scan(camera, platform).reason_key == "qr_signin_used"


def test_the_platform_decides_even_when_the_kiosk_cannot_check_the_signature(camera, platform):
    # A code no platform issued, well formed and unexpired: without the platform's key the kiosk lets it
    # through to the platform, which knows no such token.
    client = platform["client"]
    camera.app.hold_up(signin_payload("B" * 24, int(datetime.now().timestamp()) + 60,
                                      SigningKey.generate("intl")))
    event = scan_for("signin", PlainCamera.of(camera), redeem=lambda token: redeem_signin(client, token))
    assert isinstance(event, flow.ScanFailed) and event.reason_key == "qr_signin_used"


def test_a_configured_platform_key_refuses_codes_of_any_other_key(camera, platform):
    key = SigningKey.generate("intl")
    client = platform["client"]
    camera.use_platform(simulated_platform_url(platform["settings"]))
    event = scan_for("signin", camera, redeem=lambda token: redeem_signin(client, token),
                     signin_key=key.public)  # the simulator's own codes are not signed with it
    assert isinstance(event, flow.ScanFailed) and event.reason_key == "qr_signin_forged"
    sim_key = requests.get(platform["sim"].url + "/admin/signin-codes", timeout=5).json()["public_key"]
    event = scan_for("signin", camera, redeem=lambda token: redeem_signin(client, token),
                     signin_key=load_public_key(sim_key))
    assert isinstance(event, flow.CardRead)
    event.identity.wipe()
    assert event.identity.id_number == "" and event.identity.name == ""


def test_an_unreachable_platform_offers_the_cards_instead(camera, platform):
    camera.use_platform(simulated_platform_url(platform["settings"]))
    camera.app.hold_up_signin()
    requests.post(platform["sim"].url + "/admin/faults", json={"status": 503}, timeout=5)
    try:
        event = sign_in_scan(camera, platform)
    finally:
        requests.post(platform["sim"].url + "/admin/faults", json={}, timeout=5)
    assert isinstance(event, flow.ScanFailed) and event.reason_key == "scan_signin_unavailable"
    # No gateway at all: the same plain answer, not a crash.
    dead = GatewayClient("http://127.0.0.1:9", timeout_s=2)
    camera.app.hold_up_signin()
    event = sign_in_scan(camera, {**platform, "client": dead})
    assert isinstance(event, flow.ScanFailed) and event.reason_key == "scan_signin_unavailable"


def test_a_code_of_the_other_kind_is_named(camera):
    camera.app.hold_up(camera.app.signin_code())
    assert scan_for("progress", camera).reason_key == "qr_wrong_kind_progress"
    camera.app.hold_up(progress_url(RECEIPT))
    assert scan_for("signin", camera).reason_key == "qr_wrong_kind_signin"


def test_nothing_in_view_ends_at_the_time_limit(camera):
    camera.app.hold_up("")
    ticks = iter(range(1000))
    event = scan(flow.ScanQr("progress", 5.0), camera, clock=lambda: float(next(ticks)))
    assert isinstance(event, flow.ScanFailed) and event.reason_key == "scan_timeout"


def test_cancelling_stops_the_scan_and_posts_nothing(camera):
    camera.app.hold_up("")
    effect = flow.ScanQr("progress", 600.0)
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(scan(effect, camera)))
    worker.start()
    effect.cancel.set()
    worker.join(timeout=30)
    assert not worker.is_alive() and result == [None]


class PlainCamera:
    """A camera that only delivers frames (a real terminal's): no simulated phone, no key behind it."""

    def __init__(self, text: str) -> None:
        self.scene = qr_scene(text, module_px=5)
        self.i = 0

    @classmethod
    def of(cls, camera: SimulatedQrCamera) -> PlainCamera:
        """Frames of what ``camera``'s phone holds up next."""
        return cls(camera.app.next_code("signin"))

    def read(self):
        self.i += 1
        return self.scene(self.i)


def test_without_a_camera_or_a_redeemer_the_resident_is_told(camera):
    assert scan_for("progress", None).reason_key == "scan_no_camera"
    plain = PlainCamera(SimulatedApp().signin_code())
    assert scan_for("signin", plain).reason_key == "scan_signin_unavailable"


def test_the_phone_asks_only_a_platform_simulator_on_loopback():
    base = load_settings(environ={})

    def url_for(url: str, port: int = 8471) -> str:
        return simulated_platform_url(base.model_copy(update={
            "platform": base.platform.model_copy(update={"url": url, "sim_port": port})}))

    assert url_for("") == "http://127.0.0.1:8471"  # kiosk run: the built-in simulator
    assert url_for("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert url_for("https://zwfw.example.gov.cn") == ""  # a real platform has no admin door for phones
    assert url_for("", port=0) == ""


def test_the_document_camera_scans_when_there_is_no_qr_camera():
    assert qr_camera({"document_camera": "doc"}) == "doc"
    assert qr_camera({"document_camera": "doc", "qr_camera": "qr"}) == "qr"
    assert qr_camera({}) is None


def test_an_unreachable_gateway_is_a_plain_answer_not_a_crash():
    client = GatewayClient("http://127.0.0.1:9", timeout_s=2)
    answer = look_up(client, flow.LookUpProgress("", "20261121000001"), kiosk_id="HC-X-1")
    assert answer.receipt_no == "HC-X-1-20261121-000001" and answer.reason_key == "error_gateway_unavailable"
