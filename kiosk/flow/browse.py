"""Finding an item and asking for help: attract, home, categories, lists, search, detail, help.

attract ─any touch─► home ─item:<code>─► the item's journey (a print item starts at once) or its detail
                      ├browse:departments / browse:themes─► categories ─► list ─detail:<code>─► detail
                      ├browse:all─► list
                      └search─► search (typed text or a chip) ─detail:<code>─► detail ─begin─► journey
help (from anywhere but a busy screen) ─help:<group> / report:<category>─► RequestHelp; back returns
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.catalog.guide import item_guide
from kiosk.catalog.loading import ServiceItem
from kiosk.flow import journeys, qr, staffed
from kiosk.flow.handler import ScreenHandler
from kiosk.flow.model import Effect, RequestHelp, Screen, Show
from kiosk.flow.views import CategoriesView, ListView, View, shared

if TYPE_CHECKING:
    from kiosk.flow.machine import KioskFlow

SEARCH_CHIPS = ("社保", "公积金", "医保", "户籍", "不动产", "营业执照", "婚姻", "出入境")
HELP_GROUPS = ("elderly", "disabled", "other")
REPORT_CATEGORIES = ("cannot_handle", "too_slow", "system_fault", "other")


def open_item(flow: KioskFlow, item: ServiceItem, *, direct: bool) -> list[Effect]:
    """A featured item starts at once (fewest touches); one from a list shows its detail first."""
    s = flow.start_session()
    s.item = item
    if direct and not flow.unavailable(item) and item.kind == "print":
        return journeys.begin(flow, item)
    flow.return_to = flow.screen
    return flow.go(Screen.DETAIL)


def open_detail(flow: KioskFlow, target: str) -> list[Effect]:
    """``detail:<code>`` on a list: the item's detail ([] for a code the catalog does not have)."""
    item = flow.catalog.get(target[7:])
    return open_item(flow, item, direct=False) if item else []


def entry(flow: KioskFlow, item: ServiceItem) -> tuple[str, str, str, str]:
    """A list row: code, name, department, why it cannot be done here ("" if it can)."""
    return item.code, item.name.get(flow.language), flow.department(item), flow.unavailable(item)


class Attract(ScreenHandler):
    """The attract loop: any touch starts; 办件进度 goes straight to the scan."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        if target == "progress":
            return qr.scan_for(flow, "progress")
        flow.start_session()
        if target.startswith("item:"):  # the attract screen's most used items open straight away
            return HOME.tapped(flow, target) or flow.go(Screen.HOME)
        return flow.go(Screen.HOME)

    def view(self, flow: KioskFlow, base: View) -> View:
        """When staff are on the station's site (issue 24): until when, or when they are next."""
        return staffed.attract_view(base, flow.help_hours, flow.wall_clock())


class Home(ScreenHandler):
    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        if target == "progress":
            return qr.scan_for(flow, "progress")
        if target.startswith("item:"):
            item = flow.catalog.get(target[5:])
            return open_item(flow, item, direct=True) if item else []
        if target in ("browse:departments", "browse:themes"):
            flow.categories = target.split(":")[1]
            return flow.go(Screen.CATEGORIES)
        if target == "browse:all":
            flow.browse = "all"
            return flow.go(Screen.LIST)
        if target == "search":
            flow.query = ""
            return flow.go(Screen.SEARCH)
        return None


class Categories(ScreenHandler):
    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        if target.split(":")[0] in ("dept", "theme", "bundle"):
            flow.browse = target
            return flow.go(Screen.LIST)
        if target == "back":
            return flow.go(Screen.HOME)
        return None

    def view(self, flow: KioskFlow, base: View) -> View:
        lang, catalog = flow.language, flow.catalog
        if flow.categories == "themes":
            entries = ([(f"theme:{code}", t.name.get(lang)) for code, t in catalog.themes.items()]
                       + [(f"bundle:{code}", b.name.get(lang)) for code, b in catalog.bundles.items()])
        else:
            entries = [(f"dept:{code}", d.name.get(lang)) for code, d in catalog.departments.items()]
        return CategoriesView(**shared(base), categories_of=flow.categories, categories=entries)


