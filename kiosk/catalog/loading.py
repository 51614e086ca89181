"""The service catalog: which self-service items this terminal offers, and how to find them.

The packaged catalog is a folder, ``config/catalog/``: one TOML file per department (a
``[department]`` table and its ``[[items]]``), plus ``fields.toml`` (form fields shared by many
items, referenced by key), ``themes.toml`` (life events) and ``bundles.toml`` (高效办成一件事).
It is a sample configuration: no public list of Xiamen's 292 items exists.

:meth:`Catalog.load` reads and checks everything at once and raises :class:`CatalogError` listing
every problem with its file, item code and field, so a kiosk with a broken catalog refuses to
start and says exactly where. 繁體 texts are derived from 简体 with OpenCC unless the file gives
them.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from kiosk.catalog.model import (
    Bundle,
    CatalogProblem,
    Department,
    FormField,
    Guide,
    LocalizedText,
    Office,
    ServiceItem,
    Theme,
)
from kiosk.catalog.packed import cache_dir, write_bytes
from kiosk.catalog.rules import check_catalog, check_guides

if TYPE_CHECKING:
    from kiosk.catalog.search import BundleHit, CatalogSearch, SearchHit
    from kiosk.catalog.synonyms import SearchWords

__all__ = ["Catalog", "CatalogError", "CatalogProblem", "LocalizedText", "ServiceItem"]

_TOP_LEVEL = {"department", "items", "fields", "themes", "bundles"}
_GUIDE_TOP_LEVEL = {"department", "office", "items"}
GUIDES = "guides"
"""The catalog's sub-folder of guide files: one per department, ``<dept>.toml``."""


log = logging.getLogger(__name__)


class CatalogError(Exception):
    """The catalog is missing or malformed; ``problems`` say where, the message lists them."""

    def __init__(self, problems: list[CatalogProblem] | str) -> None:
        if isinstance(problems, str):
            problems = [CatalogProblem("", "", "", problems)]
        self.problems = problems
        shown = "\n  ".join(str(p) for p in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"the service catalog has {len(problems)} problem(s); fix the data files:"
                         f"\n  {shown}{more}")


def _location(loc: Iterable[int | str], entry: dict[str, Any]) -> str:
    """``('fields', 2, 'type')`` → ``fields.mobile.type``: name list entries by key where known."""
    parts: list[str] = []
    node: Any = entry
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            node = node[part]
            key = node.get("key") if isinstance(node, dict) else None
            parts.append(str(key) if isinstance(key, str) else f"[{part}]")
        else:
            node = node.get(part) if isinstance(node, dict) else None
            parts.append(str(part))
    return ".".join(parts).replace(".[", "[")


def _validate(model: type[BaseModel], raw: Any, file: str, code: str,
              problems: list[CatalogProblem]) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            field = _location(err["loc"], raw if isinstance(raw, dict) else {})
            message = err["msg"]
            if err["type"] == "missing" and field.endswith(("zh_TW", "en", "zh_CN")):
                message = "missing translation"
            problems.append(CatalogProblem(file, code, field or "(entry)", message))
        return None


def _files(path: Path | None) -> Iterator[tuple[str, str]]:
    """(display name, text) of each catalog file, sorted by name."""
    if path is None:
        folder: Traversable = resources.files("config").joinpath("catalog")
        entries = sorted((e for e in folder.iterdir() if e.name.endswith(".toml")), key=lambda e: e.name)
        for entry in entries:
            yield f"config/catalog/{entry.name}", entry.read_text(encoding="utf-8")
        return
    paths = sorted(path.glob("*.toml")) if path.is_dir() else [path]
    for p in paths:
        yield str(p), p.read_text(encoding="utf-8")


def _guide_files(path: Path | None) -> tuple[bool, list[tuple[str, str]]]:
    """Whether the catalog has a guides folder, and (display name, text) of each guide file in it."""
    if path is None:
        folder: Traversable = resources.files("config").joinpath("catalog").joinpath(GUIDES)
        if not folder.is_dir():
            return False, []
        entries = sorted((e for e in folder.iterdir() if e.name.endswith(".toml")), key=lambda e: e.name)
        return True, [(f"config/catalog/{GUIDES}/{e.name}", e.read_text(encoding="utf-8")) for e in entries]
    folder_path = (path if path.is_dir() else path.parent) / GUIDES
    if not path.is_dir() or not folder_path.is_dir():
        return False, []
    return True, [(str(p), p.read_text(encoding="utf-8")) for p in sorted(folder_path.glob("*.toml"))]


