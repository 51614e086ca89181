"""The on-screen keyboard: pinyin (QWERTY with a candidate bar), Latin, numeric and ID-number keypads.

State (:class:`KeyboardState`) is kept apart from drawing: :func:`handle` changes it for a touched
target, :func:`draw` only paints it and returns the touch targets::

    key:a … key:z, key:0 … key:9, key:X   a character (a letter becomes pinyin in the pinyin layout)
    key:BKSP  key:SPACE  key:SHIFT  key:CLEAR
    cand:N    candidate N (counted over all pages)     cand:from:N   show candidates from N on
    kb:layout:<name>   switch layout            kb:done    finish the field

Press feedback: :func:`handle` marks the touched key as pressed; the app calls :func:`release` when
the finger lifts. Validation messages come from :mod:`screens.fieldcheck`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pygame

from kiosk.catalog.ime import Ime
from screens import theme, tokens
from screens.fieldcheck import field_problem
from screens.widgets import Button, Canvas

LAYOUTS = ("pinyin", "latin", "numeric", "id_number")
LETTER_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
DIGIT_ROWS = ("123", "456", "789")

# Which layouts a field starting in a layout may switch between: digits-only fields stay digits.
SWITCHABLE: dict[str, tuple[str, ...]] = {
    "pinyin": ("pinyin", "latin", "numeric"),
    "latin": ("latin", "numeric"),
    "numeric": ("numeric",),
    "id_number": ("id_number",),
}

LABELS: dict[str, dict[str, str]] = {
    "zh_CN": {"BKSP": "删除", "SPACE": "空格", "CLEAR": "清空", "done": "完成", "pinyin": "中文",
              "latin": "英文", "numeric": "123", "SHIFT": "大写", "too_long": "最多 {n} 个字"},
    "zh_TW": {"BKSP": "刪除", "SPACE": "空格", "CLEAR": "清空", "done": "完成", "pinyin": "中文",
              "latin": "英文", "numeric": "123", "SHIFT": "大寫", "too_long": "最多 {n} 個字"},
    "en": {"BKSP": "Delete", "SPACE": "Space", "CLEAR": "Clear", "done": "Done", "pinyin": "中文",
           "latin": "ABC", "numeric": "123", "SHIFT": "Shift", "too_long": "At most {n} characters"},
}


@dataclass
class KeyboardState:
    """Everything the keyboard shows: layout, text being edited, composition, pressed key.

    ``field_type`` names the check applied as the resident types (see
    :func:`screens.fieldcheck.field_problem`); ``max_length`` bounds the text in characters.
    """

    layout: str = "pinyin"
    text: str = ""
    max_length: int | None = None
    field_type: str = "text"
    language: str = "zh_CN"
    ime: Ime = field(default_factory=Ime)
    pressed: str | None = None
    offset: int = 0  # index of the first candidate shown
    shift: bool = False
    notice: str | None = None  # a passing remark ("at most 18 characters"), cleared by the next touch
    home_layout: str = ""

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown keyboard layout {self.layout!r}; one of {', '.join(LAYOUTS)}")
        self.home_layout = self.home_layout or self.layout

    @property
    def layouts(self) -> tuple[str, ...]:
        """The layouts this field may switch to."""
        return SWITCHABLE[self.home_layout]

    def problem(self, *, final: bool = False) -> str | None:
        """What to tell the resident about the text as it stands (None: nothing to fix)."""
        return field_problem(self.field_type, self.text, self.language, final=final)

    def room(self) -> int:
        """How many more characters fit."""
        return 10**6 if self.max_length is None else max(0, self.max_length - len(self.text))

    def key_enabled(self, key: str) -> bool:
        """False for keys that would only produce an error: X before the 18th place, digits at the limit."""
        if key == "X" and self.layout == "id_number":
            return len(self.text) == 17
        if len(key) == 1 and self.layout != "pinyin":
            return self.room() > 0
        return True

    def clear(self) -> None:
        """Forget everything typed (call when the session ends: field contents are personal data)."""
        self.text = ""
        self.ime.clear()
        self.offset = 0
        self.pressed = None
        self.notice = None


def masked(state: Any) -> Any:
    """The same keyboard with nothing typed, for the operators' mirror: no text, no pinyin letters or
    candidates, no pressed key (each would show what the resident is typing). A date picker comes back
    showing today, whatever was picked."""
    if not isinstance(state, KeyboardState):
        return type(state)(field_type=state.field_type, language=state.language)
    return KeyboardState(layout=state.layout, max_length=state.max_length, field_type=state.field_type,
                         language=state.language, home_layout=state.home_layout)


@dataclass(frozen=True)
class KeyboardResult:
    """What a touch did: ``kind`` is ``changed`` (text or composition), ``done`` (the field is
    finished and valid) or ``nothing``; ``text`` is the field's text; ``problem`` the message to show."""

    kind: Literal["changed", "done", "nothing"]
    text: str
    problem: str | None = None

    @property
    def done(self) -> bool:
        return self.kind == "done"

    @property
    def changed(self) -> bool:
        return self.kind == "changed"


