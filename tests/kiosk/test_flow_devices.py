"""Items and the terminal's devices: an ID card reader that is not there (unplugged at boot, not
answering) pauses the items only an ID card can start, and nothing else."""

from __future__ import annotations

from kiosk import flow
from kiosk.catalog.loading import Catalog


def test_an_absent_id_reader_pauses_only_items_that_take_nothing_but_the_id_card(kiosk: flow.KioskFlow,
                                                                                catalog: Catalog) -> None:
    with_alternatives = next(i for i in catalog.items if i.identity == "id_card_face" and i.identity_alternatives)
    card_only = with_alternatives.model_copy(update={"identity_alternatives": ()})
    no_identity = next(i for i in catalog.items if i.identity == "none")
    assert kiosk.unavailable(card_only) == ""
    kiosk.handle(flow.DeviceStates({"id_reader": False}))
    assert kiosk.unavailable(card_only) == "unavail_id_reader"
    assert kiosk.unavailable(with_alternatives) == ""  # the social security card or the app QR still work
    assert kiosk.unavailable(no_identity) == ""
    kiosk.handle(flow.DeviceStates({"id_reader": True}))  # plugged in again
    assert kiosk.unavailable(card_only) == ""