class Catalog:
    """Items by code, in display order (featured first, then by department file)."""

    def __init__(self, items: list[ServiceItem], *, departments: dict[str, Department] | None = None,
                 themes: dict[str, Theme] | None = None, bundles: dict[str, Bundle] | None = None,
                 fields: dict[str, FormField] | None = None, source: str = "",
                 search_words: SearchWords | None = None) -> None:
        featured = sorted((i for i in items if i.featured is not None), key=lambda i: i.featured or 0)
        self.items: list[ServiceItem] = featured + [i for i in items if i.featured is None]
        self._by_code = {item.code: item for item in items}
        if len(self._by_code) != len(items):
            dupes = [c for c, n in Counter(i.code for i in items).items() if n > 1]
            raise CatalogError([CatalogProblem("", c, "code", "duplicate item code") for c in dupes])
        self.departments: dict[str, Department] = departments or {}
        self.themes: dict[str, Theme] = themes or {}
        self.bundles: dict[str, Bundle] = bundles or {}
        self.fields: dict[str, FormField] = fields or {}
        self.source = source
        self.search_words = search_words
        """How residents ask (``config/catalog/synonyms.toml``): question words, verbs, synonyms, terms."""
        self._search: CatalogSearch | None = None
        self._search_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.items)

    def get(self, code: str) -> ServiceItem | None:
        """The item with this code, or None."""
        return self._by_code.get(code)

    def featured(self, limit: int = 8) -> list[ServiceItem]:
        """The few items the home screen shows as buttons, in their ``featured`` order."""
        return [i for i in self.items if i.featured is not None][:max(0, limit)]

    def in_department(self, code: str) -> list[ServiceItem]:
        """Items of one department (by department code), in display order."""
        return [i for i in self.items if i.department_code == code]

    def in_theme(self, code: str) -> list[ServiceItem]:
        """Items listed under a life-event theme, most used first."""
        return sorted((i for i in self.items if code in i.themes), key=lambda i: -i.popularity)

    def bundle_items(self, code: str) -> list[ServiceItem]:
        """The items of a bundle, in the order they run; [] for an unknown bundle."""
        bundle = self.bundles.get(code)
        return [self._by_code[c] for c in bundle.items if c in self._by_code] if bundle else []

    def follow_ups(self, code: str) -> list[ServiceItem]:
        """Items triggered without a new application (免申即办) when ``code`` is done."""
        item = self._by_code.get(code)
        return [self._by_code[c] for c in item.follow_ups if c in self._by_code] if item else []

    def triggered_by(self, code: str) -> list[ServiceItem]:
        """Items whose completion triggers ``code`` (the reverse of :meth:`follow_ups`)."""
        return [i for i in self.items if code in i.follow_ups]

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """Items matching ``query`` typed any way (汉字, 繁體, pinyin, initials, one typo), best first.
        Never raises on any string. The index is built on first use (see :meth:`prepare_search`)."""
        return self.prepare_search().search(query, limit)

    def find(self, query: str, limit: int = 20) -> list[SearchHit | BundleHit]:
        """Like :meth:`search`, with the 一件事 bundles among the results (``hit.key`` is ``bundle:<code>``
        for those): what the search screen lists."""
        return self.prepare_search().find(query, limit)

    def prepare_search(self) -> CatalogSearch:
        """Build the search index now (≈ 20 ms with its syllable cache, ≈ 0.5 s without), e.g. on a
        thread while the attract screen shows, so the first keystroke is quick; thread-safe."""
        with self._search_lock:  # built once, by whichever thread asks first; the others wait for it
            if self._search is None:
                from kiosk.catalog.search import CatalogSearch  # lazy: pulls in OpenCC and the pinyin index

                self._search = CatalogSearch(self.items, list(self.bundles.values()), self.search_words)
            return self._search

    def prepare_traditional(self) -> int:
        """Load the catalog's derived 繁體 texts from their cache file (converted in a helper process when
        missing), so OpenCC's s2tw tables never load here (≈ 45 MB); e.g. on a thread after start-up."""
        # lazy: only the app warms it, off its UI thread
        from kiosk.catalog.traditional import prepare_traditional

        return prepare_traditional([self.items, self.departments, self.themes, self.bundles, self.fields])

    def warm_up(self) -> None:
        """What the app prepares off its UI thread once it is up (`kiosk app` runs this on a thread after
        *ready*): the 繁體 texts, the search index and the keyboard's pinyin index, each from its cache file."""
        # lazy: the keyboard's index is never on the first-touch path
        from kiosk.catalog.ime import shared_index

        self.prepare_traditional()
        self.prepare_search()
        shared_index()

    def record(self, item: ServiceItem) -> dict[str, Any]:
        """The item as plain JSON-ready data, every text in all three languages (繁體 derived)."""
        record: dict[str, Any] = _with_traditional(item.model_dump(mode="json", by_alias=True, exclude_none=True))
        return record

    def stats(self) -> dict[str, Any]:
        """Counts for ``kiosk catalog stats``: items, departments, kinds, identity levels …"""
        return {
            "items": len(self.items),
            "departments": dict(Counter(i.department for i in self.items)),
            "kinds": dict(Counter(i.kind for i in self.items)),
            "identity": dict(Counter(i.identity for i in self.items)),
            "face_items": sum(1 for i in self.items if i.uses_face()),
            "instant": sum(1 for i in self.items if i.instant),
            "with_fee": sum(1 for i in self.items if i.fee_yuan > 0),
            "themes": {t: len(self.in_theme(t)) for t in self.themes},
            "bundles": {b.code: len(b.items) for b in self.bundles.values()},
            "featured": [i.code for i in self.featured(99)],
        }

    @classmethod
    def load(cls, path: Path | str | None = None, *, require_guides: bool = False) -> Catalog:
        """Read and check the catalog: the packaged ``config/catalog/`` folder when ``path`` is
        None, else a folder of TOML files or one file. Raises :class:`CatalogError` naming every
        problem (file, code, field). A catalog with a ``guides/`` folder (the packaged one) needs a
        complete guide for every item; ``require_guides`` (``kiosk catalog validate``) needs one even
        when the folder is missing."""
        path = Path(path) if path is not None else None
        source = str(path) if path else "config/catalog (packaged)"
        if path is not None and not path.exists():
            raise CatalogError(f"{path}: no such file or folder; point --catalog at the catalog folder")
        problems: list[CatalogProblem] = []
        parsed: list[tuple[str, dict[str, Any]]] = []
        toml = ParsedToml()
        guides: list[tuple[str, dict[str, Any]]] = []
        has_guides = False
        try:
            for name, text in _files(path):
                try:
                    parsed.append((name, toml.loads(text)))
                except tomllib.TOMLDecodeError as exc:
                    problems.append(CatalogProblem(name, "", "", f"not valid TOML: {exc}"))
            has_guides, guide_texts = _guide_files(path)
            for name, text in guide_texts:
                try:
                    guides.append((name, toml.loads(text)))
                except tomllib.TOMLDecodeError as exc:
                    problems.append(CatalogProblem(name, "", "", f"not valid TOML: {exc}"))
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(f"{source}: cannot read the catalog: {exc}") from exc
        toml.save()
        if not parsed and not problems:
            raise CatalogError(f"{source}: no catalog files (*.toml) found")
        parts = _Parts()
        for name, raw in parsed:
            parts.add_file(name, raw, problems)
        for name, raw in guides:
            parts.add_guides(name, raw, problems)
        parts.build_items(problems)
        problems += _check_search_words(parts)
        problems += check_catalog(parts.items, parts.departments, parts.themes, parts.bundles,
                                  parts.item_files, parts.bundle_files)
        if has_guides or require_guides:
            guide_folder = f"{path if path is not None and path.is_dir() else 'config/catalog'}/{GUIDES}"
            declared = {str(entry.get("code", "")) for _, _, entry in parts.raw_items}
            problems += check_guides(parts.items, parts.departments, parts.guide_files, guide_folder, declared)
        if problems:
            raise CatalogError(problems)
        return cls(parts.items, departments=parts.departments, themes=parts.themes,
                   bundles=parts.bundles, fields=parts.fields, source=source, search_words=parts.search_words)


