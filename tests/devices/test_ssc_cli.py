"""``kiosk devices read-ssc`` as a technician runs it (a real process against the private pcscd),
and reader discovery for ``kiosk devices list``, with and without pcscd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devices.smartcard.discovery import list_readers
from devices.smartcard.pcsc import PcscServiceUnavailable
from devices.smartcard.pcscd_env import PcscdEnvironment
from devices.smartcard.ssc import sample_cards

ROOT = Path(__file__).resolve().parents[2]
SLOT1 = "Kiosk Virtual PCD 00 01"


def _kiosk(env: PcscdEnvironment, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from kiosk.cli import main; sys.exit(main())",
         "devices", "read-ssc", "--reader", SLOT1, *args],
        cwd=ROOT, env={**os.environ, **env.client_env()}, capture_output=True, text=True, timeout=timeout,
        check=False)


def test_read_ssc_prints_masked_fields_by_default(pcscd: PcscdEnvironment, make_card) -> None:
    make_card(sample_cards()[0], slot=1).insert()
    out = _kiosk(pcscd, "--timeout", "20")
    assert out.returncode == 0, out.stderr
    assert "1101**********002X" in out.stdout and "张*" in out.stdout and "A******01" in out.stdout
    assert "11010519491231002X" not in out.stdout + out.stderr and "张三" not in out.stdout + out.stderr


def test_read_ssc_reveal_and_json(pcscd: PcscdEnvironment, make_card) -> None:
    make_card(sample_cards()[1], slot=1).insert()
    out = _kiosk(pcscd, "--json", "--reveal", "--timeout", "20")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["ok"] is True and data["masked"] is False
    assert data["card"]["social_security_number"] == "350205198506150030"
    assert data["card"]["name"] == "李四" and data["card"]["birth_date"] == "1985-06-15"


def test_read_ssc_of_a_bank_card_says_so(pcscd: PcscdEnvironment, make_card) -> None:
    make_card(kind="bank", slot=1).insert()
    out = _kiosk(pcscd, "--json", "--timeout", "20")
    assert out.returncode == 1
    data = json.loads(out.stdout)
    assert data["ok"] is False and data["kind"] == "NotSocialSecurityCard"
    assert "not a social security card" in data["error"]


def test_read_ssc_without_a_card_times_out_plainly(pcscd: PcscdEnvironment) -> None:
    out = _kiosk(pcscd, "--timeout", "0.5")
    assert out.returncode == 1
    assert f"no card was inserted into {SLOT1} within 0.5 s" in out.stderr


def test_readers_are_listed_with_card_presence(pcscd: PcscdEnvironment, make_card) -> None:
    make_card(slot=1).insert()
    names = pcscd.reader_names()
    for _ in range(200):  # vpcd sees the card at pcscd's next presence poll
        readers = {r["name"]: r for r in list_readers()}
        if readers[names[1]]["card_present"]:
            break
        time.sleep(0.05)
    assert readers[names[1]] == {"name": names[1], "kind": "pcsc", "card_present": True, "state": "card"}
    assert readers[names[0]]["state"] == "empty"


def test_without_pcscd_listing_and_reading_say_what_to_do(pcscd: PcscdEnvironment) -> None:
    pcscd.kill_pcscd()
    with pytest.raises(PcscServiceUnavailable,
                       match="cannot reach the PC/SC service pcscd.*systemctl start pcscd"):
        list_readers()
    out = _kiosk(pcscd, "--timeout", "1")
    assert out.returncode == 1
    assert "cannot reach the PC/SC service pcscd" in out.stderr and "Traceback" not in out.stderr
