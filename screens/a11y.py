"""The accessible tree: what audio mode reads, built from the frame the screen just drew.

A blind resident cannot find buttons on glass, so every screen also exists as a *reading order*: its
elements one after another — the title, the texts, the passing message, the form's fields, the list's
entries and every button — each with a role, a name, a state and, for controls, its position
("按钮，确认打印，第 2 个，共 3 个"). The keypad moves through it and Enter activates the focused control
with the same target a touch on it sends (``screens/app.py``).

Nothing here is written twice: the controls are the buttons the renderer recorded for this frame (each
``Button`` carries the label it was drawn with), and the texts are the ones the canvas drew
(``Canvas.texts``, with the control a text belongs to, such as a field's label and check result). So
what is spoken is what is shown, and a property test checks every control drawn is in the reading order
(``tests/screens/test_audio_reading_order.py``). The view adds only what the drawing has no words for:
which choice is selected, which language is on, how many entries a list holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pygame

from kiosk.flow.views import FormView, ListView, View
from screens.renderer import Renderer

Text = Callable[..., str]

# Roles (spoken as config/messages.toml's a11y_role_<role>): heading, text, message, button, field,
# choice, entry (of a list), key (of a keypad), language.
# Buttons every screen shares: read after the screen's own controls (the content first).
CHROME = ("speak:repeat", "speech", "elder", "lang:", "exit", "help", "back", "home")
_PAGE = re.compile(r"^\d+ / \d+$")  # the pager's "3 / 5": said as the list's page instead
_MASKED = re.compile(r"[*＊●]+")
_DIGITS = re.compile(r"[0-9A-Z][0-9A-Z\-]{4,}[0-9A-Z]")  # said one by one when it holds 5 digits or more


@dataclass(frozen=True)
class Element:
    """One thing in a screen's reading order.

    ``target`` is what Enter sends ("" for texts); ``rect`` where it is drawn (device px);
    ``index`` / ``count``: its place among the screen's controls (0 for texts)."""

    role: str
    name: str
    state: str = ""
    target: str = ""
    rect: pygame.Rect | None = None
    index: int = 0
    count: int = 0

    @property
    def control(self) -> bool:
        return bool(self.target)


def reading_order(view: View, renderer: Renderer, t: Text) -> list[Element]:
    """The elements of the frame ``renderer`` drew last for ``view``, in reading order."""
    canvas = renderer.canvas
    texts = list(canvas.texts)
    if renderer.overlay_from is not None:  # the idle warning: only it can be operated, only it is read
        texts = texts[renderer.overlay_from:]
    buttons = list(renderer.buttons)
    out: list[Element] = []
    message = renderer.message_text
    parts: dict[str, list[str]] = {}
    header_bottom = canvas.px(160)
    for text, rect, part in texts:
        if part:
            parts.setdefault(part, []).append(text)
            continue
        if not text.strip() or text == message or _PAGE.match(text.strip()) or \
                text in (t("page_prev"), t("page_next")):
            continue  # the pager's position and its ends are said with its buttons
        if any(b.rect.contains(rect) for b in buttons):
            continue  # a button's own label or a box's content: read with the control
        role = "heading" if rect.bottom <= header_bottom and not out else "text"
        out.append(Element(role, text, rect=rect))
    if message:
        out.insert(1 if out and out[0].role == "heading" else 0,
                   Element("message", message, rect=renderer.message_rect))
    controls = [_control(b.target, b.label, b.rect, view, renderer, parts, t) for b in buttons]
    # Fields shown without a control (filled from the card: read only) are read where they stand.
    if isinstance(view, FormView) and renderer.overlay_from is None:
        touchable = {b.target for b in buttons}
        for f in view.fields:
            key = f"field:{f.key}"
            if key in parts and key not in touchable and f.type != "choice":
                said = parts[key]
                out.append(Element("field", said[0], _join(t("a11y_read_only"), *said[1:])))
            elif key in parts and f.type == "choice":
                out.append(Element("text", parts[key][0]))
    own = [c for c in controls if not c.target.startswith(CHROME)]
    chrome = [c for c in controls if c.target.startswith(CHROME)]
    ordered = sorted(own, key=_place) + chrome
    count = len(ordered)
    out += [Element(c.role, c.name, c.state, c.target, c.rect, i + 1, count) for i, c in enumerate(ordered)]
    return out


