"""The remote help desk in real Chromium against a running kiosk (issue 21): ``kiosk run --headless``
(platform simulator, gateway, app) with the station unstaffed, a scripted resident on the touch feed,
and a staff member with a helper token on ``/helpdesk``.

The resident lays the test ID card, opens a form and asks for remote help; the desk accepts; the
resident consents and types their mobile number; the desk sees the mirror update, clicks on it to
point, and the highlight is in the kiosk's next frame; it sends a message (shown on the kiosk in the
resident's language) and ends. The audit shows every step. No frame the desk received shows the
resident's name, ID number or mobile number: OCR-free, each of those strings is drawn with the kiosk's
own font at the sizes the screens use and searched for in every frame (OpenCV template matching); a
positive control proves the search finds such a string when it is there.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from browser_rig import UI_TIMEOUT_MS, chromium

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from kiosk_rig import Finger, Kiosk, wait_for

from devices.id_card.identity import sample_cards
from kiosk.catalog.loading import Catalog
from screens.demo_journeys import pick

pytestmark = pytest.mark.timeout(400)

PHONE = "13912345678"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kiosk]:
    # No opening hours: the station is unstaffed, so help is the remote desk, a call-back or 12345.
    rig = Kiosk(tmp_path_factory.mktemp("desk"), KIOSK_HELP__OPENING_HOURS="").start()
    try:
        yield rig
    finally:
        rig.stop()


def helper_token(kiosk: Kiosk) -> str:
    tech = (kiosk.tmp / "data" / "first-token.txt").read_text().strip()
    answer = requests.post(kiosk.gateway + "/api/v1/tokens", headers={"Authorization": f"Bearer {tech}"},
                           json={"role": "helper", "label": "0427"}, timeout=10)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


# -- the OCR-free search for personal data in a frame ---------------------------------------------

def gray(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("L"))


def glyphs(text: str, px: int, bold: bool) -> np.ndarray:
    """``text`` as the kiosk draws it (its CJK font, dark on light), grey levels."""
    import pygame

    from screens import theme

    pygame.font.init()
    surface = theme.font(px, bold).render(text, True, (20, 28, 40), (255, 255, 255))
    return pygame.surfarray.array3d(surface).transpose(1, 0, 2).mean(axis=2).astype(np.uint8)


SIZES = (*range(26, 62, 2), 43)  # design px at 1080 wide: the screens' text sizes, elder mode's 1.2× (36 → 43)


def shows(frame: np.ndarray, text: str) -> bool:
    """Whether ``text`` appears in ``frame`` in the kiosk's font at a screen's size (either weight); the
    desk's frames are drawn smaller than the screen (screens/help_frames.py), so are the sizes."""
    import cv2

    scale = frame.shape[1] / 1080
    for px in sorted({max(8, round(size * scale)) for size in SIZES}):
        for bold in (False, True):
            template = glyphs(text, px, bold)
            if template.shape[0] > frame.shape[0] or template.shape[1] > frame.shape[1]:
                continue
            # Light text on a dark button is the same text: search the inverted frame as well.
            for picture in (frame, 255 - frame):
                score = cv2.matchTemplate(picture, template, cv2.TM_CCOEFF_NORMED).max()
                if score > 0.9:
                    return True
    return False


def with_text(png: bytes, text: str, px: int) -> np.ndarray:
    """A copy of a frame with ``text`` drawn on it (the positive control)."""
    frame = gray(png).copy()
    drawn = glyphs(text, px, False)
    frame[400:400 + drawn.shape[0], 100:100 + drawn.shape[1]] = drawn
    return frame


def ring_near(png: bytes, x: int, y: int) -> bool:
    """The desk's pulsing highlight (screens/help_overlay.py RING_COLOUR) drawn around design (x, y)."""
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    scale = image.shape[1] / 1080
    x, y, r = round(x * scale), round(y * scale), round(100 * scale)
    patch = image[max(0, y - r):y + r, max(0, x - r):x + r]
    red = (patch[..., 0] > 170) & (patch[..., 1] < 60) & (patch[..., 2] < 90)
    return int(red.sum()) > 200 * scale * scale


# -- the journey ---------------------------------------------------------------------------------

def resident_asks_for_remote_help(f: Finger, item_code: str, item_name: str) -> str:
    f.wait_for("attract", 60)
    f.lay_card()
    f.wait_for("home")
    f.tap("search")
    f.wait_for("search")
    f.type(item_name)
    wait_for(lambda: f.shows(f"detail:{item_code}"), 15, "the item among the search results")
    f.tap(f"detail:{item_code}")
    f.wait_for("detail")
    f.tap("begin")
    f.wait_for("form", 30)
    f.tap("help")
    f.wait_for("help")
    assert f.shows("help:callback") and not f.shows("help:elderly"), "after hours: no staff on site"
    f.tap("help:remote")
    view = f.wait_view(lambda v: v.get("desk") == "waiting" and v.get("help_no"), "the remote request's number")
    f.tap("back")
    f.wait_for("form")
    return str(view["help_no"])


