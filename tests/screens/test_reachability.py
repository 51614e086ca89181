"""Every resident reaches every entry and finishes every form, in every mode and language (issue 19).

A resident who only touches (tests/screens/resident.py: the real flow and renderer, touches at the
centre of what the last frame drew) walks, for standard and elder mode × 简体, 繁體 and English:

- from the home screen to every department, theme and 一件事 bundle, every page of each list, and every
  one of the 301 items' detail; 全部事项 lists all of them too;
- every apply item's form: every field found (turning pages), typed on the on-screen keyboard or the
  date picker, or chosen, 下一步 to the materials, each taken, and 提交 on the review.

Every frame drawn on the way is checked for clipped or covered text and controls
(tests/screens/layout_check.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from resident import Resident

from devices.id_card.identity import sample_cards
from devices.smartcard.ssc import sample_cards as sample_social_security_cards
from kiosk import flow
from kiosk.catalog.loading import Catalog, ServiceItem
from kiosk.flow import journeys
from screens.i18n import LANGUAGES

MODES = [pytest.param(False, id="standard"), pytest.param(True, id="elder")]



@pytest.fixture(scope="module")
def catalog():
    return Catalog.load()


def all_on_pages(r: Resident, prefix: str) -> list[str]:
    return [t for page in r.pages() for t in page if t.startswith(prefix)]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("elder", MODES)
def test_every_department_theme_bundle_and_item_is_reached_by_touches(surface, catalog, language, elder):
    r = Resident(surface, catalog)
    r.start(language, elder)
    r.touch("browse:departments")
    departments = all_on_pages(r, "dept:")
    assert sorted(departments) == sorted(f"dept:{code}" for code in catalog.departments)
    reached: set[str] = set()
    for target in departments:
        assert r.find(target), target
        r.touch(target)
        assert r.screen == "list"
        listed = all_on_pages(r, "detail:")
        assert sorted(listed) == sorted(f"detail:{i.code}" for i in catalog.in_department(target[5:])), target
        r.first_page()
        for detail in listed:
            assert r.find(detail), detail
            r.touch(detail)
            view = r.view()
            assert r.screen == "detail" and view.item_code == detail[7:], detail
            # 免申即办: no application to begin; its status instead (test_screens_exempt.py)
            assert ("exempt:status" if view.item_exempt else "begin") in r.targets() or view.item_unavailable, detail
            reached.add(view.item_code)
            r.touch("back")
            assert r.screen == "list"
        r.touch("back")
        assert r.screen == "categories"
    assert reached == {i.code for i in catalog.items}
    r.touch("back")
    r.touch("browse:themes")
    entries = all_on_pages(r, ("theme:", "bundle:"))
    assert sorted(entries) == sorted([f"theme:{c}" for c in catalog.themes] + [f"bundle:{c}" for c in catalog.bundles])
    for target in entries:
        assert r.find(target), target
        r.touch(target)
        kind, _, code = target.partition(":")
        items = catalog.in_theme(code) if kind == "theme" else catalog.bundle_items(code)
        assert sorted(all_on_pages(r, "detail:")) == sorted(f"detail:{i.code}" for i in items), target
        r.touch("back")
    r.touch("back")
    r.touch("browse:all")
    assert len(set(all_on_pages(r, "detail:"))) == len(catalog.items) == 301
    assert not r.problems, r.problems


# -- forms --------------------------------------------------------------------------------------

def valid_value(field) -> str:
    """A value the catalog's check accepts, for each field type."""
    match field.type:
        case "citizen_id":
            return "11010519491231002X"
        case "mobile":
            return "13950000000"
        case "bank_account":
            return "6222020200112233"
        case "social_credit_code":
            return "91350100M000100Y43"
        case "integer" | "amount":
            low = field.min_value if field.min_value is not None else Decimal(1)
            return str(int(max(low, Decimal(1))))
    raise AssertionError(field.type)


def identify(r: Resident, item: ServiceItem) -> None:
    """Past the card prompt and the face check, with the devices' events."""
    if r.screen == "card_prompt":
        accepted = journeys.sources(item)
        if "social_security_card" in accepted:
            r.event(flow.CardRead(sample_social_security_cards()[0], "social_security_card"))
        else:
            r.touch("use:app_qr")
            r.event(flow.CardRead(sample_cards()[0], "app_qr"))
    if r.screen == "consent":
        r.touch("consent")
        r.event(flow.FaceCaptured(b"\xff\xd8face", True))
        r.event(flow.IdentityChecked(True))
    assert r.screen == "form", (item.code, r.screen)


