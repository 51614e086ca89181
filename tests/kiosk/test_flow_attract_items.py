"""The attract screen's most used items (issue 24): a touch on one starts a session and opens the item,
as the same touch on home does; any other touch still goes home."""

from __future__ import annotations

from kiosk import flow
from kiosk.flow import Screen


def test_a_most_used_item_on_the_attract_screen_opens_it(kiosk: flow.KioskFlow):
    assert kiosk.screen is Screen.ATTRACT
    code = kiosk.view().items[0][0]
    kiosk.handle(flow.Tapped(f"item:{code}"))
    assert kiosk.session is not None
    assert kiosk.screen is not Screen.HOME and kiosk.view().item_name  # the item, asking what it needs
    assert kiosk.session.item is not None and kiosk.session.item.code == code


def test_start_still_goes_home(kiosk: flow.KioskFlow):
    kiosk.handle(flow.Tapped("start"))
    assert kiosk.screen is Screen.HOME