def test_the_desk_guides_a_resident_who_asked_at_night(kiosk: Kiosk) -> None:
    from playwright.sync_api import expect

    catalog = Catalog.load()
    item = pick(catalog, "apply", ("id_card",), materials=True)
    assert any(fl.type == "mobile" and not fl.prefill for fl in item.fields)
    f = kiosk.finger
    number = resident_asks_for_remote_help(f, item.code, item.name.get("zh_CN"))
    token = helper_token(kiosk)
    received: list[bytes] = []
    responses: list[Any] = []

    with chromium() as browser:
        context = browser.new_context(base_url=kiosk.gateway, viewport={"width": 1280, "height": 1000},
                                      locale="zh-CN")
        context.set_default_timeout(UI_TIMEOUT_MS)
        expect.set_options(timeout=UI_TIMEOUT_MS)
        page = context.new_page()
        errors: list[str] = []  # pages' scripts failing, and refused calls other than the first "who am I?"
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and not (
            r.status == 401 and r.url.endswith("/console/session")) else None)

        def frame_arrived(response: Any) -> None:
            if "/frame.png" in response.url and response.status == 200:
                responses.append(response)

        def bodies() -> list[bytes]:
            """The frames the desk received so far (Playwright's events are served while it is called)."""
            page.wait_for_timeout(100)
            received[:] = [r.body() for r in responses]
            return received

        page.on("response", frame_arrived)
        page.goto("/helpdesk")
        page.fill("#token", token)
        page.click("#login-form button[type=submit]")
        expect(page.locator("#whoami")).to_contain_text("Help desk")

        # The queue shows the request with its item and screen; accept it.
        row = page.locator(f"tr[data-request='{number}']")
        expect(row).to_contain_text(item.name.get("zh_CN"))  # its name, not its code
        expect(row).to_contain_text("form")
        row.locator("button[data-accept]").click()
        expect(page.locator("#session")).to_be_visible()

        # The kiosk asks the resident first: nothing reaches the desk before they agree.
        consent = f.wait_view(lambda v: v.get("desk") == "asking", "the consent on the kiosk")
        assert consent["desk_staff"] == "0427"
        assert not bodies(), "no frame before the resident's consent"
        f.tap("desk:consent")
        f.wait_view(lambda v: v.get("desk") == "live", "help under way")
        mirror = page.locator("#mirror")
        expect(mirror).to_be_visible()

        # The resident types their mobile number; the desk's mirror follows.
        first = int(mirror.get_attribute("data-seq") or 0)
        mobile = next(fl for fl in item.fields if fl.type == "mobile" and not fl.prefill)
        f.tap(f"field:{mobile.key}")
        f.type(PHONE)
        wait_for(lambda: int(mirror.get_attribute("data-seq") or 0) > first, 20, "the mirror to update")

        # Point: click on the mirror; the kiosk draws a pulsing ring there, in its next frame.
        box = mirror.bounding_box()
        assert box is not None
        mirror.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.4})
        pointed = f.wait_view(lambda v: v.get("desk_point"), "the highlight on the kiosk")
        x, y = pointed["desk_point"]
        assert abs(x - 540) <= 4 and abs(y - 768) <= 6, pointed["desk_point"]
        drawn = wait_for(lambda: (s := desk_state(kiosk, token, number))["drawn_point"] >= 1 and s, 10,
                         "a kiosk frame with the highlight")
        assert drawn["point_ms"], drawn
        frame_now = requests.get(f"{kiosk.gateway}/api/v1/helpdesk/requests/{number}/frame.png",
                                 headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert frame_now.status_code == 200 and int(frame_now.headers["X-Drawn-Point"]) >= 1
        assert ring_near(frame_now.content, 540, 768), "the highlight is in the kiosk's frame"
        wait_for(lambda: any(ring_near(png, 540, 768) for png in bodies()), 10, "the desk to show the highlight")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "helpdesk.png"))

        # A prepared message: shown on the kiosk (and spoken) in the resident's language.
        page.click("#messages button[data-key='desk_msg_next']")
        f.wait_view(lambda v: v.get("desk_message_key") == "desk_msg_next", "the message on the kiosk")

        page.click("#end")
        f.wait_view(lambda v: v.get("desk") == "", "help ended on the kiosk")
        expect(page.locator("#session-state")).to_have_text("ended")
        assert not errors, errors
        bodies()
        context.close()
    f.tap("exit")
    f.wait_for("attract", 30)

    # The audit shows each step, in order, with the staff member's token.
    audit = [json.loads(line) for line in (kiosk.tmp / "data" / "audit.jsonl").read_text().splitlines()]
    steps = [a["action"] for a in audit if a["action"].startswith("helpdesk") and a.get("target") == number]
    assert steps == ["helpdesk_accept", "helpdesk_resident_consent", "helpdesk_point", "helpdesk_message",
                     "helpdesk_end"], steps

    # No personal data in any frame the desk received.
    person = sample_cards()[0]
    assert len(received) >= 2
    scale = gray(received[-1]).shape[1] / 1080
    for size in (36, 43):  # a form's value, in elder mode
        assert shows(with_text(received[-1], PHONE, round(size * scale)), PHONE), "the search finds it when there"
    for png in {hash(png): png for png in received}.values():  # each distinct frame once
        picture = gray(png)
        for secret in (PHONE, person.name, person.id_number):
            assert not shows(picture, secret), f"{secret!r} in a frame the desk received"


def desk_state(kiosk: Kiosk, token: str, number: str) -> dict[str, Any]:
    answer = requests.get(f"{kiosk.gateway}/api/v1/helpdesk/requests/{number}",
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    time.sleep(0.05)
    return dict(answer.json())