def release(state: KeyboardState) -> None:
    """The finger lifted: no key is shown pressed any more."""
    state.pressed = None


def _append(state: KeyboardState, piece: str) -> bool:
    if len(piece) > state.room():
        state.notice = LABELS.get(state.language, LABELS["zh_CN"])["too_long"].format(n=state.max_length)
        return False
    state.text += piece
    return True


def handle(state: KeyboardState, target: str) -> KeyboardResult:
    """Apply a touch on ``target``; unknown targets and disabled keys change nothing."""
    state.notice = None
    state.pressed = target
    before = (state.text, state.ime.letters, state.offset, state.layout, state.shift)
    kind, _, arg = target.partition(":")
    if kind == "key":
        _key(state, arg)
    elif kind == "cand":
        _candidate(state, arg)
    elif target.startswith("kb:layout:"):
        layout = target.removeprefix("kb:layout:")
        if layout in state.layouts and layout != state.layout:
            if state.ime.composing:  # leaving pinyin: what was typed stays, as letters, if it fits
                _append(state, state.ime.letters)
                state.ime.clear()
            state.layout, state.offset, state.shift = layout, 0, False
    elif target == "kb:done":
        if state.ime.composing:
            # Like Enter on a desktop IME: the letters go into the field as typed, and the
            # resident sees them before the field is finished.
            if _append(state, state.ime.letters):
                state.ime.clear()
                state.offset = 0  # no candidates any more: a page kept would point past them
        else:
            problem = state.problem(final=True)
            if problem is None:
                return KeyboardResult("done", state.text)
            return KeyboardResult("nothing", state.text, problem)
    else:
        state.pressed = None
    after = (state.text, state.ime.letters, state.offset, state.layout, state.shift)
    return KeyboardResult("changed" if after != before else "nothing", state.text, state.problem())


def _key(state: KeyboardState, key: str) -> None:
    if key == "BKSP":
        if not (state.layout == "pinyin" and state.ime.backspace()):
            state.text = state.text[:-1]
        state.offset = 0
    elif key == "CLEAR":
        state.text = ""
        state.ime.clear()
        state.offset = 0
    elif key == "SPACE":
        if state.ime.composing:
            _pick(state, 0)  # space takes the first candidate, as on every pinyin IME
        else:
            _append(state, " ")
    elif key == "SHIFT":
        if state.layout == "latin":
            state.shift = not state.shift
    elif len(key) == 1 and key in _keys_of(state.layout) and state.key_enabled(key):
        if state.layout == "pinyin" and key.isalpha():
            if len(state.ime.letters) < 48:  # a sentence at most; beyond that keys do nothing
                state.ime.type_letter(key)
                state.offset = 0
        else:
            ch = key.upper() if state.shift else key
            if _append(state, ch):
                state.shift = False


def _candidate(state: KeyboardState, arg: str) -> None:
    if arg.startswith("from:") and arg[5:].isdigit():
        # The page buttons carry the offset they lead to: only the drawing knows how many fit.
        first = int(arg[5:])
        if first < len(state.ime.all_candidates()):
            state.offset = first
    elif arg.isdigit():
        _pick(state, int(arg))


def _pick(state: KeyboardState, i: int) -> None:
    cands = state.ime.all_candidates()
    if not 0 <= i < len(cands):
        return
    if _append(state, cands[i].word):  # too long: the notice says so and the letters stay
        state.ime.pick(i)
        state.offset = 0


def _keys_of(layout: str) -> str:
    if layout in ("pinyin", "latin"):
        return "".join(LETTER_ROWS)
    if layout == "numeric":
        return "0123456789"
    return "0123456789X"


# -- drawing ------------------------------------------------------------------------------------

