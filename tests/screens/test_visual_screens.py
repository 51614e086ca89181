"""The application screens in the visual language (issue 24), as a resident sees them: the form and the
review grouped like the paper form, each 一件事 item with its department's mark, and a result that says
how it went beside a large status mark. Drawn by the real renderer from the real flow's views."""

from __future__ import annotations

from dataclasses import replace

import pygame
import pytest
from test_accessibility import every_screen_view

from screens import icons, theme
from screens.i18n import messages
from screens.renderer import Renderer


@pytest.fixture(scope="module")
def views():
    return every_screen_view("zh_CN")


def texts(renderer: Renderer) -> list[str]:
    return [text for text, _, _ in renderer.canvas.texts]


def t(key: str, **values: object) -> str:
    return messages().text("zh_CN", key, **values)


@pytest.mark.parametrize("elder", [False, True], ids=["standard", "elder"])
def test_the_review_reads_like_the_paper_form(surface, views, elder):
    """Applicant, answers and documents under their headings, in that order; a fetched e-licence says so."""
    renderer = Renderer(surface)
    view = replace(views["review_licences"], elder=elder)
    renderer.render(view)
    drawn = texts(renderer)
    headings = [t("review_section_applicant"), t("review_section_fields"), t("review_section_materials")]
    at = [drawn.index(h) for h in headings]
    assert at == sorted(at)
    assert drawn.index(t("confirm_name")) > at[0] and drawn.index(view.applicant_id) < at[1]
    answers = [f.label for f in view.fields if not f.locked]
    assert all(at[1] < drawn.index(label) < at[2] for label in answers)
    fetched, scanned = view.item_materials
    assert drawn.index(fetched) > at[2] and drawn[drawn.index(fetched) + 1] == t("materials_licence_fetched")
    assert drawn[drawn.index(scanned) + 1] == t("materials_pages", count=1)


def test_the_form_puts_the_cards_fields_and_the_residents_in_groups(surface, views):
    renderer = Renderer(surface)
    view = views["form"]
    renderer.render(view)
    drawn = texts(renderer)
    card, own = drawn.index(t("review_section_applicant")), drawn.index(t("review_section_fields"))
    locked = [f.label for f in view.fields if f.locked]
    at = [i for i, text in enumerate(drawn) if any(text.startswith(label) for label in locked)]
    assert len(at) == len(locked) and all(card < i < own for i in at)


def test_each_bundle_item_carries_its_departments_mark(surface, views):
    renderer = Renderer(surface)
    view = views["bundle"]
    renderer.render(view)
    rows = {target: icon for target, icon in renderer.canvas.button_icons.items() if target.startswith("detail:")}
    assert rows and all(icon and icon == icons.for_target("item:" + target[7:]) for target, icon in rows.items())


def test_the_bundle_result_says_how_it_went_beside_a_large_mark(surface, views):
    """One item refused: the statement counts it, with the warning's mark beside it; all through: done."""
    renderer = Renderer(surface)
    view = views["bundle_result"]
    failed = sum(1 for p in view.parts if p.state == "failed")
    assert failed == 1
    renderer.render(view)
    statement = next(block for text, block, _ in renderer.canvas.texts if text == t("bundle_result_partly", failed=1))
    mark = pygame.Rect(0, statement.top - 40, statement.left, statement.height + 80)
    warning = sum(1 for x in range(mark.left, mark.right, 2) for y in range(mark.top, mark.bottom, 2)
                  if surface.get_at((x, y))[:3] == theme.WARNING)
    assert warning > 50
    parts = [replace(p, state="accepted") if p.state == "failed" else p for p in view.parts]
    renderer.render(replace(view, parts=parts))
    assert t("bundle_result_done") in texts(renderer)
