"""Headless Chromium (the system's /usr/bin/chromium, driven by Playwright) against a gateway
served by waitress on 127.0.0.1, for the console page tests: the helpers; the fixtures (browser, rig,
page) are in conftest.py."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "local_api"))

from gateway_rig import Rig, identities, wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
UI_TIMEOUT_MS = 20_000  # a loaded machine: wait on what the page shows, generously

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "UI_TIMEOUT_MS",
    "Rig",
    "beat",
    "identities",
    "launch",
    "log_in",
    "masked_frame",
    "tokens",
    "wait_for",
]


def launch(playwright: Any) -> Any:
    """The system Chromium, headless; never a downloaded browser (``playwright install`` is not used)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@contextmanager
def chromium() -> Iterator[Any]:
    """The system Chromium for as long as the block runs (launching it is the slow part)."""
    from playwright.sync_api import sync_playwright  # only the browser tests need Playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def tokens(rig: Rig) -> tuple[str, str]:
    """(technician token, a new operator token)."""
    tech = (rig.data_dir / "first-token.txt").read_text().strip()
    operator = rig.post("/api/v1/tokens", tech, json={"role": "operator", "label": "值守"}).json()["token"]
    return tech, operator


def masked_frame(person: dict[str, str]) -> bytes:
    """A PNG like the kiosk's confirm screen: the resident's name and ID number masked as the screens
    show them (kiosk.privacy), drawn with the kiosk's own font."""
    import pygame

    from kiosk.fonts import cjk_font_path
    from kiosk.privacy import mask_id_number, mask_name

    pygame.font.init()
    surface = pygame.Surface((360, 640))
    surface.fill((244, 247, 251))
    pygame.draw.rect(surface, (15, 61, 117), (0, 0, 360, 70))
    title = pygame.font.Font(str(cjk_font_path(bold=True)), 26)
    body = pygame.font.Font(str(cjk_font_path()), 22)
    surface.blit(title.render("请核对信息", True, (255, 255, 255)), (20, 18))
    lines = [("事项", "失业登记"), ("姓名", mask_name(person["name"])), ("证件号", mask_id_number(person["id_number"]))]
    for row, (label, value) in enumerate(lines):
        surface.blit(body.render(f"{label}：{value}", True, (29, 39, 51)), (20, 110 + row * 48))
    pygame.draw.rect(surface, (21, 87, 176), (40, 520, 280, 72), border_radius=10)
    surface.blit(title.render("确认办理", True, (255, 255, 255)), (128, 538))
    buffer = io.BytesIO()
    pygame.image.save(surface, buffer, "frame.png")
    return buffer.getvalue()


def log_in(page: Any, path: str, token: str) -> None:
    """Open ``path`` and log in with ``token`` through the page's form."""
    from playwright.sync_api import expect

    page.goto(path)
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#app")).to_be_visible()


def beat(rig: Rig, printer_state: str = "online", results: list | None = None) -> dict:
    """A heartbeat as the kiosk app sends it (reader online, printer as given); returns the answer."""
    printer = {"name": "printer", "state": printer_state, "operations": 41, "errors": 1, "detail": {},
               "last_error": {"code": "paper_out", "message": "缺纸 paper out"} if printer_state != "online" else None}
    reader = {"name": "id_reader", "state": "online", "operations": 57, "errors": 0, "detail": {}, "last_error": None}
    return rig.client.heartbeat("confirm", {"id_reader": reader, "printer": printer}, results)
