"""QR payload formats (kiosk/qrcodes.py) and QR reading from generated videos through the camera adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.camera import Camera, QrRead, QrReader
from devices.camera.simulate import qr_scene, write_video
from kiosk.crypto import SigningKey
from kiosk.qrcodes import (
    ProgressLookup,
    SignIn,
    inspect_payload,
    is_receipt_no,
    parse_payload,
    progress_url,
    signin_payload,
)

RECEIPT = "HC-DEMO-001-20261121-000001"
NOW = 1_795_000_000  # a fixed Unix time for expiry checks
TOKEN = "q3Zx8kP0sLmN2vB7tR5wYc"


@pytest.fixture
def platform_key(crypto_suite: str) -> SigningKey:
    """The platform's sign-in key: Ed25519, then SM2 (the ``crypto_suite`` fixture runs both)."""
    return SigningKey.generate(crypto_suite)


# -- formats ---------------------------------------------------------------------------------


def test_progress_link_round_trips() -> None:
    url = progress_url(RECEIPT)
    assert url == "https://zwfw.example.gov.cn/progress?no=HC-DEMO-001-20261121-000001"
    assert parse_payload(url) == ProgressLookup(RECEIPT)
    assert is_receipt_no("HC-XY.001-20250601-123456")
    with pytest.raises(ValueError, match="not a receipt number"):
        progress_url("HC-DEMO-001-2026112-1")


@pytest.mark.parametrize("text, reason", [
    ("https://evil.example.com/progress?no=HC-DEMO-001-20261121-000001", "not a progress link"),
    ("http://zwfw.example.gov.cn/progress?no=HC-DEMO-001-20261121-000001", "not a progress link"),
    ("https://zwfw.example.gov.cn.evil.cn/progress?no=HC-DEMO-001-20261121-000001", "not a progress link"),
    ("https://user@zwfw.example.gov.cn/progress?no=HC-DEMO-001-20261121-000001", "not a progress link"),
    ("https://zwfw.example.gov.cn/pay?no=HC-DEMO-001-20261121-000001", "not a progress link"),
    ("https://zwfw.example.gov.cn/progress?no=HC-DEMO-001-20261121-000001&next=https://x", "damaged"),
    ("https://zwfw.example.gov.cn/progress?no=HC-DEMO-001-20261399-000001", "receipt number"),
    ("https://zwfw.example.gov.cn/progress?no=<script>", "receipt number"),
    ("WIFI:S:guest;T:WPA;P:secret;;", "not one of ours"),
    ("", "not one of ours"),
    ("x" * 2000, "not one of ours"),
])
def test_foreign_and_malformed_codes_are_refused_with_a_reason(text: str, reason: str) -> None:
    verdict = inspect_payload(text)
    assert not verdict.accepted and parse_payload(text) is None
    assert reason in verdict.reason
    assert "receipt" in verdict.reason or "ID card" in verdict.reason or "government app" in verdict.reason


def test_a_signed_sign_in_code_is_accepted(platform_key: SigningKey) -> None:
    text = signin_payload(TOKEN, NOW + 120, platform_key)
    assert text.startswith(f"mzt:signin:v1:{TOKEN}:{NOW + 120}:")
    payload = parse_payload(text, now=NOW, signin_key=platform_key.public)
    assert isinstance(payload, SignIn)
    assert payload.token == TOKEN and payload.expires_at == NOW + 120 and payload.signature_checked
    assert TOKEN not in repr(payload)  # a credential never reaches a log line


def test_sign_in_codes_that_must_be_refused(platform_key: SigningKey) -> None:
    key = platform_key.public
    good = signin_payload(TOKEN, NOW + 120, platform_key)
    cases = {
        "expired": (signin_payload(TOKEN, NOW - 1, platform_key), "expired"),
        "lives too long": (signin_payload(TOKEN, NOW + 86_400, platform_key), "too long"),
        "other issuer": (signin_payload(TOKEN, NOW + 120, SigningKey.generate(platform_key.suite)), "not issued by"),
        "other algorithm": (signin_payload(TOKEN, NOW + 120, SigningKey.generate(
            "sm" if platform_key.suite == "intl" else "intl")), "not issued by"),
        "token changed": (good.replace(TOKEN, TOKEN[::-1]), "not issued by"),
        "cut short": (good.rsplit(":", 1)[0], "damaged"),
        "bad token": (good.replace(TOKEN, "short"), "damaged"),
        "newer version": (good.replace(":v1:", ":v9:"), "version"),
    }
    for name, (text, reason) in cases.items():
        verdict = inspect_payload(text, now=NOW, signin_key=key)
        assert not verdict.accepted, name
        assert reason in verdict.reason, (name, verdict.reason)


def test_without_a_key_only_the_shape_is_checked(platform_key: SigningKey) -> None:
    payload = parse_payload(signin_payload(TOKEN, NOW + 60, SigningKey.generate(platform_key.suite)), now=NOW)
    assert isinstance(payload, SignIn) and not payload.signature_checked


# -- from the camera -------------------------------------------------------------------------


def read_code(path: Path, reader: QrReader, frames: int = 40) -> QrRead | None:
    with Camera(str(path), stall_timeout_s=5.0) as cam:
        seq = 0
        for _ in range(frames):
            frame = cam.wait_frame(after=seq, timeout=5)
            seq = frame.seq
            read = reader.decode(frame.image)
            if read is not None:
                return read
    return None


def test_a_receipt_code_held_to_the_camera_is_read(tmp_path: Path) -> None:
    path = write_video(tmp_path / "qr.avi", qr_scene(progress_url(RECEIPT)), count=25)
    read = read_code(path, QrReader())
    assert read is not None and read.accepted
    assert read.verdict.payload == ProgressLookup(RECEIPT)
    assert len(read.corners) == 4
    xs = [x for x, _ in read.corners]
    assert 150 < min(xs) and max(xs) < 490  # the code is where the phone is: mid-frame


def test_a_sign_in_code_from_the_app_is_read_and_verified(tmp_path: Path,
                                                          platform_key: SigningKey) -> None:
    import time

    text = signin_payload(TOKEN, int(time.time()) + 300, platform_key)
    path = write_video(tmp_path / "signin.avi", qr_scene(text, module_px=5), count=25)
    read = read_code(path, QrReader(signin_key=platform_key.public))
    assert read is not None and read.accepted, read and read.verdict.reason
    assert isinstance(read.verdict.payload, SignIn) and read.verdict.payload.signature_checked
    assert TOKEN not in repr(read)


def test_a_foreign_code_is_seen_but_refused(tmp_path: Path) -> None:
    path = write_video(tmp_path / "foreign.avi", qr_scene("https://pay.example.com/scan?id=42"), count=25)
    read = read_code(path, QrReader())
    assert read is not None and not read.accepted
    assert "not a progress link" in read.verdict.reason


def test_a_code_in_view_is_reported_once_until_shown_again(tmp_path: Path) -> None:
    from devices.camera.simulate import frames

    scene = qr_scene(progress_url(RECEIPT), tilt_deg=0)
    reader = QrReader(repeat_after_s=3.0)
    reads = [reader.scan(frame, now=i * 0.04) for i, frame in enumerate(frames(scene, 10))]
    assert sum(r is not None for r in reads) == 1
    assert reader.scan(scene(11), now=10.0) is not None  # out of view for long enough: a new showing
