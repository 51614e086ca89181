"""`kiosk demo`: the scripted resident journey through the real flow, simulators and gateway."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pygame
import pytest

from devices.id_card.identity import sample_cards


def test_demo_journey_prints_delivers_rates_and_forgets(tmp_path: Path):
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "kiosk", "demo", "--out", str(out)], check=False, capture_output=True,
                            text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "SDL_VIDEODRIVER": "dummy",
                                                         "SDL_AUDIODRIVER": "dummy", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["receipt_no"].startswith("HC-DEMO-001-")
    assert summary["platform_holds_receipt"] and summary["delivered"] and summary["printed"]
    assert summary["session_wiped"]
    assert summary["touches"] <= 4  # TARGETS P10
    assert summary["visual_language_problems"] == {}  # every screen on the type scale, named controls with icons
    screens = [name.split("-", 1)[1].removesuffix(".png") for name in summary["screens"]]
    assert screens[0] == "attract" and screens[-1] == "thanks"
    # 人证比对: the consent screen (同意并打印 carries the confirm), the face check, then the print.
    assert {"home", "consent", "working", "printing", "done"} <= set(screens)
    assert screens.index("consent") < screens.index("printing")
    assert summary["seen"]["face_verified"]
    assert "alt:social_security_card" in summary["seen"]["non_biometric_offered"]  # never face-only
    for name in summary["screens"]:
        image = pygame.image.load(str(out / name))
        assert image.get_size() == (1080, 1920)
        colours = {image.get_at((x, y))[:3] for x in range(0, 1080, 12) for y in range(0, 1920, 12)}
        assert len(colours) > 5, f"{name} looks blank"
    receipt = pygame.image.load(str(out / "receipt.png"))
    assert receipt.get_width() == 576
    # Nothing the resident's card holds in full ends up in the logs or the summary.
    card = sample_cards()[0]
    for text in (result.stdout, result.stderr, (out / "summary.json").read_text(encoding="utf-8")):
        assert card.id_number not in text and card.name not in text


def run_journey_subprocess(tmp_path: Path, journey: str) -> dict:
    out = tmp_path / journey
    result = subprocess.run([sys.executable, "-m", "screens.demo", "--out", str(out), "--journey", journey],
                            check=False, capture_output=True, text=True, timeout=180,
                            env={"PATH": "/usr/bin:/bin", "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
                                 "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    card = sample_cards()[0]
    for text in (result.stdout, result.stderr):
        assert card.id_number not in text and card.name not in text
    summary: dict = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    # Every screen the journey showed in the visual language (issue 24): type scale, icons on named controls.
    assert summary["visual_language_problems"] == {}, summary["visual_language_problems"]
    return summary


def test_apply_journey_fills_the_form_from_the_card_takes_pages_and_is_delivered(tmp_path: Path):
    summary = run_journey_subprocess(tmp_path, "apply")
    screens = [name.split("-", 1)[1].removesuffix(".png") for name in summary["screens"]]
    assert ["form", "materials", "review"] == [s for s in screens if s in ("form", "materials", "review")]
    assert summary["seen"]["prefilled_fields"] >= 1
    assert summary["delivered"] and summary["platform_holds_receipt"] and summary["session_wiped"]
    received = summary["platform_received"]  # the far end: every confirmed page arrived
    assert summary["seen"]["pages_confirmed"] >= 1
    assert received["materials"] == summary["seen"]["pages_confirmed"] and received["deliveries"] == 1
    assert received["kind"] == "application" and received["item_code"] == summary["seen"]["item"]
    assert received["fields"]  # field names only: no personal values in summary.json


def test_payment_journey_pays_at_the_platform_and_ends_with_a_paid_receipt(tmp_path: Path):
    summary = run_journey_subprocess(tmp_path, "payment")
    screens = [name.split("-", 1)[1].removesuffix(".png") for name in summary["screens"]]
    assert screens.index("review") < screens.index("payment") < screens.index("payment-qr") < screens.index("done")
    seen = summary["seen"]
    assert seen["amount"] == "¥120.00" and seen["amount_words"] == "一百二十元整" and seen["paid_text"] == "¥120.00"
    assert seen["bill_no"] and summary["printed"] and summary["receipt_png"]
    assert summary["delivered"] and summary["platform_received"]["deliveries"] == 1
    assert summary["platform_received"]["item_code"] == "ga-hzsl" and summary["session_wiped"]


def test_offline_apply_journey_is_accepted_and_receipted_while_the_platform_is_down(tmp_path: Path):
    summary = run_journey_subprocess(tmp_path, "offline_apply")
    screens = [name.split("-", 1)[1].removesuffix(".png") for name in summary["screens"]]
    assert "error" not in screens and "form" in screens and "review" in screens
    assert summary["receipt_no"] and summary["printed"]  # the resident leaves with a receipt number
    assert not summary["platform_holds_receipt"] and summary["session_wiped"]  # queued, to go when it is back


def test_certification_journey_offers_a_non_biometric_way_and_verifies_the_face(tmp_path: Path):
    summary = run_journey_subprocess(tmp_path, "certification")
    assert summary["seen"]["non_biometric_offered"]  # A5
    assert "consent" in " ".join(summary["screens"]) and summary["delivered"]


def test_timeout_journey_warns_then_wipes(tmp_path: Path):
    summary = run_journey_subprocess(tmp_path, "timeout")
    assert any("warning" in s for s in summary["screens"]) and summary["screens"][-1].endswith("timeout.png")
    assert summary["session_wiped"]


def test_progress_journey_scans_the_receipt_it_just_printed(tmp_path: Path):
    summary = run_journey_subprocess(tmp_path, "progress")
    screens = [name.split("-", 1)[1].removesuffix(".png") for name in summary["screens"]]
    assert screens.index("scan") > screens.index("printing")  # the receipt came first, then the lookup
    assert "progress_result" in screens and summary["session_wiped"]
    assert summary["seen"]["looked_up"] == summary["receipt_no"] and summary["seen"]["steps"] >= 1
    assert summary["delivered"] and not summary["seen"]["reason"]


def test_card_pulled_journey_ends_and_wipes_the_session_or_says_why_it_cannot_run(tmp_path: Path):
    from devices.smartcard.pcscd_env import missing_prerequisites

    out = tmp_path / "card_pulled"
    result = subprocess.run([sys.executable, "-m", "screens.demo", "--out", str(out), "--journey", "card_pulled"],
                            check=False, capture_output=True, text=True, timeout=180,
                            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SDL_VIDEODRIVER": "dummy",
                                 "SDL_AUDIODRIVER": "dummy", "HOME": str(tmp_path)})
    if missing_prerequisites():
        assert result.returncode == 2 and "private pcscd" in result.stderr
        return
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    screens = [name.split("-", 1)[1].removesuffix(".png") for name in summary["screens"]]
    assert "form" in screens and screens[-1] == "card-pulled"
    assert summary["seen"]["notice"] == "notice_card_pulled" and summary["session_wiped"]


def test_app_qr_journey_signs_in_with_codes_the_platform_issued_and_redeemed(tmp_path: Path):
    summary = run_journey_subprocess(tmp_path, "app_qr")
    seen = summary["seen"]
    assert seen["refused_first"] == "qr_signin_expired" and seen["identity_source"] == "app_qr"
    assert seen["codes_issued_by_platform"] == 2 and seen["codes_redeemed_by_platform"] == 1
    assert summary["delivered"] and summary["platform_holds_receipt"] and summary["session_wiped"]
    person = sample_cards()[1]  # the simulator's TEST resident the app signed in
    assert person.id_number not in (tmp_path / "app_qr" / "summary.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("language", ["en", "zh_TW"])
def test_the_thanks_screen_keeps_the_sessions_language(tmp_path: Path, language: str):
    """A foreign or Taiwanese resident is thanked, and reminded to take their card, in their language."""
    from screens.i18n import messages

    summary = run_journey_subprocess(tmp_path, language)
    said = summary["seen"]["thanks_text"]
    table = messages()
    assert summary["seen"]["thanks_language"] == language
    assert table.text(language, "thanks_hint") in said and table.text(language, "thanks_title") in said
    assert table.text("zh_CN", "thanks_hint") not in said and said != table.text("zh_CN", "thanks_title")


def test_assisted_journey_names_the_staff_member_as_agent_at_the_platform(tmp_path: Path):
    summary = run_journey_subprocess(tmp_path, "assisted")
    seen = summary["seen"]
    assert seen["staff_no"] == "0427" and seen["agent_at_platform"] == "0427"
    assert seen["consent_at_platform"] == "on_screen" and seen["staff_session_ended"]
    assert summary["delivered"] and summary["platform_holds_receipt"] and summary["printed"]
    assert "assisted_consent" in " ".join(summary["screens"])
    assert sample_cards()[0].id_number not in (tmp_path / "assisted" / "summary.json").read_text(encoding="utf-8")
def test_bundle_birth_journey_is_one_identity_one_form_and_one_receipt_with_every_item(tmp_path: Path):
    """出生一件事 (kiosk demo --journey bundle_birth): every item received with its own number."""
    summary = run_journey_subprocess(tmp_path, "bundle_birth")
    seen = summary["seen"]
    assert seen["items"] == ["wj-sydj", "ga-csdj", "yb-xsecb", "rs-sbkbl", "yb-syfy"]
    assert set(seen["states"].values()) == {"accepted"} and summary["printed"] and seen["face_verified"]
    assert summary["receipt_no"] in seen["receipts"].values() and summary["platform_holds_receipt"]
    assert len(set(seen["receipts"].values())) == 5
    assert len(seen["fields_asked"]) == len(set(seen["fields_asked"]))
    screens = [name.split("-", 1)[1].removesuffix(".png") for name in summary["screens"]]
    assert screens.count("consent") == 1 and screens.count("form") == 1  # identity once, one form
    assert {"bundle", "bundle_review", "bundle_result"} <= set(screens)


def test_remote_help_journey_is_guided_by_the_desk_and_ended_by_the_resident(tmp_path: Path):
    """`kiosk demo --journey remote_help` (issue 21): the desk accepts, the resident consents, the
    highlight reaches the desk in a kiosk frame, the message shows, the resident ends the help."""
    summary = run_journey_subprocess(tmp_path, "remote_help")
    screens = [name.split("-", 1)[1].removesuffix(".png") for name in summary["screens"]]
    assert screens.index("desk-asks-consent") < screens.index("desk-points") < screens.index("help-ended")
    seen = summary["seen"]
    assert seen["help_no"].startswith("HC-") and seen["staff"] == "0427" and len(seen["point_ms"]) == 1
    said = (tmp_path / "remote_help" / "transcript.txt").read_text(encoding="utf-8")
    assert "工号 0427" in said and "请点击屏幕上闪动的圆圈处" in said and seen["help_no"] in said
