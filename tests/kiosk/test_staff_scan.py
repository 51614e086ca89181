"""A staff pass (assisted mode) through the terminal's QR scanner: drawn by the simulated QR camera, found
and decoded by OpenCV, and checked by a real gateway (a helper token labelled with a staff number); every
other code held up for a staff sign-in, and a staff pass held up for anything else, is named for what it is."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from kiosk import flow
from kiosk.qrcodes import progress_url, staff_pass_payload
from kiosk.settings import load_settings
from kiosk.terminal import staff
from kiosk.terminal.scanning import SimulatedQrCamera, scan
from local_api.client import GatewayClient
from local_api.server import start_gateway, start_platform_sim

RECEIPT = "HC-DEMO-001-20261121-000001"


@pytest.fixture(scope="module")
def gateway() -> Iterator[dict[str, Any]]:
    base = load_settings(environ={})
    sim = start_platform_sim("127.0.0.1", 0, base.platform.secret)
    with tempfile.TemporaryDirectory(prefix="staff-gw-") as data_dir:
        settings = base.model_copy(update={
            "gateway": base.gateway.model_copy(update={"port": 0, "data_dir": data_dir}),
            "platform": base.platform.model_copy(update={"url": sim.url})})
        gw = start_gateway(settings)
        client = GatewayClient.for_settings(settings, gw.url, timeout_s=10)
        technician = (settings.data_path / "first-token.txt").read_text().strip()
        try:
            yield {"client": client, "url": gw.url, "technician": technician}
        finally:
            client.close()
            gw.close()
            sim.close()


def helper_token(gateway: dict[str, Any], label: str) -> str:
    answer = requests.post(gateway["url"] + "/api/v1/tokens", json={"role": "helper", "label": label}, timeout=10,
                           headers={"Authorization": f"Bearer {gateway['technician']}"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def staff_scan(camera: SimulatedQrCamera, gateway: dict[str, Any], purpose: str = "staff") -> flow.Event | None:
    return scan(flow.ScanQr(purpose, 10.0), camera, verify_staff=lambda token: staff.verify(gateway["client"], token))


def test_a_staff_pass_signs_in_with_the_staff_number_the_gateway_vouches_for(gateway):
    camera = SimulatedQrCamera()
    camera.app.hold_up(staff_pass_payload(helper_token(gateway, "0815")))
    event = staff_scan(camera, gateway)
    assert isinstance(event, flow.StaffSignedIn) and event.staff_no == "0815" and len(event.token_id) == 8


def test_a_technicians_token_or_an_unlabelled_helper_is_no_staff_pass(gateway):
    camera = SimulatedQrCamera()
    for token in (gateway["technician"], helper_token(gateway, "")):
        camera.app.hold_up(staff_pass_payload(token))
        event = staff_scan(camera, gateway)
        assert isinstance(event, flow.ScanFailed) and event.reason_key == "staff_pass_refused"


@pytest.mark.parametrize(("shown", "purpose", "reason"), [
    (progress_url(RECEIPT), "staff", "staff_pass_expected"),
    ("kiosk:staff:v1:kgw_nothex0.short", "staff", "staff_pass_damaged"),
    ("WIFI:S:guest;T:WPA;P:secret;;", "staff", "qr_not_ours"),
    (staff_pass_payload("kgw_1a2b3c4d." + "x" * 43), "progress", "qr_wrong_kind_staff"),
    (staff_pass_payload("kgw_1a2b3c4d." + "x" * 43), "signin", "qr_wrong_kind_staff"),
])
def test_the_wrong_code_is_named_for_what_it_is(gateway, shown, purpose, reason):
    camera = SimulatedQrCamera()
    camera.app.hold_up(shown)
    event = staff_scan(camera, gateway, purpose)
    assert isinstance(event, flow.ScanFailed) and event.reason_key == reason