def _place(e: Element) -> tuple[int, int]:
    """Top to bottom, then left to right (rows of the same line read left first)."""
    r = e.rect or pygame.Rect(0, 0, 0, 0)
    return (r.top // 8, r.left)


def _control(target: str, label: str, rect: pygame.Rect, view: View, renderer: Renderer,
             parts: dict[str, list[str]], t: Text) -> Element:
    """A button as audio mode reads it: role by what it does, the label it was drawn with, its state."""
    name = label.removeprefix("● ").strip() or target
    if target.startswith("field:"):
        said = parts.get(target, [])
        state = _field_state(target[6:], view, renderer, said, t)
        return Element("field", said[0] if said else name, state, target, rect)
    if target.startswith("choice:"):
        _, key, value = target.split(":", 2)
        chosen = isinstance(view, FormView) and any(f.key == key and f.value == value for f in view.fields)
        group = parts.get(f"field:{key}", [""])[0]
        return Element("choice", name, _join(t("a11y_selected" if chosen else "a11y_not_selected"), group),
                       target, rect)
    if target.startswith("lang:"):
        on = view.language == target[5:]
        return Element("language", name, t("a11y_selected") if on else "", target, rect)
    if target.startswith(("detail:", "dept:", "theme:", "bundle:", "slot:")):
        state = ""
        if isinstance(view, ListView) and target.startswith("detail:"):
            codes = [e[0] for e in view.list]
            if target[7:] in codes:
                state = t("a11y_of_list", index=codes.index(target[7:]) + 1, count=len(codes))
        return Element("entry", name, state, target, rect)
    if target.startswith(("key:", "cand:", "date:", "kb:layout:", "pk:")) or target == "kb:done":
        return Element("key", name, "", target, rect)
    if target.startswith("page:"):
        scrolled = renderer.canvas.scrolled
        state = ""
        if scrolled is not None:
            page = scrolled.page_of(min(renderer.scroll, scrolled.limit))
            state = t("a11y_page", page=page, pages=scrolled.pages())
        return Element("button", name, state, target, rect)
    return Element("button", name, "", target, rect)


def _field_state(key: str, view: View, renderer: Renderer, said: list[str], t: Text) -> str:
    """A text field's value (masked values read as hidden) and its check result."""
    field = next((f for f in view.fields if f.key == key), None) if isinstance(view, FormView) else None
    if field is None:
        return ""
    typing = isinstance(view, FormView) and view.focus == key
    checked = t("problem_" + field.problem) if field.problem else ""  # as drawn under the field
    if typing:
        text = getattr(renderer.keyboard, "text", view.focus_text)
        value = spoken_characters(text) if text else t("a11y_empty")
        problem = checked or getattr(renderer.keyboard, "problem", lambda **_: None)()
        return _join(t("a11y_typing"), value, t("a11y_problem", problem=problem) if problem else "")
    value = field.value
    shown = t("a11y_empty") if not value else t("a11y_masked") if _MASKED.search(value) else value
    problem = t("a11y_problem", problem=checked) if checked else ""
    return _join(shown, t("a11y_required") if field.required and not value else "", problem)


def _join(*parts: str) -> str:
    return "，".join(p for p in parts if p)


def say_element(e: Element, t: Text) -> str:
    """One element as spoken: "按钮，确认打印，第 2 个，共 3 个"; texts are read as they are."""
    if e.role in ("heading", "text"):
        return e.name
    role = t("a11y_role_" + e.role)
    # A list's entry says its place in the whole list (its state) rather than on this page.
    position = t("a11y_position", index=e.index, count=e.count) if e.control and not \
        (e.role == "entry" and e.state) else ""
    return _join(role, e.name, e.state, position)


def say_screen(elements: list[Element], t: Text, *, focus: int = -1) -> str:
    """A new screen: its title, texts and message, how many controls it has, then the focused one."""
    said = [say_element(e, t) for e in elements if not e.control]
    controls = [e for e in elements if e.control]
    pager = next((e for e in controls if e.target.startswith("page:") and e.state), None)
    if pager is not None:  # a list that pages: which page of how many
        said.append(pager.state)
    said.append(t("a11y_controls", count=len(controls)) if controls else t("a11y_no_controls"))
    if 0 <= focus < len(elements) and elements[focus].control:
        said.append(say_element(elements[focus], t))
    return sentences(*said)


def sentences(*parts: str) -> str:
    """Parts said one after another, each ending in one full stop (none doubled)."""
    kept = [p.strip().rstrip("。.：:") for p in parts if p and p.strip()]
    return "。".join(p for p in kept if p)


def spoken_characters(text: str) -> str:
    """Digits and letters one by one, as people read ID and receipt numbers (1 1 0 1 0 5 …)."""
    return " ".join(ch for ch in text if not ch.isspace())


def for_speech(text: str, t: Text) -> str:
    """``text`` made ready for the synthesiser: masked runs said as hidden, long numbers (ID numbers,
    receipt and phone numbers) digit by digit."""
    text = _MASKED.sub(f" {t('a11y_masked')} ", text)
    def one_by_one(m: re.Match[str]) -> str:
        run = m.group(0)
        if sum(ch.isdigit() for ch in run) < 5:
            return run
        return " " + spoken_characters(run.replace("-", " ")) + " "

    return _DIGITS.sub(one_by_one, text)
