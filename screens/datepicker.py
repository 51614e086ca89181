"""A date picker with year / month / day steppers, in the keyboard's draw/handle shape.

Touch targets::

    date:year:+1  date:year:-1  date:year:+10  date:year:-10
    date:month:+1 date:month:-1 date:day:+1    date:day:-1     date:done

Steppers never produce an impossible date: the day is clamped to the month's length and the
date to ``[earliest, latest]``. ±10 years spare an elderly resident sixty touches to reach 1960.
"""

from __future__ import annotations

import calendar
import datetime as _dt
from dataclasses import dataclass, field

import pygame

from screens import theme, tokens
from screens.fieldcheck import field_problem
from screens.keyboard import KeyboardResult, KeyPainter
from screens.widgets import Button, Canvas

PARTS = ("year", "month", "day")

LABELS: dict[str, dict[str, str]] = {
    "zh_CN": {"year": "年", "month": "月", "day": "日", "done": "确定"},
    "zh_TW": {"year": "年", "month": "月", "day": "日", "done": "確定"},
    "en": {"year": "Year", "month": "Month", "day": "Day", "done": "Done"},
}


@dataclass
class DatePickerState:
    """The date being chosen and its bounds; ``field_type`` is ``date`` or ``birth_date``."""

    value: _dt.date = field(default_factory=_dt.date.today)
    earliest: _dt.date = _dt.date(1900, 1, 1)
    latest: _dt.date = _dt.date(2100, 12, 31)
    field_type: str = "date"
    language: str = "zh_CN"
    pressed: str | None = None

    def __post_init__(self) -> None:
        self.value = min(max(self.value, self.earliest), self.latest)

    @property
    def text(self) -> str:
        """The date as the form stores it (ISO, YYYY-MM-DD)."""
        return self.value.isoformat()

    def step(self, part: str, delta: int) -> None:
        """Move one part by ``delta``; months wrap within the year, days within the month."""
        y, m, d = self.value.year, self.value.month, self.value.day
        if part == "year":
            y += delta
        elif part == "month":
            m = (m - 1 + delta) % 12 + 1
        elif part == "day":
            d = (d - 1 + delta) % calendar.monthrange(y, m)[1] + 1
        y = min(max(y, self.earliest.year), self.latest.year)
        d = min(d, calendar.monthrange(y, m)[1])  # 31 March → February keeps a real date
        self.value = min(max(_dt.date(y, m, d), self.earliest), self.latest)


def release(state: DatePickerState) -> None:
    """The finger lifted: no stepper is shown pressed any more."""
    state.pressed = None


def handle(state: DatePickerState, target: str) -> KeyboardResult:
    """Apply a touch on ``target``; anything else changes nothing."""
    state.pressed = target
    if target == "date:done":
        problem = field_problem(state.field_type, state.text, state.language, final=True)
        return KeyboardResult("nothing" if problem else "done", state.text, problem)
    kind, _, rest = target.partition(":")
    part, _, delta = rest.partition(":")
    if kind != "date" or part not in PARTS or delta not in ("+1", "-1", "+10", "-10"):
        state.pressed = None
        return KeyboardResult("nothing", state.text)
    before = state.value
    state.step(part, int(delta))
    problem = field_problem(state.field_type, state.text, state.language)
    return KeyboardResult("changed" if state.value != before else "nothing", state.text, problem)


def height(elder: bool) -> int:
    """How tall the picker is (design px)."""
    return 3 * (150 if elder else 120) + 2 * 20 + (150 if elder else 120) + 40


def draw(c: Canvas, state: DatePickerState, top_y: float, elder: bool) -> list[Button]:
    """Paint three columns (▲ value ▼, with ±10 for the year) and a done key; returns the targets."""
    labels = LABELS.get(state.language, LABELS["zh_CN"])
    row = 150 if elder else 120
    pygame.draw.rect(c.surface, theme.SECONDARY, (0, c.px(top_y), c.width, c.px(height(elder))))
    p = KeyPainter(c, state.pressed, elder)
    margin, gap = 40, 20
    col_w = (1080 - 2 * margin - 2 * gap) / 3
    values = {"year": str(state.value.year), "month": f"{state.value.month:02d}", "day": f"{state.value.day:02d}"}
    for i, part in enumerate(PARTS):
        x = margin + i * (col_w + gap)
        y = top_y + 20
        if part == "year":  # ▲▲ (+10) and ▲ (+1) side by side
            half = (col_w - gap) / 2
            p.key("▲10", "date:year:+10", x, y, half, h=row, special=True)
            p.key("▲", "date:year:+1", x + half + gap, y, half, h=row, special=True)
        else:
            p.key("▲", f"date:{part}:+1", x, y, col_w, h=row, special=True)
        y += row
        fnt = theme.font(c.px(tokens.type_size("heading", elder)), True)
        img = fnt.render(f"{values[part]} {labels[part]}".strip(), True, theme.TEXT)
        c.surface.blit(img, img.get_rect(center=(c.px(x + col_w / 2), c.px(y + row / 2))))
        y += row
        if part == "year":
            p.key("▼10", "date:year:-10", x, y, half, h=row, special=True)
            p.key("▼", "date:year:-1", x + half + gap, y, half, h=row, special=True)
        else:
            p.key("▼", f"date:{part}:-1", x, y, col_w, h=row, special=True)
    p.key(labels["done"], "date:done", margin, top_y + 20 + 3 * row + 20, 1080 - 2 * margin, h=row, special=True)
    return p.buttons