def fill(r: Resident, item: ServiceItem) -> None:
    for f in item.fields:
        if f.prefill:
            continue
        if f.type == "choice":
            target = f"choice:{f.key}:{f.choices[-1].value}"  # the last: all of them are shown
            assert r.find(target), (item.code, target)
            r.touch(target)
            continue
        assert r.find(f"field:{f.key}"), (item.code, f.key)
        r.touch(f"field:{f.key}")
        assert r.renderer.keyboard is not None and f"field:{f.key}" in r.targets()
        assert {"exit", "back", "next"} <= set(r.targets()), (item.code, f.key)  # the way out stays
        if f.type == "date":
            r.touch("date:year:-1")
            r.touch("date:done")
        elif f.type == "text":
            r.touch("key:a")
            r.touch("key:SPACE")  # the first candidate
            r.touch("kb:done")
        else:
            if "kb:layout:numeric" in r.targets():
                r.touch("kb:layout:numeric")
            value = valid_value(f)
            r.touch(f"key:{value[0]}")
            r.type_rest(value)
            r.touch("kb:done")
        assert r.renderer.keyboard is None, (item.code, f.key, r.renderer.keyboard)
        field = next(x for x in r.view().fields if x.key == f.key)
        assert field.value and not field.problem, (item.code, f.key, field)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("elder", MODES)
def test_every_apply_form_is_filled_and_submitted_by_touches(surface, catalog, language, elder):
    applies = [i for i in catalog.items if i.kind == "apply" and not i.exempt_from_application]  # 免申即办: none
    problems: dict[str, list[str]] = {}
    for item in applies:
        r = Resident(surface, catalog)
        r.start(language, elder)
        if "id_card" in journeys.sources(item):
            r.event(flow.CardRead(sample_cards()[0]))
        r.touch("browse:all")
        r.event(flow.Tapped(f"detail:{item.code}"))  # reaching it by touch is the test above
        r.touch("begin")
        identify(r, item)
        fill(r, item)
        assert r.find("next")
        r.touch("next")
        for i in range(len(item.materials)):
            assert r.screen == "materials", (item.code, r.screen, r.view().notice_key)
            assert r.find(f"capture:{i}"), (item.code, i)
            r.touch(f"capture:{i}")
            r.event(flow.PageCaptured(i, b"\xff\xd8page", 10, 10))
        if item.materials:
            r.touch("next")
        assert r.screen == "review", (item.code, r.screen, r.view().notice_key)
        r.touch("submit")
        if item.payment != "none":  # a fee first: the fee page's pay button, touched like the rest
            assert r.screen == "payment", item.code
            r.touch("pay")
            assert r.view().pay_phase == "creating", item.code
        else:
            assert r.screen == "working", item.code
        problems.update(r.problems)
    assert not problems, problems


def test_date_fields_open_the_date_picker_not_a_keypad(surface, catalog):
    """A date cannot be typed on the keypads (no "-"): the form opens the date picker for it."""
    item = next(i for i in catalog.items if any(f.type == "date" and not f.prefill for f in i.fields))
    r = Resident(surface, catalog)
    r.start("zh_CN", True)
    r.event(flow.CardRead(sample_cards()[0]))
    r.touch("browse:all")
    r.event(flow.Tapped(f"detail:{item.code}"))
    r.touch("begin")
    identify(r, item)
    key = next(f.key for f in item.fields if f.type == "date" and not f.prefill)
    assert r.find(f"field:{key}")
    r.touch(f"field:{key}")
    assert "date:done" in r.targets() and "key:1" not in r.targets()
    r.touch("date:year:-1")
    r.touch("date:done")
    shown = next(f for f in r.view().fields if f.key == key)
    assert dt.date.fromisoformat(shown.value) < dt.date.today() and not shown.problem


@pytest.mark.parametrize("language", LANGUAGES)
def test_elder_enrolment_form_shows_every_field_and_message_after_next(surface, catalog, language):
    """义务教育小学一年级入学报名 in elder mode: 下一步 with nothing filled marks every required field, and
    every field, its message and the required 入学依据 choice are on some page, with 下一步 on each."""
    item = catalog.get("jy-xxbm")
    r = Resident(surface, catalog, check_layout=False)  # the passing "fix the fields" banner is not ours
    r.start(language, True)
    r.event(flow.CardRead(sample_cards()[0]))
    r.touch("browse:all")
    r.event(flow.Tapped(f"detail:{item.code}"))
    r.touch("begin")
    identify(r, item)
    r.touch("next")
    assert r.screen == "form"
    shown: set[str] = set()
    for page in r.pages():
        assert "next" in page
        shown |= {t.split(":")[1] for t in page if t.startswith(("field:", "choice:"))}
    typed = {f.key for f in item.fields if not f.prefill}
    assert typed <= shown and "basis" in shown
    basis = [t for page in r.pages() for t in page if t.startswith("choice:basis:")]
    assert sorted(basis) == sorted(f"choice:basis:{c.value}" for c in item.fields[-1].choices)
    problems = [f for f in r.view().fields if f.problem]
    assert {f.key for f in problems} >= {f.key for f in item.fields if f.required and not f.prefill}
