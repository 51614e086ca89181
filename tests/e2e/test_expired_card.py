"""An expired residence permit through the real stack: ``kiosk run --headless`` (platform simulator, gateway,
app) with the ID card reader simulator on a pty, as a serial reader is attached on a terminal.

The resident lays a 港澳台居民居住证 that expired months ago for a print item: the card is read, the screen
says it expired and when, where to renew it and which other ways remain, and nothing about the item
reaches the platform. The date it is checked against is the platform's (the simulator's ``Date``
header, passed on by the gateway), so the test does not depend on this machine's clock being synced.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterator

import pytest
from kiosk_rig import Finger, Kiosk, wait_for

from devices.id_card.identity import sample_cards, sample_expired_cards
from devices.id_card.simulator import IdReaderSimulator

pytestmark = pytest.mark.timeout(300)

ITEM = "rs-sbjfzm"  # 社保参保缴费证明打印 (print): 身份证+人脸, a social security card or the app's code
# Everything a print item sends the platform once the resident is identified.
ITEM_CALLS = ("/v1/documents", "/v1/identity/verify", "/v1/applications")


@pytest.fixture(scope="module")
def reader() -> Iterator[IdReaderSimulator]:
    sim = IdReaderSimulator().start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory, reader: IdReaderSimulator) -> Iterator[Kiosk]:
    rig = Kiosk(tmp_path_factory.mktemp("e2e-expired"), KIOSK_DEVICES__ID_READER=reader.port).start()
    try:
        # The app has the platform's date once a heartbeat answer carried it (the app logs it once).
        wait_for(lambda: "the platform's date is known" in rig.log(), 60, "the app to hear the platform's date")
        yield rig
    finally:
        rig.stop()


def expired_months_ago() -> object:
    """The TEST residence permit, its validity ended four months before today."""
    card = sample_expired_cards()[0]
    last = dt.date.today() - dt.timedelta(days=120)
    return dataclasses.replace(card, valid_from=last.replace(year=last.year - 5), valid_to=last)


def to_card_prompt(f: Finger) -> None:
    f.tap("start")
    f.wait_for("home")
    f.tap(f"item:{ITEM}")
    f.wait_for("card_prompt")


def calls(kiosk: Kiosk) -> list[str]:
    return [c["path"] for c in kiosk.received()["calls"]]


def test_an_expired_permit_is_shown_as_expired_and_nothing_reaches_the_platform(kiosk: Kiosk,
                                                                                  reader: IdReaderSimulator) -> None:
    f = kiosk.finger
    to_card_prompt(f)
    before = len(calls(kiosk))
    card = expired_months_ago()
    reader.insert(card)  # laid on the pad
    look = f.wait_view(lambda v: v.get("expired_document"), "the expired notice", 20)
    assert look["screen"] == "card_prompt"
    assert look["expired_document"] == "J" and look["expired_on"] == card.valid_to.isoformat()
    assert look["applicant_name"] == "" and look["applicant_id"] == ""  # the refused card is not kept
    targets = {b["target"] for b in f.look()["buttons"]}
    assert {"use:social_security_card", "use:app_qr"} <= targets  # the other ways stay on offer
    time.sleep(3)  # a refused card must not start anything a moment later either
    assert f.screen() == "card_prompt"
    reader.remove()
    sent = calls(kiosk)[before:]
    assert not [path for path in sent if path.startswith(ITEM_CALLS)], sent
    assert not [a for a in kiosk.received()["applications"] if a.get("item_code") == ITEM]

    # The same reader and item with a valid card go on at once: the refusal was the date, nothing else.
    time.sleep(1)
    reader.insert(sample_cards()[1])  # valid to 2035
    wait_for(lambda: f.screen() != "card_prompt", 20, "a valid card to be taken")
    reader.remove()
    assert f.view().get("expired_document", "") == ""
    f.tap("exit")
    f.wait_for("attract", 30)
    assert "identity documents are checked against the platform's date" in kiosk.log()