class ItemList(ScreenHandler):
    """A list of items: a department's, a theme's, a bundle's or all of them."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        if target.startswith("detail:"):
            return open_detail(flow, target)
        if target == "back":
            kind = flow.browse.partition(":")[0]
            return flow.go(Screen.CATEGORIES if kind != "all" else Screen.HOME)
        return None

    def listed(self, flow: KioskFlow) -> list[ServiceItem]:
        catalog = flow.catalog
        kind, _, code = flow.browse.partition(":")
        if kind == "dept":
            return catalog.in_department(code)
        if kind == "theme":
            return catalog.in_theme(code)
        if kind == "bundle":
            return catalog.bundle_items(code)
        return list(catalog.items)

    def title(self, flow: KioskFlow) -> str:
        lang, catalog = flow.language, flow.catalog
        kind, _, code = flow.browse.partition(":")
        if kind == "dept" and code in catalog.departments:
            return catalog.departments[code].name.get(lang)
        if kind == "theme" and code in catalog.themes:
            return catalog.themes[code].name.get(lang)
        if kind == "bundle" and code in catalog.bundles:
            return catalog.bundles[code].name.get(lang)
        return ""

    def view(self, flow: KioskFlow, base: View) -> View:
        return ListView(**shared(base), list_title=self.title(flow), query=flow.query,
                        search_chips=list(SEARCH_CHIPS), list=[entry(flow, i) for i in self.listed(flow)])


class Search(ItemList):
    """The search box (typed with the on-screen keyboard, or a chip) and its hits."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        if target.startswith("detail:"):
            return open_detail(flow, target)
        if target.startswith("q:"):
            flow.query = target[2:]
            return [Show(flow.screen)]
        if target.startswith("bundle:") and target[7:] in flow.catalog.bundles:
            flow.browse = target  # a 一件事 found by search opens as it does from the themes
            flow.categories = "themes"
            return flow.go(Screen.LIST)
        if target == "back":
            return flow.go(Screen.HOME)
        return None

    def typed(self, flow: KioskFlow, text: str) -> list[Effect]:
        flow.query = text[:40]
        return [Show(flow.screen)]

    def listed(self, flow: KioskFlow) -> list[ServiceItem]:
        if not flow.query.strip():
            return []
        return [hit.item for hit in flow.catalog.search(flow.query, limit=30)]

    def title(self, flow: KioskFlow) -> str:
        return ""

    def view(self, flow: KioskFlow, base: View) -> View:
        # Hits in rank order; a 一件事 bundle's row is ``bundle:<code>`` (its browse target), no department.
        # lazy: the search module (OpenCC, the pinyin index) stays off the way to the first touch (P1)
        from kiosk.catalog.search import SearchHit

        rows: list[tuple[str, str, str, str]] = []
        if flow.query.strip():
            for hit in flow.catalog.find(flow.query, limit=30):
                if isinstance(hit, SearchHit):
                    rows.append(entry(flow, hit.item))
                else:
                    rows.append((hit.key, hit.bundle.name.get(flow.language), "", ""))
        return ListView(**shared(base), list_title="", query=flow.query, search_chips=list(SEARCH_CHIPS),
                        list=rows)


def detail_guide(flow: KioskFlow, item: ServiceItem) -> list[tuple[str, str, list[str]]]:
    """The item's 办事指南 sections in the resident's language, for its detail screen."""
    def name_of(code: str) -> str | None:
        other = flow.catalog.get(code)
        return other.name.get(flow.language) if other else None

    return item_guide(item, flow.catalog.departments, name_of, flow.language)


class Detail(ScreenHandler):
    """What an item needs and how long it takes, before the resident begins."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        s = flow.session
        if s is None or s.item is None:
            return None
        if target == "begin":
            return journeys.begin(flow, s.item) if not flow.unavailable(s.item) else []
        if target == "back":
            return flow.go(flow.return_to)
        return None


class Help(ScreenHandler):
    """帮办代办 (someone comes to help) and 办不成事 reports; back returns to where help was asked for."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        s = flow.session
        code = s.item.code if s and s.item else None
        if target.startswith("help:") and target[5:] in HELP_GROUPS:
            return [RequestHelp("help", target[5:], code)]
        if target.startswith("report:") and target[7:] in REPORT_CATEGORIES:
            return [RequestHelp("report", target[7:], code)]
        if target in ("back", "home"):
            return flow.go(flow.return_to)
        if target == "exit":
            return flow.end_session("resident left")
        return []


ATTRACT = Attract()
HOME = Home()
CATEGORIES = Categories()
LIST = ItemList()
SEARCH = Search()
DETAIL = Detail()
HELP = Help()