def sizes(elder: bool) -> dict[str, int]:
    """Key height, gap, label size, candidate bar (design px at 1080 wide). Elder mode keeps every
    target ≥ 60 × 60 and every text ≥ 30 px (TARGETS.md A1); elsewhere targets stay ≥ 44. Texts are the
    type scale's (screens/tokens.py; the keys draw at the mode's size themselves): keys and candidates body,
    the typed letters caption."""
    body, caption = tokens.type_size("body", elder), tokens.type_size("caption", elder)
    if elder:
        return {"key_h": 124, "gap": 12, "label": body, "bar_h": 120, "cand": body, "strip": 60,
                "strip_text": caption, "per_page": 4}
    return {"key_h": 100, "gap": 10, "label": body, "bar_h": 100, "cand": body, "strip": 52,
            "strip_text": caption, "per_page": 6}


def height(state: KeyboardState, elder: bool) -> int:
    """How tall the keyboard is (design px), so a screen can place its field above it."""
    s = sizes(elder)
    top = s["strip"] + s["bar_h"] + s["gap"] if state.layout == "pinyin" else 0
    return top + 4 * (s["key_h"] + s["gap"]) + s["gap"]


class KeyPainter:
    """Draws keys in the keyboard's style (pressed, special, disabled) and collects the enabled
    ones as touch targets; the date picker draws with it too."""

    def __init__(self, c: Canvas, pressed: str | None, elder: bool) -> None:
        self.c, self.pressed, self.s, self.elder = c, pressed, sizes(elder), elder
        self.buttons: list[Button] = []

    def key(self, label: str, target: str, x: float, y: float, w: float, *, h: float | None = None,
            special: bool = False, enabled: bool = True, size: int | None = None) -> None:
        c = self.c
        rect = pygame.Rect(c.px(x), c.px(y), c.px(w), c.px(h or self.s["key_h"]))
        pressed = self.pressed == target
        if not enabled:
            fill, ink = theme.BACKGROUND, theme.MUTED
        elif pressed:
            fill, ink = theme.HEADER, theme.PRIMARY_TEXT  # darker than PRIMARY: the finger sees it land
        elif special:
            fill, ink = theme.PRIMARY, theme.PRIMARY_TEXT
        else:
            fill, ink = theme.CARD, theme.TEXT
        radius = c.px(14)
        pygame.draw.rect(c.surface, fill, rect, border_radius=radius)
        if pressed:  # a second cue besides colour: the key looks pushed in
            pygame.draw.rect(c.surface, theme.PRIMARY_TEXT, rect.inflate(-c.px(10), -c.px(10)),
                             width=max(1, c.px(3)), border_radius=radius)
        else:
            pygame.draw.rect(c.surface, theme.MUTED if enabled else theme.SECONDARY, rect,
                             width=max(1, c.px(2)), border_radius=radius)
        size = size or self.s["label"]
        fnt = theme.font(c.px(size), True)
        floor = theme.ELDER_MIN_PX if self.elder else 24  # A1: never below the elder minimum
        while fnt.size(label)[0] > rect.width - c.px(12) and size > floor:
            size -= 2
            fnt = theme.font(c.px(size), True)
        c._note(size)
        img = fnt.render(label, True, ink)
        drawn = img.get_rect(center=rect.center)
        c.surface.blit(img, drawn)
        c.text_boxes.append((drawn, rect))
        if enabled:
            self.buttons.append(Button(rect, target, label))


def draw(c: Canvas, state: KeyboardState, top_y: float, elder: bool) -> list[Button]:
    """Paint the keyboard from ``top_y`` (design px) down; returns its touch targets."""
    p = KeyPainter(c, state.pressed, elder)
    s = p.s
    labels = LABELS.get(state.language, LABELS["zh_CN"])
    pygame.draw.rect(c.surface, theme.SECONDARY, (0, c.px(top_y), c.width, c.px(height(state, elder))))
    y = top_y + s["gap"]
    if state.layout == "pinyin":
        y = _draw_candidates(p, state, y)
    margin, gap = 12, s["gap"]
    if state.layout not in ("pinyin", "latin"):
        _draw_keypad(p, state, y, labels)
        return p.buttons
    unit = (1080 - 2 * margin - 9 * gap) / 10
    for r, row in enumerate(LETTER_ROWS):
        x = margin + r * (unit + gap) / 2
        for ch in row:
            p.key(ch.upper() if state.layout == "latin" and state.shift else ch, f"key:{ch}", x, y, unit)
            x += unit + gap
        if r == 2:
            p.key(labels["BKSP"], "key:BKSP", x, y, 1080 - margin - x, special=True)
        y += s["key_h"] + gap
    x = margin
    for name in state.layouts:
        if name != state.layout:
            p.key(labels[name], f"kb:layout:{name}", x, y, unit * 1.5, special=True)
            x += unit * 1.5 + gap
    if state.layout == "latin":
        p.key(labels["SHIFT"], "key:SHIFT", x, y, unit * 1.5, special=True)
        x += unit * 1.5 + gap
    done_w = unit * 2 + gap
    p.key(labels["SPACE"], "key:SPACE", x, y, 1080 - margin - done_w - gap - x)
    p.key(labels["done"], "kb:done", 1080 - margin - done_w, y, done_w, special=True)
    return p.buttons


