"""``kiosk demo --journey exempt``: the 免申即办 notice after the card, then the exempt item's status and
its decision printed, played headless in its own process against the platform simulator."""

from __future__ import annotations

from pathlib import Path

from test_demo import run_journey_subprocess

from devices.id_card.identity import sample_cards
from local_api.sim.benefits import GRANTED
from local_api.sim.services import id_hash


def test_exempt_journey_shows_the_notice_then_the_status_and_prints_the_decision(tmp_path: Path):
    summary = run_journey_subprocess(tmp_path, "exempt")
    screens = [name.split("-", 1)[1].removesuffix(".png") for name in summary["screens"]]
    assert screens[:3] == ["attract", "home", "exempt"]  # the notice right after the card
    granted = GRANTED[id_hash(sample_cards()[2].id_number)]
    seen = summary["seen"]
    assert [(status, day) for _, status, day in seen["notice"]] == [(b["status"], b["granted_on"]) for b in granted]
    assert seen["item"] == granted[0]["item_code"] and not seen["offers_application"]  # 无需申请
    assert seen["status"] == ["granted"] and summary["printed"] and summary["session_wiped"]
    assert "form" not in screens and "materials" not in screens  # no application was made
