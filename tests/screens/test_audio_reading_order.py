"""Every screen has a reading order for audio mode, and it holds every control drawn (issue 23).

The resident of tests/screens/resident.py who only touches walks the reachability test's walks (every
department, theme, bundle and item; every apply form filled and submitted) and the screens those walks
do not pass (the print journey's end, the idle warning, help, search, the QR steps, the error and
timeout notices), in both modes and the three languages. On every frame drawn:

- the reading order (screens/a11y.py) is not empty and every element says something;
- every control drawn (every button the renderer recorded) is in it, once, with the target a touch on
  it sends, and each control says its place ("第 2 个，共 3 个");
- nothing in it is off screen.
"""

from __future__ import annotations

import pygame
import pytest
import test_reachability as walks
from resident import Resident

from devices.id_card.identity import sample_cards
from kiosk import flow
from screens import a11y
from screens.i18n import LANGUAGES, messages

MODES = walks.MODES
surface = walks.surface
catalog = walks.catalog


class ListeningResident(Resident):
    """The touch-only resident, checking each frame's reading order as it goes."""

    def __init__(self, *args, **kwargs) -> None:
        self.reading_problems: dict[str, list[str]] = {}
        self.screens_read: set[str] = set()
        super().__init__(*args, **kwargs)

    def draw(self) -> None:
        super().draw()
        view = self.view()
        lang = view.language

        def t(key: str, **values: object) -> str:
            return messages().text(lang, key, **values)

        order = a11y.reading_order(view, self.renderer, t)
        where = f"{view.screen} {lang} elder={view.elder} warning={view.warning} {view.item_code}"
        self.screens_read.add(view.screen + (":warning" if view.warning else ""))
        found = []
        if not order:
            found.append("empty reading order")
        targets = [e.target for e in order if e.control]
        drawn = [b.target for b in self.renderer.buttons]
        if sorted(targets) != sorted(drawn):
            found.append(f"controls {sorted(set(drawn) ^ set(targets))} not read once each")
        screen = self.renderer.canvas.surface.get_rect()
        for e in order:
            said = a11y.say_element(e, t)
            if not e.name.strip() or not said.strip():
                found.append(f"{e.role} {e.target!r} says nothing")
            if e.rect is not None and not screen.contains(e.rect):
                found.append(f"{e.role} {e.name!r} off screen at {e.rect}")
            if e.control and t("a11y_position", index=e.index, count=e.count) not in said and \
                    not (e.role == "entry" and e.state):
                found.append(f"{e.target!r} does not say its place")
        if found:
            self.reading_problems.setdefault(where, found)


@pytest.fixture(autouse=True)
def listening(monkeypatch):
    """The reachability walks, walked by the listening resident."""
    monkeypatch.setattr(walks, "Resident", ListeningResident)
    seen: list[ListeningResident] = []
    original = ListeningResident.__init__

    def remember(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen.append(self)

    monkeypatch.setattr(ListeningResident, "__init__", remember)
    yield seen
    problems = {k: v for r in seen for k, v in r.reading_problems.items()}
    assert not problems, problems


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("elder", MODES)
def test_every_department_theme_bundle_and_item_is_read(surface, catalog, language, elder):
    walks.test_every_department_theme_bundle_and_item_is_reached_by_touches(surface, catalog, language, elder)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("elder", MODES)
def test_every_apply_form_is_read_while_filled(surface, catalog, language, elder):
    walks.test_every_apply_form_is_filled_and_submitted_by_touches(surface, catalog, language, elder)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("elder", MODES)
def test_the_other_screens_are_read(surface, catalog, language, elder, listening):
    """Help, search, the progress lookup's scan and keypad, the card prompt, the consent, the idle
    warning, the print item to its end (working, printing, done with the rating and its why, thanks)
    and the timeout notice."""
    r = ListeningResident(surface, catalog, check_layout=False)
    r.start(language, elder)
    r.touch("help")
    r.touch("back")
    r.touch("search")
    r.touch("back")
    r.touch("progress")
    assert r.screen == "scan"
    r.touch("type_receipt")
    assert r.screen == "receipt_entry"
    r.touch("pk:1")
    r.touch("back")
    r.touch("back") if "back" in r.targets() else r.touch("exit")
    if r.screen == "attract":
        r.start(language, elder)
    r.touch("item:rs-sbjfzm")
    assert r.screen == "card_prompt"
    r.event(flow.CardRead(sample_cards()[0]))
    assert r.screen == "consent"
    r.flow.clock.now += r.flow._idle_limit() + 1  # nobody presses anything: the idle warning
    r.event(flow.Tick())
    assert r.view().warning
    r.touch("extend")
    r.touch("consent")
    r.event(flow.FaceCaptured(b"\xff\xd8face", True))
    r.event(flow.IdentityChecked(True))
    r.event(flow.DocumentFetched({"title": "社会保险参保缴费证明", "doc_no": "D1", "rows": []}))
    asked = r.flow.handle(flow.SubmissionAccepted("HC-DEMO-001-20261121-000001"))
    r.draw()
    job = next(e for e in asked if isinstance(e, flow.PrintReceipt)).job_id
    r.event(flow.PrintFinished(job, True))
    assert r.screen == "done"
    r.touch("rate:5")  # a bad rating asks why
    r.touch(next(x for x in r.targets() if x.startswith("why:")))
    assert r.screen == "thanks"
    r.flow.clock.now += 60
    r.event(flow.Tick())
    r.start(language, elder)  # a second visit, left alone: the timeout notice
    r.flow.clock.now += 10_000
    r.event(flow.Tick())
    r.event(flow.Tick())
    read = set().union(*(x.screens_read for x in listening))
    assert {"attract", "home", "help", "search", "scan", "receipt_entry", "card_prompt", "consent",
            "consent:warning", "working", "printing", "done", "thanks", "timeout"} <= read, read


def test_a_field_reads_its_value_masked_and_its_check(surface, catalog):
    """A typed ID number is read back digit by digit while typed, hidden once done, with its check."""
    r = ListeningResident(surface, catalog, check_layout=False)
    r.start("zh_CN", False)
    r.event(flow.CardRead(sample_cards()[0]))
    r.touch("browse:all")
    r.event(flow.Tapped("detail:yb-gjbd"))
    r.touch("begin")
    walks.identify(r, catalog.get("yb-gjbd"))

    def field() -> a11y.Element:
        view = r.view()
        order = a11y.reading_order(view, r.renderer, lambda k, **v: messages().text("zh_CN", k, **v))
        return next(e for e in order if e.target == "field:member_id_number")

    assert "未填写" in field().state and "必填" in field().state
    r.touch("field:member_id_number")
    for ch in "11010519":
        r.touch(f"key:{ch}")
    assert "1 1 0 1 0 5 1 9" in field().state  # digit by digit while typed
    r.touch("kb:done")
    assert "请注意" in field().state  # too short: the check says so
    r.type_rest("11010519491231002X")
    r.touch("kb:done")
    said = a11y.say_element(field(), lambda k, **v: messages().text("zh_CN", k, **v))
    assert said.startswith("输入框，家庭成员公民身份号码") and "已隐藏" in said, said
    assert "0519491231" not in said.replace(" ", "")  # masked, never read out in full
    assert pygame.Rect(0, 0, 1080, 1920).contains(field().rect)