def _draw_candidates(p: KeyPainter, state: KeyboardState, y: float) -> float:
    """The typed letters (split into syllables) and a bar of candidates with page arrows."""
    c, s = p.c, p.s
    ime = state.ime
    if ime.composing:
        fnt = theme.font(c.px(s["strip_text"]), False)
        img = fnt.render(ime.preedit(), True, theme.TEXT)
        c.surface.blit(img, (c.px(24), c.px(y + (s["strip"] - s["strip_text"] * 1.4) / 2)))
    y += s["strip"]
    margin, gap, arrow_w = 12, s["gap"], 110
    avail = 1080 - 2 * margin - 2 * (arrow_w + gap) + gap  # the cells and the gap after each
    cands = [x.word for x in ime.all_candidates()] if ime.composing else []
    count = _fitting(c, cands, state.offset, avail, s, forward=True)
    words = cands[state.offset:state.offset + count]
    widths = [_cell(c, w, avail, s) for w in words]
    stretch = (avail - sum(w + gap for w in widths)) / max(1, len(widths))
    x = margin + arrow_w + gap
    for k, word in enumerate(words):
        p.key(word, f"cand:{state.offset + k}", x, y, widths[k] + stretch, h=s["bar_h"], size=s["cand"])
        x += widths[k] + stretch + gap
    back = _fitting(c, cands, state.offset, avail, s, forward=False)
    p.key("◀", f"cand:from:{max(0, state.offset - back)}", margin, y, arrow_w, h=s["bar_h"],
          special=True, enabled=state.offset > 0)
    p.key("▶", f"cand:from:{state.offset + count}", 1080 - margin - arrow_w, y, arrow_w, h=s["bar_h"],
          special=True, enabled=state.offset + count < len(cands))
    return y + s["bar_h"] + gap


def _cell(c: Canvas, word: str, avail: float, s: dict[str, int]) -> float:
    """A candidate's cell width (design px): an even share of the bar, wider for a long phrase."""
    text = theme.font(c.px(s["cand"]), True).size(word)[0] / c.scale + 28
    return min(avail - s["gap"], max(avail / s["per_page"] - s["gap"], text))


def _fitting(c: Canvas, cands: list[str], offset: int, avail: float, s: dict[str, int], *, forward: bool) -> int:
    """How many candidates fit the bar from ``offset`` on (or, going back, just before it); at least one."""
    used, count = 0.0, 0
    order = range(offset, len(cands)) if forward else range(offset - 1, -1, -1)
    for i in order:
        used += _cell(c, cands[i], avail, s) + s["gap"]
        if used > avail and count:
            break
        count += 1
        if count == s["per_page"] and not forward:
            break
    return count


def _draw_keypad(p: KeyPainter, state: KeyboardState, y0: float, labels: dict[str, str]) -> None:
    """Digits 3 × 4 on the left; delete, clear, a way back to letters and done on the right."""
    s = p.s
    margin, gap = 12, s["gap"]
    unit = (1080 - 2 * margin - 3 * gap) / 4
    row_h = s["key_h"] + gap
    for r, row in enumerate(DIGIT_ROWS):
        for i, ch in enumerate(row):
            p.key(ch, f"key:{ch}", margin + i * (unit + gap), y0 + r * row_h, unit, enabled=state.key_enabled(ch))
    bottom = y0 + 3 * row_h
    if state.layout == "id_number":
        p.key("X", "key:X", margin, bottom, unit, enabled=state.key_enabled("X"))
        p.key("0", "key:0", margin + unit + gap, bottom, unit * 2 + gap, enabled=state.key_enabled("0"))
    else:
        p.key("0", "key:0", margin, bottom, unit * 3 + gap * 2, enabled=state.key_enabled("0"))
    side = 1080 - margin - unit
    extra = [(labels["BKSP"], "key:BKSP"), (labels["CLEAR"], "key:CLEAR")]
    extra += [(labels[n], f"kb:layout:{n}") for n in state.layouts if n != state.layout][:1]
    for r, (label, target) in enumerate(extra):
        p.key(label, target, side, y0 + r * row_h, unit, special=True)
    p.key(labels["done"], "kb:done", side, bottom, unit, special=True)
