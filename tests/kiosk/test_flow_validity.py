"""An expired identity document in the flow: read, shown as expired with its date, refused for the items that
need a valid one, against the date the terminal trusts — with no display and injected clocks."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from devices.id_card.identity import sample_cards, sample_expired_cards
from devices.smartcard.ssc import sample_cards as sample_ssc_cards
from kiosk import flow
from kiosk.flow import Screen
from kiosk.flow.identity import expired_since, valid_until
from kiosk.flow.journeys import needs_valid_document

PRINT_ITEM = "rs-sbjfzm"  # 社保参保缴费证明打印: id_card_face, or a social security card, or the app QR
QUERY_ITEM = "bdc-jd"  # 不动产登记办理进度查询: id_card or the app QR
APPOINTMENT_ITEM = "bdc-yy"  # 不动产登记业务预约: id_card or the app QR
TODAY = dt.date(2026, 12, 4)
# Everything the terminal would send the platform (or the camera) for an item.
OUTWARD = (flow.FetchDocument, flow.Submit, flow.RunQuery, flow.ListSlots, flow.BookSlot, flow.CaptureFace,
           flow.VerifyIdentity, flow.PrintReceipt)


class Calendar:
    """The terminal's trusted date, as a test sets it (None: neither the platform's nor a synced clock)."""

    def __init__(self, today: dt.date | None = TODAY) -> None:
        self.today = today

    def __call__(self) -> dt.date | None:
        return self.today


@pytest.fixture
def calendar() -> Calendar:
    return Calendar()


@pytest.fixture
def kiosk(catalog, clock, calendar) -> flow.KioskFlow:
    return flow.KioskFlow(catalog, clock, idle_timeout_s=90, warning_s=20, today=calendar)


def permit():
    return sample_expired_cards()[0]  # 港澳台居民居住证, valid to 2024-03-01


def outward(effects):
    return [e for e in effects if isinstance(e, OUTWARD)]


def to_card_prompt(kiosk, code=PRINT_ITEM):
    if kiosk.screen is Screen.ATTRACT:
        kiosk.handle(flow.Tapped("start"))
    kiosk.handle(flow.Tapped("browse:all"))
    kiosk.handle(flow.Tapped(f"detail:{code}"))
    effects = kiosk.handle(flow.Tapped("begin"))
    assert kiosk.screen is Screen.CARD_PROMPT
    return effects


def test_an_expired_permit_is_refused_with_its_date_and_nothing_goes_out(kiosk):
    to_card_prompt(kiosk)
    card = permit()
    effects = kiosk.handle(flow.CardRead(card))
    assert kiosk.screen is Screen.CARD_PROMPT
    view = kiosk.view()
    assert (view.expired_document, view.expired_on) == ("J", "2024-03-01")
    assert not outward(effects)
    # The refused card is not kept: wiped, and the session has no identity.
    assert kiosk.session.identity is None and card.name == "" and card.id_number == ""
    assert view.applicant_name == "" and view.applicant_id == ""
    # The other ways stay on offer: the app's code still starts the item.
    assert set(view.item_identity) >= {"social_security_card", "app_qr"}


@pytest.mark.parametrize("card", sample_expired_cards(), ids=lambda c: c.card_type)
def test_every_card_type_that_expired_is_refused_for_a_print_item(kiosk, card):
    to_card_prompt(kiosk)
    last = card.valid_to
    effects = kiosk.handle(flow.CardRead(card))
    assert kiosk.screen is Screen.CARD_PROMPT and not outward(effects)
    assert kiosk.view().expired_on == last.isoformat()


def test_an_expired_card_laid_at_attract_is_refused_when_the_item_begins(kiosk):
    kiosk.handle(flow.CardRead(permit()))
    assert kiosk.screen is Screen.HOME
    effects = kiosk.handle(flow.Tapped(f"item:{PRINT_ITEM}"))
    assert kiosk.screen is Screen.CARD_PROMPT and not outward(effects)
    assert kiosk.view().expired_document == "J"
    assert kiosk.session.identity is None


def test_a_valid_card_after_the_expired_one_goes_on_and_the_notice_goes(kiosk):
    to_card_prompt(kiosk)
    kiosk.handle(flow.CardRead(permit()))
    kiosk.handle(flow.CardRead(sample_cards()[1]))  # valid to 2035
    assert kiosk.screen is Screen.CONSENT
    assert kiosk.session.identity is not None and "expired" not in kiosk.session.extra


def test_choosing_another_way_clears_the_notice(kiosk):
    to_card_prompt(kiosk)
    kiosk.handle(flow.CardRead(permit()))
    kiosk.handle(flow.Tapped("use:social_security_card"))
    assert kiosk.view().expired_document == "" and kiosk.view().awaiting == "social_security_card"


def test_a_document_is_valid_through_its_last_day(kiosk, calendar):
    last = permit().valid_to
    assert last == dt.date(2024, 3, 1)
    calendar.today = last
    to_card_prompt(kiosk)
    kiosk.handle(flow.CardRead(permit()))
    assert kiosk.screen is Screen.CONSENT  # still valid on 2024-03-01
    kiosk.handle(flow.Tapped("exit"))
    calendar.today = last + dt.timedelta(days=1)
    to_card_prompt(kiosk)
    kiosk.handle(flow.CardRead(permit()))
    assert kiosk.screen is Screen.CARD_PROMPT and kiosk.view().expired_on == "2024-03-01"


def test_long_term_cards_never_expire(kiosk, calendar):
    calendar.today = dt.date(2199, 1, 1)
    card = sample_cards()[0]
    assert card.valid_to is None  # 长期
    to_card_prompt(kiosk)
    kiosk.handle(flow.CardRead(card))
    assert kiosk.screen is Screen.CONSENT


def test_without_a_trusted_date_nothing_is_refused_as_expired(kiosk, calendar):
    calendar.today = None  # clock not synchronised, platform date not known
    to_card_prompt(kiosk)
    kiosk.handle(flow.CardRead(permit()))
    assert kiosk.screen is Screen.CONSENT


@pytest.mark.parametrize("code", [QUERY_ITEM, APPOINTMENT_ITEM])
def test_queries_and_appointments_take_an_expired_card(kiosk, code):
    to_card_prompt(kiosk, code)
    effects = kiosk.handle(flow.CardRead(permit()))
    assert kiosk.screen is not Screen.CARD_PROMPT
    assert kiosk.screen in (Screen.CONFIRM, Screen.WORKING)
    if kiosk.screen is Screen.WORKING:
        assert [e for e in effects if isinstance(e, flow.ListSlots)]


def test_an_expired_social_security_card_is_refused_by_its_own_expiry(kiosk):
    card = dataclasses.replace(sample_ssc_cards()[0], expiry_date=dt.date(2025, 9, 30))
    to_card_prompt(kiosk)
    kiosk.handle(flow.Tapped("use:social_security_card"))
    effects = kiosk.handle(flow.CardRead(card, "social_security_card"))
    assert kiosk.screen is Screen.CARD_PROMPT and not outward(effects)
    view = kiosk.view()
    assert (view.expired_document, view.expired_on) == ("social_security_card", "2025-09-30")


def test_which_items_need_a_valid_document(catalog):
    """apply, print and certification items bound to a person do; guides, public queries, the holder's own
    queries and appointments do not."""
    by_kind: dict[str, set[bool]] = {}
    for item in catalog.items:
        if not item.renews_identity_document:
            by_kind.setdefault(item.kind, set()).add(needs_valid_document(item))
    assert by_kind["print"] == {True} and by_kind["apply"] == {True} and by_kind["certification"] == {True}
    assert by_kind["guide"] == {False} and by_kind["query"] == {False} and by_kind["appointment"] == {False}


def test_expiry_is_read_from_any_identity_that_carries_one():
    assert valid_until(permit()) == dt.date(2024, 3, 1)
    assert valid_until(sample_ssc_cards()[0]) == sample_ssc_cards()[0].expiry_date
    assert valid_until(sample_cards()[0]) is None  # 长期
    assert expired_since(permit(), TODAY) == dt.date(2024, 3, 1)
    assert expired_since(permit(), None) is None
    assert expired_since(sample_cards()[1], TODAY) is None
    assert permit().expired_on(TODAY) and not sample_cards()[0].expired_on(dt.date(2199, 1, 1))


def test_the_renewal_of_an_expired_resident_card_takes_that_card(kiosk):
    """居民身份证到期换领 exists for the expired card: it goes on to the form with the card's holder filled in,
    where any other apply item refuses the same card."""
    resident = sample_expired_cards()[1]  # a resident ID card, valid to 2025-06-01
    assert resident.expired_on(TODAY)
    to_card_prompt(kiosk, "ga-sfzhl")
    kiosk.handle(flow.CardRead(resident))
    assert kiosk.screen is Screen.CONSENT  # the face check's consent, next step of an id_card_face item
    assert kiosk.session.identity is resident
    catalog_items = {i.code: i for i in kiosk.catalog.items}
    assert [c for c, i in catalog_items.items() if i.renews_identity_document] == ["ga-sfzhl"]
