"""The operators' screen mirror is masked by construction (issue 17).

The picture the app posts with every heartbeat (and the console shows) must never carry what a
resident typed or what a card, a document camera or the platform said about them. A known TEST
identity is typed into forms; the mirrored frames are compared with frames of another identity of the
same shape (OCR-free: they must be pixel-identical), and the mirrored view models are searched for it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import time

import pygame
import pytest
import requests
from PIL import Image

from devices.id_card.identity import IdentityCard
from kiosk import flow
from kiosk.catalog.loading import Catalog
from kiosk.flow import Screen
from kiosk.flow.journeys import sources
from kiosk.flow.views import (
    MASKED_IMAGE,
    PERSONAL,
    QUERY_ANSWER,
    VIEW_TYPES,
    BenefitRow,
    FieldView,
    View,
    mirror_view,
    view_of,
)
from kiosk.privacy import mask_id_number, mask_name, mask_phone
from kiosk.validators import citizen_id_check_char, social_credit_code_check_char
from screens import keyboard
from screens.maintenance import MaintenanceView
from screens.mirror import Mirror


def citizen_id(first17: str) -> str:
    return first17 + citizen_id_check_char(first17)


class Person:
    """A TEST identity (never a real person): what is on the card and what the resident types."""

    def __init__(self, name: str, id17: str, phone: str, account: str, credit17: str) -> None:
        self.name, self.id_number, self.phone, self.account = name, citizen_id(id17), phone, account
        self.credit_code = credit17 + social_credit_code_check_char(credit17)  # their business's

    def card(self) -> IdentityCard:
        return IdentityCard(name=self.name, gender="女", nation="汉", birth_date=dt.date(1990, 1, 1),
                            address=f"测试省测试市{self.name}路1号", id_number=self.id_number,
                            issuer="测试市公安局", valid_from=dt.date(2020, 1, 1), valid_to=dt.date(2040, 1, 1))

    def typed(self, field_type: str) -> str:
        """What this resident types into a field of ``field_type``: something of theirs where it can
        be (numbers and dates the same for everyone, so both residents' forms have the same problems)."""
        return {"citizen_id": self.id_number, "mobile": self.phone, "bank_account": self.account,
                "social_credit_code": self.credit_code, "date": "1990-01-01", "amount": "1",
                "integer": "1"}.get(field_type, self.name)

    def secrets(self) -> list[str]:
        """What must never be in the mirror: the values, their usual masked forms, pieces of them."""
        shown = [mask_name(self.name), mask_id_number(self.id_number), mask_phone(self.phone)]
        return [self.name, self.name[2:], self.id_number, self.id_number[-6:], self.phone, self.phone[-6:],
                self.account, self.account[-6:], self.credit_code, "测试省测试市", *shown]

    def preview(self) -> bytes:
        """A document-camera preview (grey PNG) of this resident's page."""
        buffer = io.BytesIO()
        Image.new("L", (60, 80), 40 if self is RESIDENT else 200).save(buffer, "PNG")
        return buffer.getvalue()


RESIDENT = Person("测试居民甲", "35020319900101234", "13912345678", "6222021234567890123", "91350200123456789")
OTHER = Person("测试居民乙", "35020519900101567", "13987654321", "6222029876543210987", "91350200987654321")


class FrozenClock:
    """The app's monotonic clock; it moves only when the test moves it (one heartbeat per move)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the frame the app really posts with its heartbeat, as operators fetch it --


def apply_item_without_face(catalog):
    return next(i for i in catalog.items if i.kind == "apply" and i.identity == "id_card"
                and any(not f.prefill and f.type != "choice" for f in i.fields))


class ConsolePicture:
    """The screen picture an operator fetches from the gateway, taken one heartbeat at a time."""

    def __init__(self, app, clock: FrozenClock, url: str, auth: dict[str, str]) -> None:
        self.app, self.clock, self.url, self.auth = app, clock, url, auth
        self.taken_at = ""

    def take(self) -> bytes:
        """The frame of the next heartbeat (the app's clock moves only here), as RGB bytes."""
        self.clock.now += 1.0
        self.app.step()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            answer = requests.get(f"{self.url}/api/v1/screen.png", headers=self.auth, timeout=5)
            at = answer.headers.get("X-Screen-Taken-At", "")
            if answer.status_code == 200 and at != self.taken_at:
                self.taken_at = at
                return Image.open(io.BytesIO(answer.content)).convert("RGB").tobytes()
            time.sleep(0.02)
        raise AssertionError("the app posted no new frame")


def mirrored_frames(console: ConsolePicture, person: Person) -> list[bytes]:
    """Walk ``person`` through a form, typing into every field; the console's picture after each step."""
    app, picture = console.app, console.take
    item = apply_item_without_face(app.flow.catalog)
    app.dispatch(flow.CardRead(person.card(), "id_card"))
    for target in ("browse:all", f"detail:{item.code}", "begin"):
        app.dispatch(flow.Tapped(target))
    assert app.flow.screen is flow.Screen.FORM
    frames = [picture()]
    for f in item.fields:
        if f.prefill or f.type == "choice":
            continue
        app.dispatch(flow.Tapped(f"field:{f.key}"))
        empty = picture()
        app.keyboard_typed(person.typed(f.type))
        assert person.typed(f.type) in str(app.flow.session.form)  # typed, and on the resident's screen
        typing = picture()
        assert typing != empty, "the mirror does not follow the screen"
        app.dispatch(flow.Tapped("kb:done"))
        frames += [empty, typing, picture()]
    app.dispatch(flow.Tapped("exit"))
    assert app.flow.session is None
    return frames


def test_mirrored_frames_of_a_typed_form_do_not_depend_on_who_typed(kiosk_stack):
    clock = FrozenClock()
    stack = kiosk_stack(clock=clock)
    console = ConsolePicture(stack.app, clock, stack.url, stack.auth)
    first = mirrored_frames(console, RESIDENT)
    second = mirrored_frames(console, OTHER)
    assert len(first) == len(second)
    for n, (a, b) in enumerate(zip(first, second, strict=True)):
        assert a == b, f"mirrored frame {n} shows something of the resident's"


# -- the masked view model: every field declared personal, for every item with a form --


def view_classes() -> list[type]:
    return [View, FieldView, MaintenanceView, *VIEW_TYPES.values()]


SAMPLES = {"str": "测试居民甲 13912345678", "list[tuple[str, str]]": [("测试居民甲", "13912345678")],
           "dict[int, bytes]": {0: b"\x89PNG page of 13912345678"},
           "tuple[int, int, bytes] | None": (1, 1, b"13912345678"),
           "bytes": b"\x89PNG power of attorney of 13912345678",
           "list[BenefitRow]": [BenefitRow("测试居民甲", "granted", "13912345678", "13912345678", "once")]}


def test_every_field_declared_personal_is_masked_in_the_mirror():
    checked = set()
    for cls in view_classes():
        for f in dataclasses.fields(cls):
            if PERSONAL not in f.metadata:
                continue
            sample = SAMPLES[f.type]  # the annotation as written (the views module defers annotations)
            masked = f.metadata[PERSONAL](sample)
            assert "13912345678" not in repr(masked) and "测试居民甲" not in repr(masked), (cls, f.name)
            assert not isinstance(masked, str) or masked in ("", "●●●●", QUERY_ANSWER), (cls, f.name, masked)
            checked.add(f.name)
    # What must stay declared personal (dropping a declaration fails here, not in an operator's console).
    assert {"applicant_name", "applicant_id", "receipt_no", "result_url", "query", "value", "focus_text",
            "previews", "answer_title", "answer_rows", "receipt_digits", "progress_no", "progress_status_text",
            "progress_steps", "progress_url", "preview", "poa_preview", "benefits"} <= checked


def test_mirror_view_masks_nested_form_fields_and_keeps_the_rest():
    field = FieldView(key="mobile", label="手机号码", type="mobile", locked=False, required=True,
                      value="13912345678", problem="", choices=[])
    view = view_of("form", item_name="交通运输服务投诉", fields=[field], focus="mobile", focus_type="mobile",
                   focus_text="13912345678", applicant_name="测****")
    mirrored = mirror_view(view)
    assert type(mirrored) is type(view)
    assert "13912345678" not in repr(mirrored) and "测" not in mirrored.applicant_name
    assert mirrored.fields[0] == dataclasses.replace(field, value="●●●●")
    assert (mirrored.item_name, mirrored.focus, mirrored.focus_type) == ("交通运输服务投诉", "mobile", "mobile")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def apply_items(catalog: Catalog) -> list:
    # 免申即办 items have no form to open (kiosk/flow/exempt.py)
    return [i for i in catalog.items if i.kind == "apply" and i.fields and not i.exempt_from_application]


def open_form(kiosk: flow.KioskFlow, item, person: Person) -> None:
    """From attract to the item's form, identified by ``person`` the way the item accepts."""
    for target in ("start", "browse:all", f"detail:{item.code}", "begin"):
        kiosk.handle(flow.Tapped(target))
    assert kiosk.screen is Screen.CARD_PROMPT
    source = next(s for s in ("id_card", "social_security_card", "app_qr") if s in sources(item))
    if source == "app_qr":
        kiosk.handle(flow.Tapped("use:app_qr"))
    kiosk.handle(flow.CardRead(person.card(), source))
    if kiosk.screen is Screen.CONSENT:  # 人证比对: the face check before the form
        kiosk.handle(flow.Tapped("consent"))
        kiosk.handle(flow.FaceCaptured(b"\xff\xd8face", True))
        kiosk.handle(flow.IdentityChecked(True))
    assert kiosk.screen is Screen.FORM, (item.code, kiosk.screen)


def journey_mirrors(catalog: Catalog, item, person: Person) -> list[View]:
    """``person`` applies for ``item``: types into every field, lays a page for every material, submits;
    the mirrored view after every step."""
    kiosk = flow.KioskFlow(catalog, FrozenClock(), idle_timeout_s=600, warning_s=20)
    seen: list[View] = []

    def step(event: flow.Event) -> list[flow.Effect]:
        effects = kiosk.handle(event)
        seen.append(mirror_view(kiosk.view()))
        return effects

    open_form(kiosk, item, person)
    seen.append(mirror_view(kiosk.view()))
    for f in item.fields:
        if f.prefill:
            continue
        if f.type == "choice":
            step(flow.Tapped(f"choice:{f.key}:{f.choices[-1].value}"))
            continue
        step(flow.Tapped(f"field:{f.key}"))
        text = person.typed(f.type)
        for n in range(1, len(text) + 1):  # key by key: the focused field shows the raw text meanwhile
            step(flow.TextEntered(text[:n]))
        step(flow.Tapped("kb:done"))
    step(flow.Tapped("next"))
    for i, _ in enumerate(item.materials):
        step(flow.Tapped(f"capture:{i}"))
        step(flow.PageCaptured(i, b"\xff\xd8" + person.id_number.encode(), 1000, 1400, person.preview()))
    if item.materials:
        step(flow.Tapped("next"))
    assert kiosk.screen is Screen.REVIEW, (item.code, kiosk.screen, [f.problem for f in kiosk.view().fields])
    step(flow.Tapped("back"))  # and forth: the form again, every value in it
    step(flow.Tapped("next"))
    if item.materials:
        step(flow.Tapped("next"))
    effects = step(flow.Tapped("submit"))
    receipt_no = f"HC-TEST-001-20261204-{person.phone[-6:]}-0001"
    if item.payment != "none":  # a fee first: the payment code, then paid on the platform's word
        [create] = [e for e in step(flow.Tapped("pay")) if isinstance(e, flow.CreatePayment)]
        order = {"order_no": "FJFS2026120400000001", "state": "created", "amount": "120.00",
                 "pay_url": "https://pay.example/qr/FJFS2026120400000001", "expires_in_s": 300}
        step(flow.PaymentAnswered(order, request_id=create.request_id))
        effects = step(flow.PaymentAnswered({**order, "state": "paid", "receipt_no": receipt_no}))
    else:
        assert any(isinstance(e, flow.Submit) for e in effects)
        effects = step(flow.SubmissionAccepted(receipt_no))
    for job in (e for e in effects if isinstance(e, flow.PrintReceipt)):
        step(flow.PrintFinished(job.job_id, True))
    return seen


def test_a_typed_identity_never_reaches_the_mirrored_view_of_any_form(catalog):
    """Every field of every form of every apply item, typed key by key by two TEST residents: the
    mirrored views never hold either one, and are the same for both (OCR-free: what the mirror is
    drawn from does not depend on who stands there)."""
    items = apply_items(catalog)
    assert len(items) > 50
    for item in items:
        first = journey_mirrors(catalog, item, RESIDENT)
        second = journey_mirrors(catalog, item, OTHER)
        for view in first:
            shown = repr(view)
            for secret in RESIDENT.secrets():
                assert secret not in shown, (item.code, view.screen)
        assert len(first) == len(second)
        for n, (a, b) in enumerate(zip(first, second, strict=True)):
            assert a == b, (item.code, n, a.screen)


# -- the frames drawn from it: document pages, query answers, the keyboard --


@pytest.fixture(scope="module")
def mirror():
    pygame.display.init()
    pygame.font.init()
    yield Mirror((1080, 1920))
    pygame.display.quit()


def rgb(surface: pygame.Surface) -> bytes:
    return pygame.image.tobytes(surface, "RGB")


def test_a_captured_page_is_a_placeholder_in_the_mirror(catalog, mirror):
    item = next(i for i in apply_items(catalog) if i.materials)
    frames, views = [], []
    for person in (RESIDENT, OTHER):
        kiosk = flow.KioskFlow(catalog, FrozenClock())
        open_form(kiosk, item, person)
        for f in item.fields:
            if not f.prefill:
                kiosk.handle(flow.Tapped(f"choice:{f.key}:{f.choices[0].value}") if f.type == "choice"
                             else flow.Tapped(f"field:{f.key}"))
                kiosk.handle(flow.TextEntered(person.typed(f.type)))
        kiosk.handle(flow.Tapped("next"))
        assert kiosk.screen is Screen.MATERIALS
        kiosk.handle(flow.PageCaptured(0, b"\xff\xd8jpeg", 1000, 1400, person.preview()))
        view = kiosk.view()
        assert view.previews[0] == person.preview()  # the resident sees their page
        views.append(mirror_view(view))
        frames.append(rgb(mirror.frame(view)))
    assert views[0].previews == {0: MASKED_IMAGE} and views[0] == views[1]
    assert frames[0] == frames[1]
    assert rgb(mirror.frame(dataclasses.replace(view, previews={}))) != frames[0]  # the placeholder is drawn
    frames.append(rgb(mirror.frame(view)))
    # The placeholder (DOCUMENT_IMAGE in a box) is drawn where the page was: none of the page's grey.
    grey = {mirror.renderer.canvas.surface.get_at((x, y))[:3] for x in range(790, 990, 5) for y in range(300, 500, 5)}
    assert (40, 40, 40) not in grey and (200, 200, 200) not in grey


def test_a_query_answer_is_a_placeholder_in_the_mirror(mirror):
    views, frames = [], []
    for person in (RESIDENT, OTHER):
        view = view_of("result", item_name="社保缴费记录查询", applicant_name=mask_name(person.name),
                       answer_title=f"{person.name}的缴费记录",
                       answer_rows=[("姓名", person.name), ("身份证号", person.id_number), ("电话", person.phone)])
        views.append(mirror_view(view))
        frames.append(rgb(mirror.frame(view)))
    assert views[0].answer_rows == [("", QUERY_ANSWER)] and views[0].answer_title == ""
    assert views[0] == views[1] and frames[0] == frames[1]


def test_the_keyboard_in_the_mirror_shows_nothing_typed(mirror):
    field = FieldView(key="name", label="姓名", type="text", locked=False, required=True, value="", problem="",
                      choices=[])
    frames = []
    for letters in ("ceshijumin", "zhangsan"):
        state = keyboard.KeyboardState(layout="pinyin", text="测试", max_length=40)
        for ch in letters:
            keyboard.handle(state, f"key:{ch}")  # composing: the letters and candidates are on screen
        view = view_of("form", fields=[dataclasses.replace(field, value=state.text)], focus="name",
                       focus_type="text", focus_text=state.text)
        frames.append(rgb(mirror.frame(view, keyboard_state=state)))
        assert state.ime.composing and state.pressed  # the resident's own keyboard is untouched
    assert frames[0] == frames[1]
