"""The detail screen shows an item's whole 办事指南 (issue 20): every section and paragraph on some page, each
once, in the guide's order, nothing clipped — and audio mode reads them in that order, page by page.

The resident of tests/screens/resident.py opens the item's detail from 全部事项 and turns its pages with
下一页; the layout of every frame is checked (tests/screens/layout_check.py) as it goes.
"""

from __future__ import annotations

import pytest
from resident import Resident

from kiosk import flow
from kiosk.catalog.loading import Catalog
from screens import a11y, paging
from screens.i18n import LANGUAGES, messages

MODES = [pytest.param(False, id="standard"), pytest.param(True, id="elder")]
# The longest guides and the look-alikes: two differences, a guide item's window materials, a fee.
SAMPLE = ("rs-sbjfzm", "sw-sbjf", "yb-cbpz", "bdc-zn", "ga-wgryj", "ga-hzsl", "rs-ylrz", "mz-lxbt")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def read_pages(r: Resident, code: str, language: str) -> tuple[list[list[str]], list[str]]:
    """The texts audio mode reads on each page of ``code``'s detail, first page to last, and the guide's
    headings and paragraphs as the view gives them."""
    r.event(flow.Tapped(f"detail:{code}"))
    assert r.screen == "detail" and r.view().item_code == code
    guide = [text for _, title, lines in r.view().item_guide for text in (title, *lines)]

    def t(key: str, **values: object) -> str:
        return messages().text(language, key, **values)

    pages = []
    while True:
        order = a11y.reading_order(r.view(), r.renderer, t)
        pages.append([e.name for e in order if not e.control])
        if paging.NEXT not in r.targets():
            break
        r.touch(paging.NEXT)
    r.touch("back")
    return pages, guide


def check(r: Resident, code: str, language: str) -> None:
    pages, guide = read_pages(r, code, language)
    heard = [text for page in pages for text in page if text in guide]
    assert heard == guide, (code, language)  # every heading and paragraph, once, in order


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("elder", MODES)
def test_long_guides_are_whole_in_order_and_unclipped_in_every_mode_and_language(surface, catalog, language, elder):
    r = Resident(surface, catalog)
    r.start(language, elder)
    r.touch("browse:all")
    for code in SAMPLE:
        check(r, code, language)
    assert not r.problems, r.problems


def test_every_items_guide_is_whole_and_unclipped_in_elder_english(surface, catalog):
    """The longest texts (English) at the largest size (elder mode), every item."""
    r = Resident(surface, catalog)
    r.start("en", True)
    r.touch("browse:all")
    for item in catalog.items:
        check(r, item.code, "en")
    assert not r.problems, r.problems


def test_the_guide_sections_come_in_the_guides_order(surface, catalog):
    r = Resident(surface, catalog)
    r.start("zh_CN", False)
    r.touch("browse:all")
    heard = [text for page in read_pages(r, "yb-cbpz", "zh_CN")[0] for text in page]
    headings = ["事项说明", "易混事项", "申请条件", "申请材料", "办理地点和时间", "收费标准", "办理时限", "设定依据", "进度查询"]
    assert [h for h in heard if h in headings] == headings
    assert heard[0] == "医保参保凭证打印"  # the title first, then the department and kind, then the guide
