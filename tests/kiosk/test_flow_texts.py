"""What the journey tells the resident is true for them: their language to the end, only slots still
ahead, a certification's success and next due date."""

from __future__ import annotations

from datetime import date, datetime

from devices.id_card.identity import sample_cards
from kiosk import flow
from kiosk.flow import Screen
from kiosk.flow.journeys import bookable, next_due


def of(effects, kind):
    return [e for e in effects if isinstance(e, kind)]


def printed_and_done(kiosk):
    kiosk.handle(flow.CardRead(sample_cards()[0]))
    kiosk.handle(flow.Tapped("item:rs-sbjfzm"))
    kiosk.handle(flow.Tapped("consent"))
    kiosk.handle(flow.FaceCaptured(b"\xff\xd8face", True))
    kiosk.handle(flow.IdentityChecked(True))
    kiosk.handle(flow.DocumentFetched({"rows": []}))
    effects = kiosk.handle(flow.SubmissionAccepted("HC-DEMO-001-20261121-123456-0001"))
    kiosk.handle(flow.PrintFinished(of(effects, flow.PrintReceipt)[0].job_id, True))
    assert kiosk.screen is Screen.DONE


def test_the_language_and_elder_mode_hold_until_the_attract_screen(kiosk, clock):
    kiosk.handle(flow.Tapped("lang:en"))
    kiosk.handle(flow.Tapped("elder"))
    printed_and_done(kiosk)
    kiosk.handle(flow.Tapped("rate:1"))
    assert kiosk.screen is Screen.THANKS and kiosk.session is None  # wiped, yet still the resident's notice
    assert kiosk.view().language == "en" and kiosk.view().elder
    clock.now += kiosk.BRIEF_S
    kiosk.handle(flow.Tick())
    assert kiosk.screen is Screen.ATTRACT and kiosk.view().language == "zh_CN" and not kiosk.view().elder


def test_the_timeout_notice_is_in_the_sessions_language(kiosk, clock):
    kiosk.handle(flow.Tapped("lang:zh_TW"))
    kiosk.handle(flow.Tapped("start"))
    clock.now += 1000
    kiosk.handle(flow.Tick())
    kiosk.handle(flow.Tick())
    assert kiosk.screen is Screen.TIMEOUT and kiosk.view().language == "zh_TW"
    kiosk.handle(flow.Tapped("home"))
    assert kiosk.screen is Screen.ATTRACT and kiosk.view().language == "zh_CN"


SLOTS = [{"slot_id": f"s{i}", "date": d, "time": t, "available": 2}
         for i, (d, t) in enumerate([("2026-11-20", "16:30"), ("2026-11-23", "09:00"), ("2026-11-23", "16:30"),
                                     ("2026-11-24", "09:00"), ("bad", "09:00")])]


def test_past_and_too_soon_slots_are_never_offered():
    at_1648 = datetime(2026, 11, 23, 16, 48)
    assert [x["slot_id"] for x in bookable(SLOTS, at_1648, 0)] == ["s3"]  # 09:00 and 16:30 today are gone
    at_1600 = datetime(2026, 11, 23, 16, 0)
    assert [x["slot_id"] for x in bookable(SLOTS, at_1600, 0)] == ["s2", "s3"]
    assert [x["slot_id"] for x in bookable(SLOTS, at_1600, 60)] == ["s3"]  # the item's lead time


def test_the_slots_screen_shows_weekdays_and_refuses_a_slot_that_passed(catalog, clock):
    now = [datetime(2026, 11, 23, 8, 0)]
    kiosk = flow.KioskFlow(catalog, clock, wall_clock=lambda: now[0])
    item = next(i for i in catalog.items if i.kind == "appointment" and i.identity == "id_card")
    kiosk.handle(flow.CardRead(sample_cards()[0]))
    kiosk.handle(flow.Tapped("browse:all"))
    kiosk.handle(flow.Tapped(f"detail:{item.code}"))
    kiosk.handle(flow.Tapped("begin"))
    kiosk.handle(flow.SlotsListed(SLOTS))
    labels = {slot_id: label for slot_id, label, _ in kiosk.view().slots}
    assert labels == {"s1": "11月23日 周一 09:00", "s2": "11月23日 周一 16:30", "s3": "11月24日 周二 09:00"}
    kiosk.handle(flow.Tapped("lang:en"))
    assert kiosk.view().slots[0][1] == "Mon 23 Nov 09:00"
    now[0] = datetime(2026, 11, 23, 8, 30)  # the resident lingered: 09:00 is now inside the lead time
    assert kiosk.handle(flow.Tapped("slot:s1")) == [] and kiosk.screen is Screen.SLOTS
    assert of(kiosk.handle(flow.Tapped("slot:s3")), flow.BookSlot)


def test_a_certification_says_it_succeeded_and_when_the_next_is_due(kiosk, catalog):
    item = catalog.get("rs-ylrz")
    kiosk.handle(flow.CardRead(sample_cards()[0]))
    kiosk.handle(flow.Tapped("browse:all"))
    kiosk.handle(flow.Tapped(f"detail:{item.code}"))
    kiosk.handle(flow.Tapped("begin"))
    kiosk.handle(flow.Tapped("consent"))
    kiosk.handle(flow.FaceCaptured(b"\xff\xd8face", True))
    kiosk.handle(flow.IdentityChecked(True))
    kiosk.handle(flow.Tapped("confirm"))
    effects = kiosk.handle(flow.SubmissionAccepted("HC-DEMO-001-20261121-123456-0002"))
    job = of(effects, flow.PrintReceipt)[0]
    assert job.content["kind"] == "certification" and job.content["next_due"] == "2027-11-21"
    kiosk.handle(flow.PrintFinished(job.job_id, True))
    view = kiosk.view()
    assert view.screen == "done" and view.item_kind == "certification" and view.next_due == "2027-11-21"


def test_next_due_keeps_the_day_or_takes_the_months_last():
    assert next_due(date(2026, 11, 21)) == date(2027, 11, 21)
    assert next_due(date(2028, 2, 29)) == date(2029, 2, 28)
    assert next_due(date(2026, 3, 31), 11) == date(2027, 2, 28)
