"""A1: every screen in elder mode — text ≥ 30 px at 1080 width, targets ≥ 60 × 60, contrast ≥ 4.5:1.

The screens are reached by driving the real flow (every item kind), so the views are the ones a
resident would get, not hand-made ones.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

import pytest

from devices.id_card.identity import sample_cards
from kiosk import flow
from kiosk.catalog.loading import Catalog
from kiosk.flow.views import View
from screens.i18n import LANGUAGES
from screens.renderer import PAGES, Renderer


def luminance(rgb):
    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def pick(catalog, kind, identity):
    return next(i for i in catalog.items if i.kind == kind and i.identity in identity and
                (kind != "apply" or i.materials))


def every_screen_view(language: str) -> dict[str, View]:
    """Walk the flow in elder mode through every kind; keep one view per screen."""
    catalog = Catalog.load()
    # The wall clock before the slots listed below (2026-11-23), so the slots screen shows them.
    k = flow.KioskFlow(catalog, Clock(), idle_timeout_s=90, warning_s=20,
                       wall_clock=lambda: datetime(2026, 11, 21, 10, 0))
    views: dict[str, View] = {}

    def see(*events):
        for event in events:
            k.handle(event)
            if k.view().language != language:  # a new session starts in 简体: the resident switches again
                k.handle(flow.Tapped(f"lang:{language}"))
            views.setdefault(k.screen.value, k.view())

    def job():
        return k.session.print_job

    see(flow.Tapped(f"lang:{language}"), flow.Tapped("elder"), flow.Tapped("browse:departments"),
        flow.Tapped("back"), flow.Tapped("browse:all"), flow.Tapped("home"), flow.Tapped("search"),
        flow.TextEntered("社保"), flow.Tapped("home"), flow.Tapped("help"), flow.Tapped("back"),
        flow.Tapped("item:rs-sbjfzm"), flow.CardRead(sample_cards()[0]), flow.Tapped("consent"),
        flow.FaceCaptured(b"", False, "no blink"))
    views["consent_failed"] = k.view()  # the face check did not pass: the reason and the other ways
    see(flow.Tapped("consent"), flow.FaceCaptured(b"\xff\xd8face", True), flow.IdentityChecked(True),
        flow.DocumentFetched({"rows": []}), flow.SubmissionAccepted("HC-DEMO-001-20261121-000001"))
    see(flow.PrintFinished(job(), False, "printer_paper_out"), flow.Tapped("rate:5"))
    views["done"] = k.view()  # the follow-up question after a bad rating
    see(flow.Tapped("why:slow"))
    apply = pick(catalog, "apply", ("id_card", "id_card_face"))
    see(flow.Tapped("home"), flow.CardRead(sample_cards()[0]), flow.Tapped("browse:all"),
        flow.Tapped(f"detail:{apply.code}"), flow.Tapped("begin"), flow.Tapped("consent"),
        flow.FaceCaptured(b"\xff\xd8face", True), flow.IdentityChecked(True), flow.Tapped("next"))
    for f in apply.fields:
        if not f.prefill and f.type == "choice":
            see(flow.Tapped(f"choice:{f.key}:{f.choices[0].value}"))
        elif not f.prefill:
            see(flow.Tapped(f"field:{f.key}"), flow.TextEntered("13950000000" if f.type == "mobile" else "1"))
    see(flow.Tapped("next"), *(flow.PageCaptured(i, b"x", 10, 10) for i in range(len(apply.materials))),
        flow.Tapped("next"), flow.Tapped("home"))
    # A fee item: the fee, the payment code, an expired code, a code that could not be made.
    passport = catalog.get("ga-hzsl")
    see(flow.Tapped("browse:all"), flow.Tapped(f"detail:{passport.code}"), flow.Tapped("begin"),
        flow.Tapped("consent"), flow.FaceCaptured(b"\xff\xd8face", True), flow.IdentityChecked(True),
        flow.Tapped("field:mobile"), flow.TextEntered("13950000000"), flow.Tapped("next"),
        *(flow.PageCaptured(i, b"x", 10, 10) for i in range(len(passport.materials))), flow.Tapped("next"),
        flow.Tapped("submit"))
    create = k.handle(flow.Tapped("pay"))[-1]
    see(flow.PaymentAnswered({"order_no": "FJFS2026120400000001", "state": "created", "amount": "120.00",
                              "pay_url": "https://pay.fjzwfw.example/qr/FJFS2026120400000001",
                              "channels": ["alipay", "wechat", "unionpay", "mzt"], "expires_in_s": 300},
                             request_id=create.request_id))
    views["payment_qr"] = k.view()
    k.clock.now += 301
    see(flow.Tick())
    views["payment_expired"] = k.view()
    again = k.handle(flow.Tapped("new_code"))[-1]
    see(flow.PaymentAnswered(reason_key="pay_unavailable", request_id=again.request_id))
    views["payment_failed"] = k.view()
    see(flow.Tapped("home"))
    cert = pick(catalog, "certification", ("id_card_face",))
    see(flow.Tapped("browse:all"), flow.Tapped(f"detail:{cert.code}"), flow.Tapped("begin"),
        flow.Tapped("home"))
    appt = pick(catalog, "appointment", ("id_card",))
    see(flow.Tapped("browse:all"), flow.Tapped(f"detail:{appt.code}"), flow.Tapped("begin"),
        flow.SlotsListed([{"slot_id": "s1", "date": "2026-11-23", "time": "09:00", "available": 1},
                          {"slot_id": "s2", "date": "2026-11-23", "time": "09:30", "available": 0}]),
        flow.Tapped("home"))
    query = pick(catalog, "query", ("id_card",))
    see(flow.Tapped("browse:all"), flow.Tapped(f"detail:{query.code}"), flow.Tapped("begin"),
        flow.Tapped("confirm"), flow.QueryAnswered({"title": "结果", "rows": [["状态", "正常"]]}),
        flow.Tapped("confirm"), flow.ServiceFailed("error_platform_unavailable"))
    see(flow.Tapped("home"), flow.Tapped("home"))
    k.handle(flow.Tapped("elder"))
    see(flow.Tapped("browse:all"), flow.Tapped("detail:rs-sbjfzm"), flow.Tapped("begin"), flow.Tapped("confirm"),
        flow.ServiceFailed("error_platform_unavailable"))
    see(flow.Tapped("home"), flow.Tapped("progress"))
    see(flow.ScanFailed(k.scan.scan_id, "qr_foreign_link"), flow.Tapped("type_receipt"),
        *(flow.Tapped(f"pk:{d}") for d in "20261121000001"), flow.Tapped("pk:done"),
        flow.ProgressAnswered("HC-DEMO-001-20261121-000001", {"status": "accepted", "status_text": "已受理",
                                                              "steps": [{"text": "已接收", "at": "2026-11-21T10:00"}]}),
        flow.Tapped("home"))
    for event in bundle_walk(k, "birth"):  # 一件事: its intro, review and result (kiosk/flow/bundle.py)
        see(event)
    for name in ("attract", "thanks", "timeout"):
        views.setdefault(name, replace(k.view(), screen=name))
    # A passing banner (notice_key) overlays the screen for a few seconds; it is checked on its own below.
    return {name: replace(view, elder=True, notice_key="") for name, view in views.items()}



def bundle_walk(k, code):
    """The events of a bundle journey from home to its result, one item refused by the gateway."""
    k.handle(flow.Tapped("home"))
    yield from (flow.CardRead(sample_cards()[0]), flow.Tapped("browse:themes"), flow.Tapped(f"bundle:{code}"),
                flow.Tapped("start"), flow.Tapped("consent"), flow.FaceCaptured(b"\xff\xd8face", True),
                flow.IdentityChecked(True))
    for f in k.session.item.fields:
        if f.type == "choice" and not f.prefill:
            yield flow.Tapped(f"choice:{f.key}:{f.choices[0].value}")
        elif not f.prefill:
            yield flow.Tapped(f"field:{f.key}")
            yield flow.TextEntered({"citizen_id": "11010519491231002X", "mobile": "13950000000",
                                    "bank_account": "6222020200112233", "date": "2024-01-15",
                                    "social_credit_code": "91350100M000100Y43"}.get(f.type, "1"))
    yield flow.Tapped("next")
    for i in range(len(k.session.item.materials)):
        yield flow.PageCaptured(i, b"x", 10, 10)
    yield flow.Tapped("next")
    yield flow.Tapped("submit")
    serial = 0
    while k.screen is flow.Screen.WORKING:
        serial += 1
        yield flow.ServiceFailed("error_not_stored") if serial == 2 else \
            flow.SubmissionAccepted(f"HC-DEMO-001-20261121-{serial:06d}")
    while k.screen is flow.Screen.PRINTING:
        yield flow.PrintFinished(k.session.print_job, True)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_screen_in_elder_mode_meets_a1(surface, language):
    views = every_screen_view(language)
    assert set(PAGES) <= set(views), f"not reached: {set(PAGES) - set(views)}"
    renderer = Renderer(surface)
    for name, view in views.items():
        renderer.canvas.reset_metrics()
        buttons = renderer.render(view)
        assert renderer.canvas.min_text_px >= 30, (name, renderer.canvas.min_text_px)
        for button in buttons:
            assert button.rect.width >= 60 and button.rect.height >= 60, (name, button)
            # The button's two main colours are its fill and its label: they must contrast.
            colours = Counter(surface.get_at((x, y))[:3]
                              for x in range(button.rect.left + 2, button.rect.right - 2, 3)
                              for y in range(button.rect.top + 2, button.rect.bottom - 2, 3))
            (fill, _), *rest = colours.most_common(2)
            if rest and rest[0][1] > 20:  # a labelled button (rows of the list are white cards with text)
                assert contrast(fill, rest[0][0]) >= 4.5, (name, button.target, fill, rest[0][0])


def test_standard_mode_is_smaller_than_elder_mode(surface):
    views = every_screen_view("zh_CN")
    renderer = Renderer(surface)
    renderer.canvas.reset_metrics()
    renderer.render(replace(views["home"], elder=False))
    standard = renderer.canvas.min_text_px
    renderer.canvas.reset_metrics()
    renderer.render(views["home"])
    assert renderer.canvas.min_text_px > standard


def test_notice_banner_is_large_and_readable(surface):
    from screens import theme

    renderer = Renderer(surface)
    views = every_screen_view("zh_CN")
    renderer.canvas.reset_metrics()
    renderer.render(replace(views["form"], notice_key="notice_fix_fields"))
    assert renderer.canvas.min_text_px >= 30
    assert contrast(theme.PRIMARY_TEXT, theme.DANGER) >= 4.5


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_banner_on_the_attract_screen_hides_no_button(surface, language):
    """After a card is pulled the banner shows on the attract screen: every button stays visible."""
    renderer = Renderer(surface)
    view = replace(every_screen_view(language)["attract"], notice_key="notice_card_pulled", simulated_reader=True)
    for elder in (True, False):
        buttons = renderer.render(replace(view, elder=elder))
        banner = renderer.canvas.text_blocks[-1]  # drawn last, over the page
        assert not [b.target for b in buttons if b.rect.colliderect(banner)], (language, elder)
