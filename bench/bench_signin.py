"""QRSIGNIN: what app sign-in (扫码登录) costs a resident once the code is in front of the camera.

- ``QRSIGNIN``: redeeming a sign-in token the way the kiosk does it — :func:`kiosk.terminal.scanning.redeem_signin`
  through the gateway (``POST /api/v1/identity/signin``, loopback) to the platform simulator (signed
  ``POST /v1/identity/signin``) — median with p95 in the note. Anchor: the same redemption sent straight
  to the simulator with the gateway's own :class:`PlatformClient`, in the same run; the ratio is the
  price of the gateway hop (breaker, validation, one more HTTP round trip).
- ``QRSIGNIN-scan``: a signed sign-in code held up to the simulated QR camera until the flow has
  :class:`flow.CardRead` (decode, expiry and Ed25519 check, redemption), median with p95 in the note.
  Anchor: a progress link scanned from the same camera in the same run (decode and payload check only),
  so the ratio is what the sign-in adds to a scan. The code is issued before the clock starts: issuing
  is the phone's and the platform's work, not the kiosk's.

    .venv/bin/python -m bench.run --only QRSIGNIN
"""

from __future__ import annotations

import tempfile

import requests

from bench.common import Figure, median, percentile, timed
from kiosk import flow
from kiosk.qrcodes import progress_url
from kiosk.settings import load_settings
from kiosk.terminal.scanning import SimulatedQrCamera, redeem_signin, scan
from local_api.client import GatewayClient
from local_api.link.client import PlatformClient
from local_api.server import start_gateway, start_platform_sim

RECEIPT = "HC-DEMO-001-20261121-000042"


def _token(sim_url: str) -> str:
    answer = requests.post(f"{sim_url}/admin/signin-codes", json={}, timeout=5)
    answer.raise_for_status()
    return str(answer.json()["code"]).split(":")[3]


def run(quick: bool) -> list[Figure]:
    repeat = 10 if quick else 60
    scans = 5 if quick else 20
    base = load_settings(environ={})
    sim = start_platform_sim("127.0.0.1", 0, base.platform.secret)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-signin-") as data_dir:
            settings = base.model_copy(update={
                "gateway": base.gateway.model_copy(update={"port": 0, "data_dir": data_dir}),
                "platform": base.platform.model_copy(update={"url": sim.url})})
            gateway = start_gateway(settings)
            client = GatewayClient.for_settings(settings, gateway.url, timeout_s=10)
            direct = PlatformClient(sim.url, base.platform.secret, base.kiosk.id, timeout_s=10)
            try:
                return _measure(sim.url, client, direct, repeat, scans)
            finally:
                direct.close()
                client.close()
                gateway.close()
    finally:
        sim.close()


def _measure(sim_url: str, client: GatewayClient, direct: PlatformClient, repeat: int,
             scans: int) -> list[Figure]:
    def through_gateway() -> None:
        token = tokens.pop()
        # the measurement failed (not a TypeError: no caller passed a wrong type)
        if isinstance(redeem_signin(client, token), str):
            raise RuntimeError("the benchmark's sign-in code was refused")  # noqa: TRY004

    def straight() -> None:
        direct.redeem_signin(tokens.pop())

    tokens = [_token(sim_url) for _ in range(2 * repeat + 2)]
    through_gateway()  # warm up both connections
    straight()
    via = timed(through_gateway, repeat)
    bare = timed(straight, repeat)

    camera = SimulatedQrCamera()
    camera.use_platform(sim_url)

    def sign_in_scan() -> None:
        event = scan(flow.ScanQr("signin", 30.0), camera, redeem=lambda t: redeem_signin(client, t))
        # the measurement failed (not a TypeError: no caller passed a wrong type)
        if not isinstance(event, flow.CardRead):
            raise RuntimeError(f"the benchmark's sign-in scan failed: {event}")  # noqa: TRY004

    def progress_scan() -> None:
        camera.app.hold_up(progress_url(RECEIPT))
        # the measurement failed (not a TypeError: no caller passed a wrong type)
        if not isinstance(scan(flow.ScanQr("progress", 30.0), camera), flow.QrScanned):
            raise RuntimeError("the benchmark's progress code was not read")  # noqa: TRY004

    progress_scan()  # warm up OpenCV and segno
    signin_samples: list[float] = []
    for _ in range(scans):
        camera.app.hold_up(camera.app.signin_code())  # issued before the clock starts
        signin_samples += timed(sign_in_scan, 1)
    progress_samples = timed(progress_scan, scans)
    value, anchor = median(via), median(bare)
    scan_value, scan_anchor = median(signin_samples), median(progress_samples)
    return [
        Figure("QRSIGNIN", "App sign-in: token → resident, kiosk → gateway → platform (loopback)",
               round(value * 1000, 2), "ms", "informational", None,
               anchor="the same redemption sent straight to the platform simulator",
               anchor_value=round(anchor * 1000, 2), ratio=round(value / anchor, 2) if anchor else None,
               note=f"p95 {percentile(via, 95) * 1000:.2f} ms over {repeat} redemptions"),
        Figure("QRSIGNIN-scan", "App sign-in scan: code held up → CardRead (simulated QR camera, 640×480)",
               round(scan_value * 1000, 1), "ms", "informational", None,
               anchor="a progress link scanned from the same camera",
               anchor_value=round(scan_anchor * 1000, 1),
               ratio=round(scan_value / scan_anchor, 2) if scan_anchor else None,
               note=f"p95 {percentile(signin_samples, 95) * 1000:.1f} ms over {scans} scans"),
    ]
