"""``kiosk run --headless`` with ``security.suite = "sm"`` (issue 27), through the real processes: the
built-in platform simulator takes the terminal's suite (it accepts only HMAC-SM3 and signs sign-in codes
with SM2), the gateway seals with SM4-GCM under its own key file, and a submission reaches the platform."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from kiosk_rig import Kiosk, wait_for

from devices.id_card.identity import sample_cards
from kiosk.settings import DOOR_SECRET_FILE_NAME
from local_api.client import GatewayClient
from local_api.link.signing import sign

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kiosk]:
    rig = Kiosk(tmp_path_factory.mktemp("e2e-sm"), KIOSK_SECURITY__SUITE="sm").start()
    try:
        yield rig
    finally:
        rig.stop()


def test_an_sm_terminal_delivers_with_sm4_at_rest_and_hmac_sm3_on_the_wire(kiosk: Kiosk) -> None:
    data = Path(kiosk.env["KIOSK_GATEWAY__DATA_DIR"])
    card = sample_cards()[0]
    body = {"kind": "application", "item_code": "zh-bbcs", "request_id": "sm-e2e-1",
            "applicant": {"name": card.name, "id_number": card.id_number},
            "form": {"matter": "sm-e2e", "mobile": "13950000000"}}
    door = GatewayClient(kiosk.gateway, 10, door_secret_file=data / DOOR_SECRET_FILE_NAME)
    try:
        answer = door.send("POST", "/api/v1/submissions", json=body)
    finally:
        door.close()
    assert answer.status_code in (200, 201, 202), answer.text
    kiosk.at_platform(answer.json()["receipt_no"])  # there, exactly once: signed HMAC-SM3, or refused
    assert len((data / "outbox-sm4.key").read_bytes()) == 16 and not (data / "outbox.key").exists()

    # The platform of this terminal refuses a request signed the intl way (no downgrade)…
    raw = b""
    intl = requests.get(kiosk.platform + "/v1/identity/signin-key", timeout=10,
                        headers=sign(kiosk.env.get("KIOSK_PLATFORM__SECRET", "sample-secret-change-me-in-deployment"),
                                     kiosk.env["KIOSK_KIOSK__ID"], "GET", "/v1/identity/signin-key", raw))
    assert intl.status_code == 401 and "HMAC-SM3" in intl.json()["reason"]
    # …and its sign-in codes are SM2-signed: a 65-byte public key.
    issued = wait_for(lambda: requests.post(kiosk.platform + "/admin/signin-codes", json={}, timeout=10).json(),
                      10, "a sign-in code")
    assert len(base64.b64decode(issued["public_key"])) == 65
