"""kiosk/scanning.py: real segno QR codes drawn into synthetic camera frames, read by OpenCV's
detector, judged by kiosk/qrcodes.py, turned into flow events."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devices.camera.simulate import qr_scene
from devices.printer.receipt import render_escpos
from kiosk import flow
from kiosk.qrcodes import progress_url, signin_payload
from kiosk.receipts import slip_layout
from kiosk.scanning import (SAMPLE_RECEIPT_NO, AppSignInIdentity, SimulatedApp, SimulatedQrCamera, look_up,
                            qr_camera, scan)
from local_api.client import GatewayClient

RECEIPT = "HC-DEMO-001-20261121-000042"


def scan_for(purpose: str, camera, timeout_s: float = 20.0, **kwargs):
    return scan(flow.ScanQr(purpose, timeout_s), camera, **kwargs)


@pytest.fixture
def camera() -> SimulatedQrCamera:
    return SimulatedQrCamera()


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


def test_sign_in_codes_expired_forged_good_and_reused(camera):
    app = camera.app
    app.hold_up(app.signin_code(expires_in_s=-5))
    assert scan_for("signin", camera).reason_key == "qr_signin_expired"
    stranger = Ed25519PrivateKey.generate()
    app.hold_up(signin_payload("A" * 24, int(datetime.now().timestamp()) + 60, stranger))
    assert scan_for("signin", camera).reason_key == "qr_signin_forged"
    good = app.signin_code()
    app.hold_up(good)
    event = scan_for("signin", camera)
    assert isinstance(event, flow.CardRead) and event.source == "app_qr"
    assert isinstance(event.identity, AppSignInIdentity) and event.identity.id_number
    assert event.identity.id_number not in repr(event.identity)
    app.hold_up(good)  # a photographed code shown again
    assert scan_for("signin", camera).reason_key == "qr_signin_used"


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


def test_without_a_camera_or_a_redeemer_the_resident_is_told(camera):
    assert scan_for("progress", None).reason_key == "scan_no_camera"

    class PlainCamera:  # a camera that only delivers frames: no simulated app behind it
        def __init__(self, text: str) -> None:
            self.scene = qr_scene(text, module_px=5)
            self.i = 0

        def read(self):
            self.i += 1
            return self.scene(self.i)

    plain = PlainCamera(SimulatedApp().signin_code())
    assert scan_for("signin", plain).reason_key == "scan_signin_unavailable"


def test_the_document_camera_scans_when_there_is_no_qr_camera():
    assert qr_camera({"document_camera": "doc"}) == "doc"
    assert qr_camera({"document_camera": "doc", "qr_camera": "qr"}) == "qr"
    assert qr_camera({}) is None


def test_an_unreachable_gateway_is_a_plain_answer_not_a_crash():
    client = GatewayClient("http://127.0.0.1:9", timeout_s=2)
    answer = look_up(client, flow.LookUpProgress("", "20261121000001"), kiosk_id="HC-X-1")
    assert answer.receipt_no == "HC-X-1-20261121-000001" and answer.reason_key == "error_gateway_unavailable"