PARSED_FILE = "catalog-parsed.json"
PARSED_STAMP = f"format 2; python {sys.version_info[0]}.{sys.version_info[1]}"


class ParsedToml:
    """The catalog's TOML parsed once: each file's data kept as JSON in the cache folder
    (``catalog-parsed.json``, :func:`kiosk.catalog.packed.cache_dir`) keyed by the file's whole text, so
    later starts skip tomllib's pure-Python parser (≈ 60 ms on the way to the first touch, P1). The data
    is validated as before; only data JSON carries exactly is kept (a TOML date is parsed every time); a
    missing, stale or damaged cache is parsed afresh and rewritten, never a crash."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_dir() / PARSED_FILE
        self._known: dict[str, Any] = {}
        try:
            data = json.loads(self.path.read_bytes())
            if isinstance(data, dict) and data.get("stamp") == PARSED_STAMP and isinstance(data.get("files"), dict):
                self._known = data["files"]
        except (OSError, ValueError):
            pass  # parsed afresh below and rewritten
        self._used: dict[str, Any] = {}
        self._changed = False

    def loads(self, text: str) -> dict[str, Any]:
        """``tomllib.loads(text)``, from the cache when it has this text; raises as tomllib does."""
        cached = self._known.get(text)  # keyed by the file's whole text: a hit is the very same file
        if isinstance(cached, str):
            try:
                fresh = json.loads(cached)  # the caller's own object, as tomllib would give
            except ValueError:
                fresh = None
            if isinstance(fresh, dict):
                self._used[text] = cached
                return fresh
        data = tomllib.loads(text)
        encoded = json.dumps(data, ensure_ascii=False, default=str)
        if json.loads(encoded) == data:
            self._used[text] = encoded
            self._changed = True
        return data

    def save(self) -> None:
        """Keep what this load parsed (only this load's files) when anything changed."""
        if not self._changed and set(self._used) == set(self._known):
            return
        try:
            write_bytes(self.path, json.dumps({"stamp": PARSED_STAMP, "files": self._used},
                                              ensure_ascii=False).encode("utf-8"))
        except OSError as exc:
            log.warning("catalog: cannot keep the parsed catalog at %s (%s)", self.path, exc)


class _Parts:
    """What the files hold, gathered before items are built (fields may be defined in a later file)."""

    def __init__(self) -> None:
        self.search_words: SearchWords | None = None  # how residents ask (synonyms.toml)
        self.search_file = ""
        self.departments: dict[str, Department] = {}
        self.themes: dict[str, Theme] = {}
        self.bundles: dict[str, Bundle] = {}
        self.fields: dict[str, FormField] = {}
        self.items: list[ServiceItem] = []
        self.item_files: dict[str, str] = {}
        self.bundle_files: dict[str, str] = {}
        self.raw_items: list[tuple[str, Department, dict[str, Any]]] = []
        self.guide_files: dict[str, str] = {}
        """Item code → the guide file that gave its guide (codes of unknown items included)."""
        self._guides: dict[str, Guide] = {}

    def add_guides(self, name: str, raw: dict[str, Any], problems: list[CatalogProblem]) -> None:
        """A guide file: ``department = "<code>"``, its ``[office]`` and ``[items.<code>]`` guides."""
        for key in raw:
            if key not in _GUIDE_TOP_LEVEL:
                problems.append(CatalogProblem(name, "", key, "unknown table; expected one of "
                                               + ", ".join(sorted(_GUIDE_TOP_LEVEL))))
        code = raw.get("department")
        department = self.departments.get(code) if isinstance(code, str) else None
        if department is None:
            problems.append(CatalogProblem(name, "", "department", f"names no known department ({code!r}); "
                                           "write department = \"<code>\" of a department file"))
        elif "office" in raw:
            office = _validate(Office, raw["office"], name, "office", problems)
            if office is not None:
                if department.office is not None:
                    problems.append(CatalogProblem(name, "office", "", f"{code!r} has an office in two files"))
                self.departments[department.code] = department.model_copy(update={"office": office})
        entries = raw.get("items", {})
        if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
            problems.append(CatalogProblem(name, "", "items", "must be tables keyed by item code ([items.<code>])"))
            return
        for item_code, entry in entries.items():
            if item_code in self.guide_files:
                problems.append(CatalogProblem(name, item_code, "", f"a second guide (also in "
                                               f"{self.guide_files[item_code]})"))
                continue
            self.guide_files[item_code] = name
            guide = _validate(Guide, entry, name, item_code, problems)
            if guide is not None:
                self._guides[item_code] = guide

    def add_file(self, name: str, raw: dict[str, Any], problems: list[CatalogProblem]) -> None:
        for key in raw:
            if key not in _TOP_LEVEL and key != "search":  # search: synonyms.toml (kiosk/catalog/synonyms.py)
                problems.append(CatalogProblem(name, "", key, "unknown table; expected one of "
                                               + ", ".join(sorted(_TOP_LEVEL))))
        for entry in _entries(raw, "fields", name, problems):
            key = str(entry.get("key", "?"))
            field = _validate(FormField, entry, name, f"field {key}", problems)
            if field is not None:
                if field.key in self.fields:
                    problems.append(CatalogProblem(name, f"field {key}", "key", "defined twice"))
                self.fields[field.key] = field
        for entry in _entries(raw, "themes", name, problems):
            theme = _validate(Theme, entry, name, f"theme {entry.get('code', '?')}", problems)
            if theme is not None:
                if theme.code in self.themes:
                    problems.append(CatalogProblem(name, f"theme {theme.code}", "code", "defined twice"))
                self.themes[theme.code] = theme
        for entry in _entries(raw, "bundles", name, problems):
            code = str(entry.get("code", "?"))
            bundle = _validate(Bundle, entry, name, f"bundle {code}", problems)
            if bundle is not None:
                if bundle.code in self.bundles:
                    problems.append(CatalogProblem(name, f"bundle {code}", "code", "defined twice"))
                self.bundles[bundle.code] = bundle
                self.bundle_files[bundle.code] = name
        if "search" in raw:
            _add_search_words(self, name, raw["search"], problems)
        items = _entries(raw, "items", name, problems)
        if "department" not in raw:
            if items:
                problems.append(CatalogProblem(name, "", "department",
                                               "items need a [department] table in the same file"))
            return
        department = _validate(Department, raw["department"], name, "", problems)
        if department is None:
            return
        if department.code in self.departments:
            problems.append(CatalogProblem(name, "", "department.code",
                                           f"department {department.code!r} is defined in two files"))
        self.departments[department.code] = department
        self.raw_items += [(name, department, entry) for entry in items]

    def build_items(self, problems: list[CatalogProblem]) -> None:
        for name, department, entry in self.raw_items:
            code = str(entry.get("code", "?"))
            raw = dict(entry, department=department.name.zh_CN, department_code=department.code)
            if code in self._guides:  # validated already: pydantic takes the instance as it is (no copy)
                raw["guide"] = self._guides[code]
            if not isinstance(raw.get("fields", []), list):
                problems.append(CatalogProblem(name, code, "fields", "expected a list of shared field names "
                                               f"or field tables, not {type(raw['fields']).__name__}"))
                continue
            fields = []
            for index, f in enumerate(raw.get("fields", [])):
                if isinstance(f, str):
                    if f not in self.fields:
                        problems.append(CatalogProblem(name, code, f"fields[{index}]",
                                                       f"unknown shared field {f!r} (not in fields.toml)"))
                        continue
                    fields.append(self.fields[f].model_dump(by_alias=True, exclude_none=True))
                else:
                    fields.append(f)
            if "fields" in raw:
                raw["fields"] = fields
            item = _validate(ServiceItem, raw, name, code, problems)
            if item is None:
                continue
            if item.code in self.item_files:
                problems.append(CatalogProblem(name, item.code, "code",
                                               f"duplicate item code (also in {self.item_files[item.code]})"))
                continue
            self.item_files[item.code] = name
            self.items.append(item)


def _with_traditional(node: Any) -> Any:
    """Fill in derived 繁體 in a dumped model tree (texts dumped without their override)."""
    if isinstance(node, dict):
        out = {k: _with_traditional(v) for k, v in node.items()}
        if isinstance(out.get("zh_CN"), str) and "en" in out and "zh_TW" not in out:
            out = {"zh_CN": out["zh_CN"], "zh_TW": LocalizedText(zh_CN=out["zh_CN"], en=out["en"]).zh_TW,
                   "en": out["en"]}
        return out
    if isinstance(node, list):
        return [_with_traditional(v) for v in node]
    return node


def _entries(raw: dict[str, Any], key: str, file: str,
             problems: list[CatalogProblem]) -> list[dict[str, Any]]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        problems.append(CatalogProblem(file, "", key, f"must be an array of tables ([[{key}]])"))
        return []
    return value


# -- how residents ask (config/catalog/synonyms.toml, kiosk/catalog/synonyms.py) --


def _add_search_words(parts: _Parts, name: str, raw: Any, problems: list[CatalogProblem]) -> None:
    from kiosk.catalog.synonyms import SearchWords  # lazy: only the catalog file with a [search] table

    if parts.search_words is not None:
        problems.append(CatalogProblem(name, "search", "", f"defined twice (also in {parts.search_file})"))
    words = _validate(SearchWords, raw, name, "search", problems)
    if words is not None:
        parts.search_words, parts.search_file = words, name


def _check_search_words(parts: _Parts) -> list[CatalogProblem]:
    """The synonyms' references: item and bundle codes that exist, each word with one meaning."""
    from kiosk.catalog.synonyms import check_search_words  # lazy: see _add_search_words

    if parts.search_words is None:
        return []
    return check_search_words(parts.search_words, parts.search_file, {i.code for i in parts.items},
                              set(parts.bundles))
