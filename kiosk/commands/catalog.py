"""``kiosk catalog …``: check, count, search, show and export the service catalog.

    kiosk catalog validate                 every problem with file, item code and field; exit 2 on any
    kiosk catalog stats [--json]           items, departments, kinds, identity levels …
    kiosk catalog search QUERY [--json]    what a resident typing QUERY would find
    kiosk catalog show CODE [--json]       one item in full
    kiosk catalog export --format csv|json [--out FILE]
    kiosk catalog bundle keygen|build|sign|verify   signed catalog bundles (kiosk/commands/catalog_bundle.py)

Each takes ``--catalog PATH`` (a folder of TOML files or one file) to check a copy before
installing it; the default is the packaged ``config/catalog/``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.commands.catalog_bundle import register as register_bundle

if TYPE_CHECKING:
    from kiosk.catalog.loading import Catalog


EXIT_INVALID = 2
EXIT_NOT_FOUND = 1


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("catalog", help="check, search and export the service catalog",
                                   description="Check, count, search, show and export the service catalog.")
    sub = parser.add_subparsers(dest="catalog_command", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--catalog", metavar="PATH", type=Path,
                       help="catalog folder or file (default: the packaged config/catalog/)")
        return p

    add("validate", "check every data file; list each problem with file, item code and field; "
                    "exit status 2 on any").set_defaults(func=_validate)
    stats = add("stats", "count items by department, kind and identity level")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.set_defaults(func=_stats)
    search = add("search", "show what a resident typing QUERY would find, best first")
    search.add_argument("query", metavar="QUERY")
    search.add_argument("--limit", type=int, default=10, help="at most this many results (default 10)")
    search.add_argument("--json", action="store_true", help="machine-readable output")
    search.set_defaults(func=_search)
    show = add("show", "show one item in full")
    show.add_argument("code", metavar="CODE")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=_show)
    export = add("export", "write every item as CSV (one row each) or JSON (everything)")
    export.add_argument("--format", choices=("csv", "json"), required=True)
    export.add_argument("--out", metavar="FILE", type=Path, help="write here instead of standard output")
    export.set_defaults(func=_export)
    register_bundle(sub)  # kiosk catalog bundle keygen|build|sign|verify (issue 22)


def _load(args: argparse.Namespace, *, require_guides: bool = False) -> Catalog | None:
    # lazy: the catalog's models cost 0.1 s (start-up: see kiosk/commands)
    from kiosk.catalog.loading import Catalog, CatalogError

    try:
        return Catalog.load(args.catalog, require_guides=require_guides)
    except CatalogError as exc:
        print(f"catalog INVALID ({args.catalog or 'config/catalog (packaged)'}): "
              f"{len(exc.problems)} problem(s)", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def _validate(args: argparse.Namespace) -> int:
    catalog = _load(args, require_guides=True)  # every item's 办事指南 too (config/catalog/guides/)
    if catalog is None:
        return EXIT_INVALID
    try:
        for item in catalog.items:  # derives every 繁體 text: proves OpenCC works here
            catalog.record(item)
    except Exception as exc:  # noqa: BLE001 - any failure of the converter means the same thing
        print(f"catalog INVALID: cannot derive 繁體 texts ({exc}); install opencc or write zh_TW "
              "in the data files", file=sys.stderr)
        return EXIT_INVALID
    stats = catalog.stats()
    print(f"catalog OK ({catalog.source}): {stats['items']} items in {len(stats['departments'])} "
          f"departments, {len(catalog.themes)} themes, {len(catalog.bundles)} bundles")
    return 0


def _stats(args: argparse.Namespace) -> int:
    catalog = _load(args)
    if catalog is None:
        return EXIT_INVALID
    stats = catalog.stats()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
        return 0
    print(f"{stats['items']} items ({stats['instant']} instant, {stats['face_items']} with face "
          f"verification, {stats['with_fee']} with a fee)")
    for title in ("departments", "kinds", "identity", "bundles"):
        counts = ", ".join(f"{k} {v}" for k, v in sorted(stats[title].items(), key=lambda kv: -kv[1]))
        print(f"  {title}: {counts}")
    print(f"  featured on the home screen: {', '.join(stats['featured'])}")
    return 0


def _search(args: argparse.Namespace) -> int:
    catalog = _load(args)
    if catalog is None:
        return EXIT_INVALID
    from kiosk.catalog.search import SearchHit  # lazy: only this command needs the hit types

    # What the search screen lists: items and 一件事 bundles (bundle:<code>), by intent (synonyms.toml).
    hits = catalog.find(args.query, max(args.limit, 0))
    rows = [(h.key, h.item.name.zh_CN, h.item.department, h.item.kind) if isinstance(h, SearchHit)
            else (h.key, h.bundle.name.zh_CN, "一件事", "bundle") for h in hits]
    if args.json:
        print(json.dumps([{"code": code, "name": name, "department": department, "kind": kind,
                           "score": round(h.score, 1), "matched": h.matched, "how": h.how}
                          for (code, name, department, kind), h in zip(rows, hits, strict=True)],
                         ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("no items found")
    for (code, name, department, _kind), h in zip(rows, hits, strict=True):
        print(f"{h.score:7.1f}  {code:16}  {department} · {name}  ({h.how}: {h.matched})")
    return 0


def _show(args: argparse.Namespace) -> int:
    catalog = _load(args)
    if catalog is None:
        return EXIT_INVALID
    item = catalog.get(args.code)
    if item is None:
        near = ", ".join(h.item.code for h in catalog.search(args.code, 5))
        hint = f"; did you mean: {near}" if near else ""
        print(f"no item with code {args.code!r}{hint}", file=sys.stderr)
        return EXIT_NOT_FOUND
    record = catalog.record(item)
    record["follow_ups_triggered_by"] = [i.code for i in catalog.triggered_by(item.code)]
    record["bundles"] = [b.code for b in catalog.bundles.values() if item.code in b.items]
    if args.json:
        print(json.dumps(record, ensure_ascii=False, indent=2))
        return 0
    for key, value in record.items():
        if value in ([], None, "", {}):
            continue
        print(f"{key:24} {_plain(value)}")
    return 0


def _plain(value: Any) -> str:
    if isinstance(value, dict) and "zh_CN" in value:
        return f"{value['zh_CN']} / {value['zh_TW']} / {value['en']}"
    if isinstance(value, list):
        return "; ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items() if v not in ([], None, ""))
    return str(value)


CSV_COLUMNS = ("code", "department", "kind", "name_zh_CN", "name_zh_TW", "name_en", "identity",
               "identity_alternatives", "instant", "legal_days", "promised_days", "fee_yuan", "output",
               "devices", "themes", "aliases", "fields", "materials", "follow_ups", "popularity", "featured")


def _export(args: argparse.Namespace) -> int:
    catalog = _load(args)
    if catalog is None:
        return EXIT_INVALID
    if args.format == "json":
        text = json.dumps({
            "items": [catalog.record(i) for i in catalog.items],
            "departments": {c: d.model_dump(mode="json", by_alias=True, exclude_none=True)
                            for c, d in catalog.departments.items()},
            "themes": {c: t.name.as_dict() for c, t in catalog.themes.items()},
            "bundles": {c: b.model_dump(mode="json", by_alias=True, exclude_none=True)
                        for c, b in catalog.bundles.items()},
        }, ensure_ascii=False, indent=2) + "\n"
    else:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for i in catalog.items:
            writer.writerow([
                i.code, i.department, i.kind, i.name.zh_CN, i.name.zh_TW, i.name.en, i.identity,
                ";".join(i.identity_alternatives), i.instant, "" if i.legal_days is None else i.legal_days,
                i.promised_days, i.fee_yuan, i.output, ";".join(i.devices), ";".join(i.themes),
                ";".join(i.aliases), ";".join(f.key for f in i.fields),
                ";".join(m.name.zh_CN for m in i.materials),
                ";".join(i.follow_ups), i.popularity, "" if i.featured is None else i.featured])
        text = out.getvalue()
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {len(catalog.items)} items to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
