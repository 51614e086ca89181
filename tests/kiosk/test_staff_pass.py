"""``kiosk staff-pass``: the QR code a technician prints for a staff member reads back, through the
terminal's own QR reader (OpenCV), as that helper token's staff pass; anything else is refused."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import cv2

from devices.camera.qr import QrReader
from kiosk.qrcodes import StaffPass

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "kgw_1a2b3c4d.Zq3v9Xp0-LmN8tR4sW7yB2cD5fG6hJ1kL0pO9iU8yT7"


def run(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", "staff-pass", "--out", str(tmp_path / "pass.png")],
                          input=text + "\n", capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)


def test_the_pass_reads_back_as_the_helper_tokens_staff_pass(tmp_path: Path):
    result = run(tmp_path, TOKEN)
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout + result.stderr  # a key: never echoed
    png = tmp_path / "pass.png"
    assert stat.S_IMODE(png.stat().st_mode) == 0o600
    read = QrReader().decode(cv2.imread(str(png)))
    assert read is not None and read.verdict.payload == StaffPass(TOKEN)


def test_what_is_not_a_helper_token_makes_no_pass(tmp_path: Path):
    result = run(tmp_path, "not-a-token")
    assert result.returncode == 1 and "kgw_" in result.stderr and not (tmp_path / "pass.png").exists()
